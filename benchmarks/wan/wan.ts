/**
 * An emulated wide-area network on this machine: regions of hosts, each host its own network
 * namespace with one TUN device `wan0` at 10.7.<region>.<host>/16, and every packet between
 * two hosts — inside a region or across regions, TCP, UDP (Chromium's WebRTC), ICMP —
 * crossing the user-space router (router.c), which holds it for the region pair's one-way
 * delay, optionally serialises it at a rate and drops a share. The kernel here has no netem;
 * this is the documented replacement. Access links can be shaped with tbf on a host's wan0
 * (its uplink).
 *
 * Started and torn down by its user (`startWan` … `wan.stop()`); it binds nothing, and
 * creates only namespaces of its own, which die with this process (see namespace.ts), as the
 * router does (PR_SET_PDEATHSIG, and it exits when its stdin closes). Needs root (the in-netns
 * wrapper's namespace is fine: nothing here touches the namespace it runs in).
 */
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { holdNamespace } from './namespace.ts'
import type { HeldNamespace } from './namespace.ts'
import type { ChildProcess, SpawnOptions } from 'node:child_process'

const run = promisify(execFile)
const HERE = new URL('.', import.meta.url).pathname

/** The address block every host lives in: 10.7.<region>.<host>. */
export const WAN_PREFIX = '10.7'
/** The default queue a rate-limited link holds before it drops, ms of serialisation. */
export const DEFAULT_WAN_QUEUE_MS = 100

/** One direction of the link between two regions (or inside one). */
export interface WanLinkShape {
  oneWayMs: number
  /** Bytes per second the link carries; unlimited when absent. */
  rateBytesPerSecond?: number
  /** Share of packets dropped at random, 0..1. */
  loss?: number
  /** With a rate: the most a packet waits for the wire before it is dropped, ms. */
  queueMs?: number
}

export interface WanRegionInit {
  /** A short label for logs and reports, e.g. 'eu'. */
  name: string
  hosts: number
  /**
   * Host 1 of this region is the calling process's own network namespace (it gets a wan0 at
   * 10.7.<region>.1): servers it or its children start (a relay, an origin) are then in the
   * WAN without a namespace hop. Only inside scripts/in-netns.sh, so the machine's own
   * namespace never gets a device. At most one region.
   */
  includeSelf?: boolean
  /** tbf on every host's wan0 egress: its access uplink. */
  uplink?: { rateKbit: number, queueMs: number, burstBytes?: number }
}

export interface WanInit {
  regions: WanRegionInit[]
  /**
   * links[i][j]: region i → region j (a number is a one-way delay in ms); links[i][i] is the
   * delay between two hosts of region i. Must be regions × regions.
   */
  links: Array<Array<WanLinkShape | number>>
  /** Seed of the router's loss decisions. */
  seed?: number
}

export interface WanHost {
  /** e.g. 'eu-2' */
  name: string
  region: string
  /** 1-based region number (the third byte of the address). */
  regionNumber: number
  /** 1-based host number inside its region (the fourth byte). */
  number: number
  address: string
  nsPath: string
  /** argv prefix running a command inside this host (empty for the caller's own namespace). */
  enter: string[]
  /** `spawn` inside the host's namespace. */
  spawn (command: string, args: string[], options?: SpawnOptions): ChildProcess
  /** Runs a command inside the host and returns its stdout. */
  exec (command: string, args: string[]): Promise<string>
}

export interface WanLinkStats {
  from: number
  to: number
  packets: number
  bytes: number
  delivered: number
  lost: number
  queueDrops: number
  queued: number
}

export interface WanStats {
  links: WanLinkStats[]
  /** [source address, destination address, IP bytes] for every pair that sent anything. */
  pairs: Array<[string, string, number]>
  unroutable: number
  notIpv4: number
  noMemory: number
  writeErrors: number
  /** CPU time the router has used (user + system). */
  cpuSeconds: number
}

export interface PingResult {
  sent: number
  received: number
  rttMs: number[]
}

export interface Wan {
  hosts: WanHost[]
  /** Host `number` (1-based) of region `region` (name or 1-based number). */
  host (region: string | number, number: number): WanHost
  /** The router's counters so far. */
  stats (): Promise<WanStats>
  /** ICMP echo from one host to another (the machine has no ping; ping.c). */
  ping (from: WanHost, to: WanHost, options?: { count?: number, intervalMs?: number, timeoutMs?: number }): Promise<PingResult>
  stop (): Promise<void>
}

export interface WanTools {
  dir: string
  router: string
  ping: string
}

/** Compiles router.c and ping.c with the machine's gcc into a new temporary directory. */
export async function buildWanTools (): Promise<WanTools> {
  const dir = await mkdtemp(join(tmpdir(), 'swarmsite-wan-'))
  try {
    const router = join(dir, 'wanrouter')
    const ping = join(dir, 'wanping')
    await run('gcc', ['-O2', '-Wall', '-o', router, join(HERE, 'router.c')])
    await run('gcc', ['-O2', '-Wall', '-o', ping, join(HERE, 'ping.c')])
    return { dir, router, ping }
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}

function shapeOf (link: WanLinkShape | number): WanLinkShape {
  return typeof link === 'number' ? { oneWayMs: link } : link
}

function validate (init: WanInit): void {
  const n = init.regions.length
  if (n < 1 || n > 32) throw new RangeError(`regions: 1..32, got ${n}`)
  if (init.regions.filter(r => r.includeSelf === true).length > 1) throw new RangeError('includeSelf: at most one region')
  if (init.regions.some(r => r.includeSelf === true) && process.env.SWARMSITE_IN_NETNS !== '1') {
    throw new Error('includeSelf only inside scripts/in-netns.sh (it adds a device to this process\'s namespace)')
  }
  for (const r of init.regions) {
    if (!Number.isInteger(r.hosts) || r.hosts < 1 || r.hosts > 254) throw new RangeError(`region ${r.name}: hosts must be 1..254, got ${r.hosts}`)
  }
  if (init.links.length !== n || init.links.some(row => row.length !== n)) throw new RangeError(`links must be ${n} × ${n}`)
  for (const row of init.links) {
    for (const cell of row) {
      const s = shapeOf(cell)
      if (!(s.oneWayMs >= 0)) throw new RangeError(`oneWayMs must be ≥ 0, got ${s.oneWayMs}`)
      if (s.loss != null && !(s.loss >= 0 && s.loss <= 1)) throw new RangeError(`loss must be 0..1, got ${s.loss}`)
      if (s.rateBytesPerSecond != null && !(s.rateBytesPerSecond > 0)) throw new RangeError(`rateBytesPerSecond must be > 0, got ${s.rateBytesPerSecond}`)
    }
  }
}

export async function startWan (init: WanInit): Promise<Wan> {
  validate(init)
  const tools = await buildWanTools()
  const held: HeldNamespace[] = []
  const hosts: WanHost[] = []
  let router: ChildProcess | undefined
  let routerExited: Promise<unknown> | undefined
  let stopped = false

  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    if (router != null && router.exitCode == null && router.signalCode == null) {
      router.stdin?.end()
      router.kill('SIGTERM')
    }
    await routerExited
    await Promise.all(held.map(async ns => ns.stop()))
    await rm(tools.dir, { recursive: true, force: true })
  }

  try {
    for (const [ri, region] of init.regions.entries()) {
      for (let h = 1; h <= region.hosts; h++) {
        let nsPath = `/proc/${process.pid}/ns/net`
        let enter: string[] = []
        if (!(h === 1 && region.includeSelf === true)) {
          const ns = await holdNamespace()
          held.push(ns)
          nsPath = ns.nsPath
          enter = ns.enter
        }
        const argv = (command: string, args: string[]): [string, string[]] => enter.length === 0 ? [command, args] : [enter[0]!, [...enter.slice(1), command, ...args]]
        hosts.push({
          name: `${region.name}-${h}`,
          region: region.name,
          regionNumber: ri + 1,
          number: h,
          address: `${WAN_PREFIX}.${ri + 1}.${h}`,
          nsPath,
          enter,
          spawn: (command, args, options) => spawn(...argv(command, args), options ?? {}),
          exec: async (command, args) => (await run(...argv(command, args))).stdout
        })
      }
    }

    const args: string[] = ['seed', String(init.seed ?? 1)]
    for (const h of hosts) args.push('host', String(h.regionNumber), String(h.number), h.nsPath)
    for (const [i, row] of init.links.entries()) {
      for (const [j, cell] of row.entries()) {
        const s = shapeOf(cell)
        args.push('link', String(i + 1), String(j + 1),
          String(Math.round(s.oneWayMs * 1000)),
          String(Math.round(s.rateBytesPerSecond ?? 0)),
          String(Math.round((s.loss ?? 0) * 1e6)),
          String(Math.round((s.queueMs ?? DEFAULT_WAN_QUEUE_MS) * 1000)))
      }
    }
    const child = spawn(tools.router, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    router = child
    routerExited = once(child, 'exit').catch(() => {})
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const lines = createInterface({ input: child.stdout! })
    const waiting: Array<(line: string) => void> = []
    let ready: (() => void) | undefined
    const readyP = new Promise<void>((resolve, reject) => {
      ready = resolve
      child.once('exit', code => { reject(new Error(`wanrouter exited with ${String(code)}: ${stderr.trim()}`)) })
      child.once('error', reject)
    })
    lines.on('line', line => {
      if (line === 'ready') { ready?.(); return }
      waiting.shift()?.(line)
    })
    await readyP

    // address, link up, and the host's uplink shape; one `ip -batch` per host
    await Promise.all(hosts.map(async h => {
      const region = init.regions[h.regionNumber - 1]!
      const batch = [
        'link set lo up',
        `addr add ${h.address}/16 dev wan0`,
        'link set wan0 mtu 1500 up'
      ]
      // IPv4 only: the router drops IPv6, so a link-local address would only give WebRTC
      // candidates that never connect (and router solicitations to count)
      await h.exec('sh', ['-c', 'echo 1 > /proc/sys/net/ipv6/conf/wan0/disable_ipv6'])
      await runWithInput(h.enter, ['ip', '-batch', '-'], batch.join('\n') + '\n')
      if (region.uplink != null) {
        const u = region.uplink
        await h.exec('tc', ['qdisc', 'add', 'dev', 'wan0', 'root', 'tbf', 'rate', `${u.rateKbit}kbit`, 'burst', String(u.burstBytes ?? 16_384), 'latency', `${u.queueMs}ms`])
      }
    }))

    const byName = (region: string | number, number: number): WanHost => {
      const found = hosts.find(h => (typeof region === 'number' ? h.regionNumber === region : h.region === region) && h.number === number)
      if (found == null) throw new RangeError(`no host ${number} in region ${region}`)
      return found
    }

    return {
      hosts,
      host: byName,
      stats: async () => {
        if (stopped) throw new Error('the WAN is stopped')
        const line = new Promise<string>(resolve => waiting.push(resolve))
        child.stdin!.write('stats\n')
        return JSON.parse(await line) as WanStats
      },
      ping: async (from, to, options = {}) => {
        const out = await from.exec(tools.ping, [to.address, String(options.count ?? 10), String(options.intervalMs ?? 50), String(options.timeoutMs ?? 2000)])
        const parsed = JSON.parse(out) as { sent: number, received: number, rttUs: number[] }
        return { sent: parsed.sent, received: parsed.received, rttMs: parsed.rttUs.map(us => us / 1000) }
      },
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}

async function runWithInput (enter: string[], argv: string[], input: string): Promise<void> {
  const full = [...enter, ...argv]
  const child = spawn(full[0]!, full.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  child.stdin!.end(input)
  const [code] = await once(child, 'exit') as [number | null]
  if (code !== 0) throw new Error(`${argv.join(' ')} failed (${String(code)}): ${stderr.trim()}`)
}
