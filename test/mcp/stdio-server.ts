/** The fixture's tools over stdio: run as a child process by a host that opted in. */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { buildFixtureServer } from "./fixture-server.ts";

await buildFixtureServer([]).connect(new StdioServerTransport());
