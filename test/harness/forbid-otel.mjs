// Preloaded (node --import) into a process that must not load the OpenTelemetry
// SDK: resolving any @opentelemetry/* package but the API throws, so the process
// fails loudly if it tries. The API itself is allowed: @anthropic-ai/sdk imports
// it, and without a registered provider it is a no-op.
import { register } from "node:module";

const hook = `export async function resolve(specifier, context, next) {
  if (specifier.startsWith("@opentelemetry/") && specifier !== "@opentelemetry/api") {
    throw new Error("OpenTelemetry module loaded: " + specifier + " from " + context.parentURL);
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
