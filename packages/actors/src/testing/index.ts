/** Test helpers of @colony/actors: fakes that live beside the real things. */
export { ManualClock } from "./manual-clock.ts";
export { claim } from "./claim.ts";
export { startFakeAnthropic, fakeSteps, systemText, FAKE_ANTHROPIC_API_KEY } from "./fake-anthropic.ts";
export type { FakeAnthropic, FakeAnthropicOptions, FakeBlock, FakeDelay, FakeDisconnect, FakeHttpError, FakeReply, FakeRequest, FakeRequestBody, FakeResponder, FakeStall, FakeStep, FakeStreamError, FakeUsage } from "./fake-anthropic.ts";
export { FakePromptCache, FAKE_CACHE_LOOKBACK_BLOCKS, FAKE_MAX_CACHE_BREAKPOINTS } from "./fake-prompt-cache.ts";
export type { FakeCacheUsage, FakePromptCacheOptions } from "./fake-prompt-cache.ts";
export { waitFor, WaitTimeoutError } from "./wait.ts";
export type { WaitOptions } from "./wait.ts";
