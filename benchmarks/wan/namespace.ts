/**
 * One empty network namespace, held by a `sleep` started with PR_SET_PDEATHSIG: it dies
 * with the process that made it, even if that process never reaches its teardown (SIGINT,
 * a crash), and the kernel removes the namespace, and every device in it, once its last
 * process is gone. No named namespace (`ip netns add`, a mount under /run/netns) is made,
 * so nothing can outlive the run. Processes enter it with `nsenter --net=<nsPath>`.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { ChildProcess } from 'node:child_process'

export interface HeldNamespace {
  pid: number
  /** /proc/<pid>/ns/net */
  nsPath: string
  /** argv prefix running a command inside the namespace. */
  enter: string[]
  /** Ends the holder (idempotent). */
  stop (): Promise<void>
}

/** The holders alive in this process, killed synchronously if it exits without stopping them. */
const live = new Set<ChildProcess>()
let exitHookInstalled = false

export async function holdNamespace (): Promise<HeldNamespace> {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once('exit', () => { for (const child of live) child.kill('SIGKILL') })
  }
  const holder = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'unshare', '--net', '--', 'sh', '-c', 'echo ready; exec sleep infinity'], { stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(holder)
  const exited = once(holder, 'exit').finally(() => live.delete(holder))
  const lines = createInterface({ input: holder.stdout! })
  try {
    await Promise.race([
      once(lines, 'line'),
      once(holder, 'error').then(([err]) => { throw err }),
      exited.then(([code]) => { throw new Error(`namespace holder exited with ${String(code)}`) })
    ])
  } catch (err) {
    holder.kill('SIGKILL')
    throw err
  } finally {
    lines.close()
  }
  const pid = holder.pid!
  const nsPath = `/proc/${pid}/ns/net`
  return {
    pid,
    nsPath,
    enter: ['nsenter', `--net=${nsPath}`, '--'],
    stop: async () => {
      if (holder.exitCode == null && holder.signalCode == null) holder.kill('SIGKILL')
      await exited
    }
  }
}
