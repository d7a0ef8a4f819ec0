/** The tests' one way to wait: `waitFor` from @colony/actors' testing helpers (also behind @colony/host/testing's `eventually`). */
export { waitFor, WaitTimeoutError } from "../../packages/actors/src/testing/wait.ts";
export type { WaitOptions } from "../../packages/actors/src/testing/wait.ts";
