/**
 * Where a host finds the value behind `{{secret:NAME}}`: read at call time
 * (so a rotated file is picked up), never stored, never returned.
 */
export type SecretResolver = (name: string) => string | undefined;

/** No secrets at all: every reference is a tool error naming it. */
export const noSecrets: SecretResolver = () => undefined;

/** Tests and embedders: secrets from a fixed map. */
export function secretsFrom(values: Record<string, string>): SecretResolver {
  return (name) => (Object.hasOwn(values, name) ? values[name] : undefined);
}

/** Where an operator puts a secret, for the error that says it is missing. */
export function secretHint(name: string): string {
  return `set COLONY_SECRET_${name} or put it in a file named ${name} in COLONY_SECRETS_DIR on every host`;
}

/**
 * Masks every secret value (and its URL-encoded form) in `text`: for error
 * messages and response bodies that might echo what was sent.
 */
export function redactSecrets(text: string, values: Iterable<string>): string {
  let out = text;
  for (const v of values) {
    if (v.length === 0) continue;
    for (const form of new Set([v, encodeURIComponent(v)])) out = out.split(form).join("[secret]");
  }
  return out;
}
