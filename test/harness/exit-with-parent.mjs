// Preloaded (`node --import`) into every process a test starts: if the test
// runner dies (killed by a timeout, Ctrl-C), its children must not live on as
// orphans that keep ports, heartbeats and CPU. Node has no PR_SET_PDEATHSIG, so
// poll the parent pid; the timer is unref'd and costs nothing otherwise.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, "SIGKILL");
}, 500).unref();
