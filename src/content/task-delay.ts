/**
 * How long a task posted now waits before it runs, ms: the backlog of this thread's event
 * loop, or the time the OS keeps the process off the CPU. A round trip measured in
 * JavaScript includes that wait, though the link did not cause it.
 *
 * A MessageChannel message rather than a timer: browsers clamp and throttle timers (to 1 s
 * or more in background tabs), which would read as a busy loop; messages are not throttled.
 */
export async function taskDelay (): Promise<number> {
  const { port1, port2 } = new MessageChannel()
  const started = performance.now()
  return new Promise(resolve => {
    port1.onmessage = () => {
      port1.close()
      port2.close()
      resolve(performance.now() - started)
    }
    port2.postMessage(undefined)
  })
}
