// A raw nats.js responder in its own process: the baseline for cross-process request/reply.
import { connect } from "nats";

const nc = await connect({ servers: process.argv[2], noAsyncTraces: true });
nc.subscribe(process.argv[3], { callback: (_err, msg) => msg.respond(msg.data) });
await nc.flush();
process.stdout.write("ready\n");
process.on("SIGTERM", () => nc.close().then(() => process.exit(0)));
