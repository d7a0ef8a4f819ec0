#!/usr/bin/env node
// The colony CLI runs its TypeScript sources through tsx's loader, so that
// `npm start` and `node_modules/.bin/colony` work straight after `npm ci`
// with no build step.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
