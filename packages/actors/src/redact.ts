/**
 * `text` with the credentials of every URL in it masked: `redis://:pw@h`
 * becomes `redis://:***@h`, `nats://user:pw@h` `nats://user:***@h`, and a
 * NATS token (`nats://tok@h`) `nats://***@h`. For anything that may carry
 * REDIS_URL or NATS_URL into a log line or an error.
 */
export function redactUrls(text: string): string {
  return text.replace(/\/\/([^/@\s,]*)@/g, (_, info: string) => {
    const colon = info.indexOf(":");
    return `//${colon >= 0 ? `${info.slice(0, colon)}:***` : "***"}@`;
  });
}
