import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import type { DeadLetterPage } from "@colony/actors";
import { list, parseConfig, positiveInt } from "./agents-args.ts";
import { followSend } from "./agents-follow.ts";
import { describeEvent, printSendReply, renderAgent, renderApprovals } from "./agents-render.ts";
import type { AgentList, TracePage } from "./client.ts";
import { ENV_AND_EXIT_HELP, EXIT, UsageError, action, checkType, clip, parseAgentRef, table, usageExitCodes } from "./run.ts";

export { parseConfig } from "./agents-args.ts";
export { renderAgent } from "./agents-render.ts";

/** Adds one `colony agents` subcommand, with the shared help text. */
type Sub = (name: string, description: string) => Command;
/** A fresh `--json` option (an Option belongs to one command). */
type JsonOption = () => Option;

/**
 * `colony agents …`: the CLI for people over the admin API. Readable text by
 * default, `--json` for scripts, exit codes in run.ts (EXIT).
 *
 */
export function registerAgentsCommands(program: Command): Command {
  const agents = usageExitCodes(
    program
      .command("agents")
      .description("Spawn, message, inspect and delete agents; decide tool calls waiting for approval (admin API at COLONY_URL).")
      .addHelpText("after", ENV_AND_EXIT_HELP),
  );

  const sub: Sub = (name, description) => agents.command(name).description(description).addHelpText("after", ENV_AND_EXIT_HELP);
  const json: JsonOption = () => new Option("--json", "print the API's JSON answer instead of text");
  registerSpawn(sub, json);
  registerSend(sub, json);
  registerTrace(sub, json);
  registerGet(sub, json);
  registerLs(sub, json);
  registerRm(sub, json);
  registerApprovals(sub, json);
  registerApprove(sub, json);
  registerResume(sub, json);
  registerDeadLetters(sub, json);
  return agents;
}

function registerSpawn(sub: Sub, json: JsonOption): void {
  sub("spawn", "Spawn an agent: `colony agents spawn assistant/alice --tools remember,recall`.")
    .argument("[id]", "the new agent's id, <type>/<key> (or give --type and --key)")
    .option("-t, --type <type>", "agent type (default: assistant)")
    .option("-k, --key <key>", "agent key (default: generated)")
    .option("-c, --config <json>", "the spawn config as JSON (systemPrompt, model, tools, limits, permissions, workers, ...); @file reads it from a file")
    .option("--tools <names>", "comma-separated tools the agent may call (sets config.tools)", list)
    .option("--system-prompt <text>", "the system prompt (sets config.systemPrompt)")
    .option("--model <name>", "the model (sets config.model)")
    .addOption(json())
    .addHelpText("after", "\nExamples:\n  colony agents spawn assistant/alice --tools remember,recall\n  colony agents spawn --type assistant --config '{\"tools\":[\"remember\"],\"permissions\":{\"remember\":\"approval\"}}'")
    .action(
      action(
        "agents spawn",
        async (client, out, id: string | undefined, o: { type?: string; key?: string; config?: string; tools?: string[]; systemPrompt?: string; model?: string; json?: boolean }) => {
          let type = o.type;
          let key = o.key;
          if (id !== undefined) {
            const ref = id.includes("/") ? parseAgentRef(id) : { type: id, key: undefined };
            if ((o.type !== undefined && o.type !== ref.type) || (o.key !== undefined && ref.key !== undefined && o.key !== ref.key)) {
              throw new UsageError(`the id "${id}" contradicts --type/--key`);
            }
            type = ref.type;
            key = ref.key ?? o.key;
          }
          const config = parseConfig(o.config);
          if (o.tools) config.tools = o.tools;
          if (o.systemPrompt !== undefined) config.systemPrompt = o.systemPrompt;
          if (o.model !== undefined) config.model = o.model;
          const view = await client.spawn({
            type: checkType(type ?? "assistant"),
            ...(key !== undefined ? { key } : {}),
            ...(Object.keys(config).length ? { config } : {}),
          });
          if (o.json) out.json(view);
          else out.print(`spawned ${view.id}\n${renderAgent(view)}`);
        },
      ),
    );
}

function registerSend(sub: Sub, json: JsonOption): void {
  sub("send", "Send a message to an agent and print its reply (waits for the turn unless --no-wait).")
    .argument("<id>", "the agent, <type>/<key>")
    .argument("[content...]", "the message (the words are joined with spaces); - or nothing reads it from stdin")
    .option("--no-wait", "return once the message is stored (202), without waiting for the reply")
    .option("-i, --idempotency-key <key>", "retries with the same key run one turn and get the same answer")
    .option("-f, --follow", "stream the turn as it runs: text as it is written, tool calls and results, then the outcome")
    .addOption(json())
    .action(
      action("agents send", async (client, out, id: string, words: string[], o: { wait: boolean; follow?: boolean; idempotencyKey?: string; json?: boolean }) => {
        const agent = parseAgentRef(id);
        const content = words.length === 0 || (words.length === 1 && words[0] === "-") ? readFileSync(0, "utf8").replace(/\n$/, "") : words.join(" ");
        if (content === "") throw new UsageError("the message is empty");
        if (o.follow) return followSend(client, out, agent, content, o);
        const reply = await client.send(agent, {
          content,
          ...(o.wait ? {} : { wait: false }),
          ...(o.idempotencyKey !== undefined ? { idempotencyKey: o.idempotencyKey } : {}),
        });
        if (o.json) out.json(reply);
        else printSendReply(out, id, reply);
        return reply.status === "failed" ? EXIT.api : EXIT.ok;
      }),
    );
}

function registerTrace(sub: Sub, json: JsonOption): void {
  sub("trace", "Show an agent's execution trace: every model call, tool call (arguments, result, duration, outcome), approval and status change.")
    .argument("<id>", "the agent, <type>/<key>")
    .option("-t, --turn <n>", "only this turn (1 is the agent's first)", positiveInt)
    .option("--since <ms>", "only entries at or after this time (epoch ms)", positiveInt)
    .addOption(json())
    .action(
      action("agents trace", async (client, out, id: string, o: { turn?: number; since?: number; json?: boolean }) => {
        const agent = parseAgentRef(id);
        const entries: TracePage["entries"] = [];
        let cursor: string | undefined;
        do {
          const page = await client.trace(agent, { ...(o.turn !== undefined ? { turn: o.turn } : {}), ...(o.since !== undefined ? { since: o.since } : {}), ...(cursor ? { cursor } : {}), limit: 500 });
          entries.push(...page.entries);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        // The API's own shape; every page has been read, so there is no next one.
        if (o.json) out.json({ entries, nextCursor: null });
        else if (entries.length === 0) out.print("no trace entries");
        else out.print(table(["TIME", "TURN", "HOST", "STEP", "DETAIL"], entries.map((e) => [new Date(e.at).toISOString(), String(e.turn), e.host ?? "", e.event.kind, clip(describeEvent(e.event), 100)])));
      }),
    );
}

function registerGet(sub: Sub, json: JsonOption): void {
  sub("get", "Show an agent's state: status, host, turns, usage, config, memory, pending approvals, errors.")
    .argument("<id>", "the agent, <type>/<key>")
    .option("-m, --messages", "also print the conversation (read page by page)")
    .addOption(json())
    .action(
      action("agents get", async (client, out, id: string, o: { messages?: boolean; json?: boolean }) => {
        const agent = parseAgentRef(id);
        const view = await client.get(agent);
        const messages = o.messages ? await client.allMessages(agent) : undefined;
        if (o.json) out.json(messages ? { ...view, messages } : view);
        else out.print(renderAgent(view, messages));
      }),
    );
}

function registerLs(sub: Sub, json: JsonOption): void {
  sub("ls", "List agents (id order) as a table: id, status, host, turns.")
    .option("-t, --type <type>", "only agents of this type")
    .option("-l, --limit <n>", "page size, 1-500 (default 50)", positiveInt)
    .option("--cursor <cursor>", "start after this id (the previous page's nextCursor)")
    .option("-a, --all", "follow the cursor through every page")
    .addOption(json())
    .action(
      action("agents ls", async (client, out, o: { type?: string; limit?: number; cursor?: string; all?: boolean; json?: boolean }) => {
        const query = { ...(o.type !== undefined ? { type: checkType(o.type) } : {}), ...(o.limit !== undefined ? { limit: o.limit } : {}) };
        let page: AgentList = await client.list({ ...query, ...(o.cursor !== undefined ? { cursor: o.cursor } : {}) });
        const agents = [...page.agents];
        while (o.all && page.nextCursor) {
          page = await client.list({ ...query, cursor: page.nextCursor });
          agents.push(...page.agents);
        }
        if (o.json) return out.json({ agents, nextCursor: page.nextCursor });
        if (agents.length === 0) out.print("no agents");
        else out.print(table(["ID", "STATUS", "HOST", "TURNS"], agents.map((a) => [a.id, a.status, a.host ?? "-", String(a.turns)])));
        if (page.nextCursor) out.note(`more: colony agents ls --cursor ${page.nextCursor}${o.type ? ` --type ${o.type}` : ""} (or --all)`);
      }),
    );
}

function registerRm(sub: Sub, json: JsonOption): void {
  sub("rm", "Delete agents (stops them; cascades to their workers).")
    .argument("<ids...>", "agents, <type>/<key>")
    .addOption(json())
    .action(
      action("agents rm", async (client, out, ids: string[], o: { json?: boolean }) => {
        const refs = ids.map(parseAgentRef);
        for (const ref of refs) await client.remove(ref);
        if (o.json) out.json({ deleted: ids });
        else out.print(ids.map((id) => `deleted ${id}`).join("\n"));
      }),
    );
}

function registerApprovals(sub: Sub, json: JsonOption): void {
  sub("approvals", "List tool calls waiting for a person, cluster-wide, oldest first.")
    .addOption(json())
    .action(
      action("agents approvals", async (client, out, o: { json?: boolean }) => {
        const approvals = await client.approvals();
        if (o.json) return out.json({ approvals });
        out.print(approvals.length === 0 ? "no tool calls are waiting for approval" : renderApprovals(approvals));
      }),
    );
}

function registerApprove(sub: Sub, json: JsonOption): void {
  sub("approve", "Approve (or with --deny, deny) a tool call waiting for a person; the agent's turn resumes.")
    .argument("<id>", "the agent, <type>/<key>")
    .argument("<callId>", "the call's id, from `colony agents approvals`")
    .option("-d, --deny", "deny the call instead (the model sees a tool error)")
    .option("-r, --reason <text>", "why (recorded, and shown to the model on a denial)")
    .addOption(json())
    .action(
      action("agents approve", async (client, out, id: string, callId: string, o: { deny?: boolean; reason?: string; json?: boolean }) => {
        const res = await client.decide(parseAgentRef(id), callId, !o.deny, o.reason);
        if (o.json) out.json(res);
        else out.print(`${res.approve ? "approved" : "denied"} call ${res.callId} of ${id}`);
      }),
    );
}

function registerResume(sub: Sub, json: JsonOption): void {
  sub("resume", "Close a suspended agent's circuit so it takes messages again.")
    .argument("<id>", "the agent, <type>/<key>")
    .addOption(json())
    .action(
      action("agents resume", async (client, out, id: string, o: { json?: boolean }) => {
        const view = await client.resume(parseAgentRef(id));
        if (o.json) out.json(view);
        else out.print(`resumed ${view.id}\n${renderAgent(view)}`);
      }),
    );
}

function registerDeadLetters(sub: Sub, json: JsonOption): void {
  sub("dead-letters", "List an agent's dead letters (messages whose turn kept failing, or whose budget was spent); --replay or --discard one.")
    .argument("<id>", "the agent, <type>/<key>")
    .option("--replay <deadLetterId>", "send that dead letter's message again (once, even if retried), and remove it from the list")
    .option("--discard <deadLetterId>", "drop that dead letter for good")
    .addOption(json())
    .addHelpText("before", "Examples:\n  colony agents dead-letters assistant/alice\n  colony agents dead-letters assistant/alice --replay m1abc...\n")
    .action(
      action("agents dead-letters", async (client, out, id: string, o: { replay?: string; discard?: string; json?: boolean }) => {
        const agent = parseAgentRef(id);
        if (o.replay !== undefined && o.discard !== undefined) throw new UsageError("give --replay or --discard, not both");
        if (o.replay !== undefined) {
          const res = await client.replayDeadLetter(agent, o.replay);
          return o.json ? out.json(res) : out.print(`replayed ${res.replayOf} as message ${res.messageId}${res.duplicate ? " (already accepted before)" : ""}`);
        }
        if (o.discard !== undefined) {
          await client.discardDeadLetter(agent, o.discard);
          return o.json ? out.json({ discarded: o.discard }) : out.print(`discarded dead letter ${o.discard} of ${id}`);
        }
        const deadLetters: DeadLetterPage["deadLetters"] = [];
        let page: DeadLetterPage | undefined;
        do {
          page = await client.deadLetters(agent, { limit: 500, ...(page?.nextCursor ? { cursor: page.nextCursor } : {}) });
          deadLetters.push(...page.deadLetters);
        } while (page.nextCursor);
        if (o.json) return out.json({ deadLetters, dropped: page.dropped });
        if (deadLetters.length === 0) out.print("no dead letters");
        else
          out.print(
            table(
              ["ID", "DEAD-LETTERED", "ATTEMPTS", "REASON", "MESSAGE"],
              deadLetters.map((d) => [d.id, new Date(d.deadLetteredAt).toISOString(), String(d.attempts), clip(`${d.reason.code}: ${d.reason.message}`, 60), clip(d.message.content, 40)]),
            ),
          );
        if (page.dropped > 0) out.note(`${page.dropped} older dead letters were dropped (the list keeps 1,000)`);
      }),
    );
}
