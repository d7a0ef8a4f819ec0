import { readFileSync } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import type { DeadLetterPage, PendingApproval } from "@colony/actors";
import type { AgentView, MessagePage } from "../agent-view.ts";
import type { AgentList, AgentRef, ColonyClient, SendReply, TracePage } from "./client.ts";
import type { Out } from "./run.ts";
import { ENV_AND_EXIT_HELP, EXIT, UsageError, action, checkType, clip, parseAgentRef, relative, table, usageExitCodes } from "./run.ts";

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

  const sub = (name: string, description: string) => agents.command(name).description(description).addHelpText("after", ENV_AND_EXIT_HELP);
  const json = () => new Option("--json", "print the API's JSON answer instead of text");

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

  sub("approvals", "List tool calls waiting for a person, cluster-wide, oldest first.")
    .addOption(json())
    .action(
      action("agents approvals", async (client, out, o: { json?: boolean }) => {
        const approvals = await client.approvals();
        if (o.json) return out.json({ approvals });
        out.print(approvals.length === 0 ? "no tool calls are waiting for approval" : renderApprovals(approvals));
      }),
    );

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

  return agents;
}

/** Which argument-policy rule chose the tier, for the trace listing. */
function policyNote(p: { tier: string; rule: number | null; name?: string | undefined; cautious?: true | undefined } | undefined): string {
  if (!p) return "";
  if (p.rule === null) return ` [policy: no rule matched, ${p.tier}]`;
  return ` [policy rule ${p.rule}${p.name ? ` "${p.name}"` : ""}: ${p.tier}${p.cautious ? ", argument not comparable" : ""}]`;
}

function describeEvent(e: TracePage["entries"][number]["event"]): string {
  switch (e.kind) {
    case "turn_started":
      return e.content;
    case "model_request":
      return `#${e.iteration} ${e.model}, ${e.messages} messages`;
    case "model_response":
      return `#${e.iteration} ${e.stopReason} in ${e.durationMs} ms, ${e.usage.inputTokens}+${e.usage.outputTokens} tokens${e.toolCalls.length ? `, calls ${e.toolCalls.map((t) => t.name).join(", ")}` : ""}${e.text ? `: ${e.text}` : ""}`;
    case "model_error":
      return `#${e.iteration} failed after ${e.durationMs} ms: ${e.error}`;
    case "tool_call":
      return `${e.tool} ${JSON.stringify(e.input)}${policyNote(e.policy)}`;
    case "tool_result":
      return `${e.tool} ${e.outcome} in ${e.durationMs} ms: ${e.content}${policyNote(e.policy)}`;
    case "approval_requested":
      return `${e.tool} ${JSON.stringify(e.input)} (call ${e.callId})${policyNote(e.policy)}`;
    case "approval_decided":
      return `${e.approve ? "approved" : "denied"} by ${e.by}${e.reason ? `: ${e.reason}` : ""}`;
    case "status":
      return `${e.status}${e.reason ? `: ${e.reason}` : ""}`;
    case "compaction":
      return `${e.messagesBefore} → ${e.messagesAfter} messages`;
    case "escalation":
      return `${e.code}: ${e.reason}`;
    case "dead_lettered":
      return `after ${e.attempts} attempt(s), ${e.code}: ${e.message} (dead letter ${e.id})`;
    case "turn_finished":
      return `${e.status}: ${e.reply}`;
    case "text_delta":
      return e.text;
  }
}

/** `send --follow`: subscribe, send, then print this message's turn as it happens. */
async function followSend(client: ColonyClient, out: Out, agent: AgentRef, content: string, o: { idempotencyKey?: string; json?: boolean }): Promise<number> {
  let messageId: string | undefined;
  let status = "completed";
  await client.follow(
    agent,
    (rec) => {
      if (rec.messageId !== messageId) return false;
      const e = rec.event;
      if (o.json) out.print(JSON.stringify(rec));
      else if (e.kind === "text_delta") process.stdout.write(e.text);
      else if (e.kind === "tool_call") out.note(`→ ${e.tool} ${JSON.stringify(e.input)}`);
      else if (e.kind === "tool_result") out.note(`← ${e.tool} ${e.outcome}${e.isError ? `: ${clip(e.content, 200)}` : ""}`);
      else if (e.kind === "approval_requested") out.note(`… ${e.tool} waits for approval: colony agents approve ${agent.type}/${agent.key} ${e.callId}`);
      else if (e.kind === "status" && e.status === "suspended") out.note(`agent suspended: ${e.reason ?? ""}`);
      if (e.kind === "turn_finished") {
        status = e.status;
        if (!o.json) {
          if (e.status !== "completed") out.note(e.reply);
          process.stdout.write("\n");
        }
        return true;
      }
      return false;
    },
    async () => {
      const reply = await client.send(agent, { content, wait: false, ...(o.idempotencyKey !== undefined ? { idempotencyKey: o.idempotencyKey } : {}) });
      messageId = reply.messageId;
    },
    (missed) => out.note(`(${missed} events missed: this terminal fell behind the agent)`),
  );
  return status === "failed" ? EXIT.api : EXIT.ok;
}

function list(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive integer");
  return n;
}

export function parseConfig(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let source = text;
  if (text.startsWith("@")) {
    try {
      source = readFileSync(text.slice(1), "utf8");
    } catch (e) {
      throw new UsageError(`--config ${text}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch (e) {
    throw new UsageError(`--config is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new UsageError("--config must be a JSON object");
  return parsed as Record<string, unknown>;
}

function printSendReply(out: { print(t: string): void; note(t: string): void }, id: string, reply: SendReply): void {
  if (reply.status === "accepted") {
    out.print(`accepted ${reply.messageId}${reply.duplicate ? " (duplicate)" : ""}`);
    out.note(`the message is stored and its turn will run; see it with: colony agents get ${id}`);
    return;
  }
  if (reply.status === "awaiting_approval") {
    out.print(`awaiting approval ${reply.messageId}`);
    for (const callId of reply.awaiting) out.note(`a tool call waits for approval: colony agents approve ${id} ${callId}`);
    return;
  }
  if (reply.reply) out.print(reply.reply);
  if (reply.status === "failed") out.note(`colony agents send: turn failed: ${reply.error?.code ?? "failed"}: ${reply.error?.message ?? "no reason given"}`);
  if (reply.duplicate) out.note(`(a duplicate of message ${reply.messageId}: this is the original's answer)`);
}

function renderApprovals(approvals: PendingApproval[]): string {
  const now = Date.now();
  return table(
    ["AGENT", "CALL", "TOOL", "INPUT", "REQUESTED", "DEADLINE"],
    approvals.map((a) => [a.agent, a.callId, a.tool, clip(JSON.stringify(a.input) ?? ""), relative(a.requestedAt, now), relative(a.deadline, now)]),
  );
}

/** `colony agents get`: the state as aligned "field: value" lines. */
export function renderAgent(v: AgentView, messages?: MessagePage["messages"]): string {
  const u = v.usage;
  const lines: [string, string][] = [
    ["id", v.id],
    ["status", v.status],
    ["host", v.host ?? "- (not active)"],
    ["turns", String(v.turns)],
    ["usage", `${u.inputTokens} input + ${u.outputTokens} output tokens, $${u.costUsd.toFixed(4)}`],
    ["model", v.provider === "scripted" ? `${v.config.model} (runs as the offline scripted model: ANTHROPIC_API_KEY is unset)` : v.config.model],
    ["tools", v.config.tools.length ? v.config.tools.join(", ") : "-"],
  ];
  const perms = Object.entries(v.config.permissions ?? {});
  if (perms.length) lines.push(["permissions", perms.map(([t, p]) => `${t}=${p}`).join(", ")]);
  lines.push(["parent", v.parent ?? "-"], ["children", v.children.length ? v.children.join(", ") : "-"]);
  const memory = Object.entries(v.memory);
  if (memory.length) lines.push(["memory", memory.map(([k, val]) => `${k}=${clip(val, 40)}`).join(", ")]);
  for (const a of v.awaitingApproval) lines.push(["awaiting", `call ${a.callId}: ${a.tool} ${clip(JSON.stringify(a.input) ?? "")}`]);
  if (v.suspension) lines.push(["suspended", `${v.suspension.code}: ${v.suspension.reason}`]);
  if (v.lastError) lines.push(["last error", `${v.lastError.code}: ${v.lastError.message}`]);
  if (v.escalations.length) lines.push(["escalations", String(v.escalations.length)]);
  lines.push(["created", v.createdAt], ["updated", v.updatedAt]);
  const width = Math.max(...lines.map(([k]) => k.length)) + 1;
  let text = lines.map(([k, val]) => `${`${k}:`.padEnd(width)} ${val}`).join("\n");
  if (messages) {
    for (const m of messages) {
      const parts = m.content.map((b) =>
        b.type === "text" ? b.text : b.type === "tool_use" ? `[tool ${b.name} ${clip(JSON.stringify(b.input) ?? "")}]` : `[result${b.isError ? " (error)" : ""}: ${clip(b.content)}]`,
      );
      text += `\n${m.role}: ${parts.join(" ")}`;
    }
  }
  return text;
}
