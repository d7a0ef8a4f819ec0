import { ValidationError } from "@colony/actors";
import { type SecretResolver, secretHint } from "../tools/secrets.ts";

/** `{{secret:NAME}}` in an MCP server's headers or stdio environment. */
const REFERENCE = /\{\{secret:([A-Za-z0-9_]*)\}\}/g;

/**
 * Fills every `{{secret:NAME}}` reference with the host's secret (the same
 * resolver as HTTP tools: COLONY_SECRET_<NAME>, else COLONY_SECRETS_DIR).
 * Throws, naming the secret but never a value, when one is missing: a
 * request with a hole where the credential should be is worse than none.
 */
export function resolveSecrets(value: string, secrets: SecretResolver): string {
  return value.replace(REFERENCE, (_all, name: string) => {
    const v = secrets(name);
    if (v === undefined) throw new ValidationError(`secret ${name} is not set on this host: ${secretHint(name)}`, { secret: name });
    return v;
  });
}

/** Resolves every value of a record (headers, environment). */
export function resolveSecretsIn(values: Record<string, string>, secrets: SecretResolver): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, resolveSecrets(v, secrets)]));
}
