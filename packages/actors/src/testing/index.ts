/** Test helpers of @colony/actors: fakes that live beside the real things. */
export { ManualClock } from "./manual-clock.ts";
