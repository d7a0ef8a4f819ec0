/**
 * Runs `fn` now and then every `ms`, never two at once; returns how to stop.
 * @param {number} ms @param {() => Promise<void>} fn
 */
export function every(ms, fn) {
  let stopped = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const tick = async () => {
    try {
      await fn();
    } finally {
      if (!stopped) timer = setTimeout(tick, ms);
    }
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
