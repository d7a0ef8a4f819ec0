import type { AgentRef, ColonyClient } from "./client.ts";
import type { Out } from "./run.ts";
import { EXIT, clip } from "./run.ts";

/** `send --follow`: subscribe, send, then print this message's turn as it happens. */
export async function followSend(client: ColonyClient, out: Out, agent: AgentRef, content: string, o: { idempotencyKey?: string; json?: boolean }): Promise<number> {
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
