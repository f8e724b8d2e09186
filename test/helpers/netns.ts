/**
 * Emulated hosts for tests: each its own network namespace, linked to the test's namespace
 * by a veth pair, its uplink (the veth's egress inside the host) optionally shaped by `tbf`
 * — a modem in front of a narrow uplink, with its queue. Needs root, as the in-netns
 * wrapper gives it; run only inside that wrapper, whose namespace (and every veth end in it)
 * goes away with the test run.
 *
 * A namespace is held by a `sleep` started with PR_SET_PDEATHSIG, so it dies with the test
 * process even when the test never reaches its teardown; no named namespace (`ip netns
 * add`, a mount under /run/netns) is created that could outlive the run. Processes enter it
 * with `nsenter --net=/proc/<pid>/ns/net`; the kernel removes the namespace, and the veth
 * pair with it, once its last process is gone.
 */
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The host's uplink: `tbf rate <rateKbit>kbit burst <burstBytes> latency <queueMs>ms`. */
export interface UplinkShape {
  rateKbit: number
  /** The most a full queue delays a packet, ms (tbf `latency`; sets the queue's length). */
  queueMs: number
  /** Bucket depth, bytes; default 16 KiB. */
  burstBytes?: number
}

export interface NamespaceHost {
  /** The namespace holder's pid. */
  pid: number
  /** The host's address (inside), e.g. 10.210.1.2. */
  address: string
  /** The test namespace's end of the link, the host's default route, e.g. 10.210.1.1. */
  gateway: string
  /** argv prefix running a command inside the host. */
  enter: string[]
  /** `tc -s qdisc show` of the host's uplink: what the queue did (sent, dropped, backlog). */
  qdisc (): Promise<string>
  /** Ends the holder; the namespace and its link go once the last process inside has exited. */
  stop (): Promise<void>
}

async function ip (...args: string[]): Promise<void> {
  await run('ip', args)
}

/**
 * A host at 10.210.<index>.2 whose default route leads into the test's namespace at
 * 10.210.<index>.1, where the relay, the origin and other peers listen.
 */
export async function startNamespaceHost (index: number, uplink?: UplinkShape): Promise<NamespaceHost> {
  if (!Number.isInteger(index) || index < 1 || index > 254) throw new RangeError(`index must be 1..254, got ${index}`)
  if (process.env.SWARMSITE_IN_NETNS !== '1') throw new Error('namespace hosts are built only inside scripts/in-netns.sh')
  const holder = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'unshare', '--net', '--', 'sh', '-c', 'echo ready; exec sleep 900'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = once(holder, 'exit')
  const lines = createInterface({ input: holder.stdout! })
  try {
    await Promise.race([
      once(lines, 'line'),
      exited.then(([code]) => { throw new Error(`namespace holder exited with ${code}`) })
    ])
  } finally {
    lines.close()
  }
  const pid = holder.pid!
  const enter = ['nsenter', `--net=/proc/${pid}/ns/net`, '--']
  const inside = async (...args: string[]): Promise<string> => (await run(enter[0]!, [...enter.slice(1), ...args])).stdout
  const outer = `swo${index}`
  const inner = `swi${index}`
  const gateway = `10.210.${index}.1`
  const address = `10.210.${index}.2`
  const stop = async (): Promise<void> => {
    if (holder.exitCode == null && holder.signalCode == null) holder.kill('SIGKILL')
    await exited
    // normally gone with the namespace; still there if a process inside outlived the holder
    await ip('link', 'del', outer).catch(() => {})
  }
  try {
    await ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner)
    await ip('link', 'set', inner, 'netns', String(pid))
    await ip('addr', 'add', `${gateway}/24`, 'dev', outer)
    await ip('link', 'set', outer, 'up')
    await inside('ip', 'link', 'set', 'lo', 'up')
    await inside('ip', 'addr', 'add', `${address}/24`, 'dev', inner)
    await inside('ip', 'link', 'set', inner, 'up')
    await inside('ip', 'route', 'add', 'default', 'via', gateway)
    if (uplink != null) {
      await inside('tc', 'qdisc', 'add', 'dev', inner, 'root', 'tbf', 'rate', `${uplink.rateKbit}kbit`, 'burst', String(uplink.burstBytes ?? 16_384), 'latency', `${uplink.queueMs}ms`)
    }
  } catch (err) {
    await stop()
    throw err
  }
  return {
    pid,
    address,
    gateway,
    enter,
    qdisc: async () => inside('tc', '-s', 'qdisc', 'show', 'dev', inner),
    stop
  }
}

/** Whether the test namespace still holds the link of host `index` (false once torn down). */
export async function linkExists (index: number): Promise<boolean> {
  return run('ip', ['link', 'show', 'dev', `swo${index}`]).then(() => true, () => false)
}
