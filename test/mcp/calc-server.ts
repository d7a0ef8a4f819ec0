/**
 * The test suite's MCP server, runnable by itself for the README's example:
 * `npx tsx test/mcp/calc-server.ts [port]` serves `add`, `slow` and `fail`
 * over Streamable HTTP at http://127.0.0.1:<port>/mcp (default 3001).
 */
import { startMcpFixture } from "./fixture-server.ts";

const server = await startMcpFixture({ port: Number(process.argv[2] ?? 3001) });
console.log(`MCP server (tools add, slow, fail) at ${server.url}`);
const stop = () => void server.close().then(() => process.exit(0));
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
