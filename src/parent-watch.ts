/**
 * Child processes of `npm start`, `npm run bench` and the tests get the starter's pid in
 * `KP_PARENT_PID`. When that process is gone (killed without a chance to stop its children),
 * `onOrphaned` runs, so no API or worker lingers holding its port.
 */
export function watchParent(onOrphaned: () => void, env: NodeJS.ProcessEnv = process.env): void {
  const pid = Number(env.KP_PARENT_PID);
  if (!Number.isSafeInteger(pid) || pid <= 1) return;
  const timer = setInterval(() => {
    try {
      process.kill(pid, 0);
    } catch {
      clearInterval(timer);
      onOrphaned();
    }
  }, 1_000);
  timer.unref();
}
