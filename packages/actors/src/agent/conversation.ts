import type { ChatMessage } from "../model/messages.ts";

/**
 * The conversation with `added` at its end. Messages are never changed in
 * place, and a conversation only grows at its end (or gets a new one from a
 * compaction), so where its owner says no one keeps an older state's
 * message list (an activation's turn: see TurnDeps.ownsConversation) the
 * messages are pushed onto the list itself: O(1) per step instead of a copy
 * of the whole context, and commits find the list they last wrote extended
 * (one comparison, see AgentStore.commit). Everyone else gets a new list.
 */
export function appendMessages(messages: ChatMessage[], added: readonly ChatMessage[], inPlace: boolean | undefined): ChatMessage[] {
  if (!inPlace) return [...messages, ...added];
  for (const m of added) messages.push(m);
  return messages;
}
