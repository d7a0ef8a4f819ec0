// Module hooks of module-log.mjs (they run on the loader's own thread): each
// ES module, as it is loaded, appends its URL to the file at COLONY_MODULE_LOG.
import { appendFileSync } from "node:fs";

export async function load(url, context, nextLoad) {
  if (process.env.COLONY_MODULE_LOG) appendFileSync(process.env.COLONY_MODULE_LOG, `${url}\n`);
  return nextLoad(url, context);
}
