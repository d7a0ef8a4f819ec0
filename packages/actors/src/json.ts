/** JSON.parse that answers undefined for anything that is not JSON: for data crossing a boundary, checked with zod next. */
export function parseJsonOrUndefined(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
