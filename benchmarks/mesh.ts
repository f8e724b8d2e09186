// Mesh benchmark: the real relay process and N Chromium pages, each running a swarm node
// (interop-tests/page/test-page.ts). Measures page-ready time, parallel and isolated
// WebRTC dials, DHT provide / findProviders, gossip delivery, memory per page and the CPU
// Chromium and the relay spend. Runs itself in a loopback-only network namespace.
//
//   node benchmarks/mesh.ts [--pages N] [--out FILE] …      (node benchmarks/mesh.ts --help)
import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, relative, resolve } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { startRelayProcess } from '../test/helpers/relay-process.ts'
import { reexecInNetns } from './lib/netns.ts'
import { bundleModules, startJsProfile, sumProfiles } from './lib/js-profile.ts'
import { startBenchPages } from './lib/pages.ts'
import { chromiumRole, cpuSeconds, descendants, listProcesses, machineBusyShare, machineCpuSeconds, memoryOf, niceOf, threadCpuSeconds, ticksPerSecond } from './lib/proc.ts'
import { roundTo, seededRandom, shuffled, summarize, table, tally } from './lib/stats.ts'
import type { BenchPage, BenchPages } from './lib/pages.ts'
import type { Summary } from './lib/stats.ts'
import type { RelayProcess } from '../test/helpers/relay-process.ts'
import type { SwarmNodeInit } from '../src/index.ts'

const ROOT = new URL('..', import.meta.url).pathname
const TOPIC = 'swarmsite/bench-mesh'

const HELP = `Usage: node benchmarks/mesh.ts [options]      (or: npm run bench -- mesh [options])

Starts the relay process and N Chromium pages (one swarm node each) in a loopback-only
network namespace, measures the mesh and writes JSON (default
benchmarks/results/mesh-<YYYY-MM-DD>.json) plus a table on stdout; progress goes to stderr.

  --pages <n>             pages (nodes) in the swarm (default 20)
  --out <file>            where to write the JSON
  --dials <all|k>         parallel dial plan: every pair i<j, or each page dials k others
                          chosen by a seeded shuffle (default: all when pages <= 10, else 5)
  --seed <n>              seed for choosing the dialled pages (default 1)
  --isolated-repeats <n>  dials between two otherwise quiet pages (default 5)
  --find-from <n>         pages that look up the provider record (default 5)
  --dial-timeout-ms <ms>  deadline of one dial call, retries included (default 180000)
  --timeout-s <s>         whole-run deadline: tear down and exit 1 (default 600)
  --profile-pages <n>     after the idle phase, profile the JavaScript of n pages (CDP Profiler)
                          for another --idle-s window and attribute it by package (default 0)
  --profile-out <dir>     also write each profiled page's raw profile there (<dir>/page-<i>.cpuprofile)
  --idle-s <s>            length of the idle window(s) (default 10)
  --no-renice             leave Chromium's renderer priorities alone (by default the driver sets
                          every renderer to nice 0: Chromium runs all but one tab at nice 5)
  -h, --help              show this help`

interface Options {
  pages: number
  out: string
  dials: 'all' | number
  seed: number
  isolatedRepeats: number
  findFrom: number
  dialTimeoutMs: number
  timeoutS: number
  renice: boolean
  profilePages: number
  profileOut: string | undefined
  idleS: number
}

class UsageError extends Error {}

function parseOptions (argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowNegative: true,
    options: {
      pages: { type: 'string' },
      out: { type: 'string' },
      dials: { type: 'string' },
      seed: { type: 'string' },
      'isolated-repeats': { type: 'string' },
      'find-from': { type: 'string' },
      'dial-timeout-ms': { type: 'string' },
      'timeout-s': { type: 'string' },
      renice: { type: 'boolean' },
      'profile-pages': { type: 'string' },
      'profile-out': { type: 'string' },
      'idle-s': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) return undefined
  const int = (name: string, value: string | undefined, fallback: number, min: number): number => {
    if (value == null) return fallback
    const n = Number(value)
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`)
    return n
  }
  const pages = int('pages', values.pages, 20, 2)
  const dials = values.dials == null ? (pages <= 10 ? 'all' : Math.min(5, pages - 1)) : values.dials === 'all' ? 'all' : int('dials', values.dials, 5, 1)
  if (dials !== 'all' && dials > pages - 1) throw new UsageError(`--dials ${dials} is more than the ${pages - 1} other pages`)
  const date = new Date().toISOString().slice(0, 10)
  return {
    pages,
    out: resolve(values.out ?? `${ROOT}benchmarks/results/mesh-${date}.json`),
    dials,
    seed: int('seed', values.seed, 1, 0),
    isolatedRepeats: int('isolated-repeats', values['isolated-repeats'], 5, 0),
    findFrom: int('find-from', values['find-from'], 5, 1),
    dialTimeoutMs: int('dial-timeout-ms', values['dial-timeout-ms'], 180_000, 1000),
    timeoutS: int('timeout-s', values['timeout-s'], 600, 10),
    renice: values.renice !== false,
    profilePages: Math.min(pages, int('profile-pages', values['profile-pages'], 0, 0)),
    profileOut: values['profile-out'] != null ? resolve(values['profile-out']) : undefined,
    idleS: int('idle-s', values['idle-s'], 10, 1)
  }
}

const t0 = performance.now()
/** Set once the run is being aborted: the phases still running then fail, quietly. */
let aborted = false
function progress (message: string): void {
  process.stderr.write(`[mesh ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${message}\n`)
}

/** The page options of interop-tests/mesh.browser.test.ts. */
function pageInit (relay: RelayProcess): SwarmNodeInit {
  return {
    bootstrap: [relay.ws],
    iceServers: [],
    dhtServerAfterMs: 1000,
    retryMaxDelayMs: 2000,
    dialTimeoutMs: 30_000,
    dialAttempts: 4
  }
}

/** A one-line reason from a dial error: peer ids and addresses replaced, so reasons group. */
function reasonOf (err: unknown): string {
  const message = String((err as Error)?.message ?? err).split('\n')[0]!
  return message
    .replace(/^page\.evaluate: /, '')
    .replace(/\/(ip4|ip6|dns4|dns6|dns)\/\S+/g, '<addr>')
    .replace(/\b(12D3KooW[1-9A-HJ-NP-Za-km-z]+|Qm[1-9A-HJ-NP-Za-km-z]{44})\b/g, '<peer>')
}

/** The last step a failed dial reached: DialFailedError messages end "(after <step>)". */
function lastStepOf (message: string): string {
  return [...message.matchAll(/\(after ([^)]+)\)/g)].at(-1)?.[1] ?? 'unknown'
}

async function cidOf (text: string): Promise<string> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(text))).toString()
}

async function waitUntil (what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs: number): Promise<number> {
  const started = performance.now()
  for (;;) {
    if (await check()) return performance.now() - started
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await delay(everyMs)
  }
}

// ---- processes: CPU and memory ------------------------------------------------------

interface ProcSnapshot {
  at: number
  /** Chromium processes (descendants of this driver, minus the relay): pid → role */
  chromium: Map<number, string>
  relay: number[]
}

function processSnapshot (relay: RelayProcess | undefined): ProcSnapshot {
  const mine = descendants(process.pid, listProcesses())
  const relayPids = new Set(relay?.child.pid != null ? descendants(relay.child.pid, mine).map(p => p.pid) : [])
  const chromium = new Map<number, string>()
  for (const p of mine) {
    if (p.pid === process.pid || relayPids.has(p.pid) || !/chrom/i.test(p.args) || p.args.startsWith('ps ')) continue
    chromium.set(p.pid, chromiumRole(p.args))
  }
  return { at: performance.now(), chromium, relay: [...relayPids] }
}

interface CpuMark {
  at: number
  chromium: Map<number, { role: string, s: number }>
  /** per thread of every Chromium process: '<pid>/<tid>' → role:thread name, seconds */
  threads: Map<string, { key: string, s: number }>
  relay: number
  driver: number
  /** CPU seconds of the whole machine (/proc/stat), whoever used them: busy, steal, interrupts */
  machine: number
  steal: number
  irq: number
  renderersNice: Record<string, number>
  counters?: Map<string, number>
}

function cpuMark (relay: RelayProcess | undefined): CpuMark {
  const snap = processSnapshot(relay)
  const chromium = new Map<number, { role: string, s: number }>()
  const threads = new Map<string, { key: string, s: number }>()
  for (const [pid, role] of snap.chromium) {
    const s = cpuSeconds(pid)
    if (s != null) chromium.set(pid, { role, s })
    // a process's first thread carries the process name; call it 'main'
    for (const [tid, t] of threadCpuSeconds(pid)) threads.set(`${pid}/${tid}`, { key: `${role}:${tid === pid ? 'main' : t.name}`, s: t.s })
  }
  const usage = process.cpuUsage()
  const machine = machineCpuSeconds()
  const nice = [...snap.chromium].filter(([, role]) => role === 'renderer').map(([pid]) => String(niceOf(pid)))
  return {
    at: performance.now(),
    chromium,
    threads,
    relay: snap.relay.reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0),
    driver: (usage.user + usage.system) / 1e6,
    machine: machine.busy,
    steal: machine.steal,
    irq: machine.irq,
    renderersNice: tally(nice)
  }
}

/** The relay's own counters (libp2p_* and swarmsite_* ending in _total) from its /metrics. */
async function relayCounters (relay: RelayProcess | undefined): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  if (relay == null) return out
  try {
    const text = await (await fetch(`${relay.http}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
    for (const line of text.split('\n')) {
      const m = /^((?:libp2p|swarmsite)_\w+_total(?:\{[^}]*\})?) (\S+)$/.exec(line)
      if (m == null) continue
      // libp2p_data_transfer_bytes_total{protocol="/ipfs/ping/1.0.0 sent"} → bytes /ipfs/ping/1.0.0 sent
      const name = m[1]!.replace(/^libp2p_data_transfer_bytes_total\{protocol="(.*)"\}$/, 'bytes $1')
        .replace(/^(\w+)\{\1="(.*)"\}$/, '$1 $2')
      out.set(name, Number(m[2]))
    }
  } catch {}
  return out
}

async function mark (relay: RelayProcess | undefined): Promise<CpuMark> {
  const counters = await relayCounters(relay)
  return { ...cpuMark(relay), counters }
}

interface CpuPhase {
  wallS: number
  /** CPU seconds, user + system */
  chromiumS: number
  chromiumByRoleS: Record<string, number>
  /** Chromium CPU by process role and thread name (summed over processes), largest first */
  chromiumByThreadS: Record<string, number>
  relayS: number
  driverS: number
  /** CPU seconds the kernel spent in interrupts (irq + softirq), charged to no process:
   * mostly the loopback traffic of this benchmark */
  interruptsS: number
  /** CPU seconds everything else on the machine used meanwhile (machine busy − ours − interrupts) */
  otherProcessesS: number
  /** (Chromium + relay + driver) CPU seconds / (wall seconds × cores) */
  oursShare: number
  /** busy CPU seconds of the whole machine / (wall seconds × cores) */
  machineBusyShare: number
  /** CPU seconds the hypervisor took from this VM's cores */
  stealS: number
  renderersNice: Record<string, number>
  /** how much each of the relay's counters grew (only those that did) */
  relayCounters: Record<string, number>
}

function cpuBetween (a: CpuMark, b: CpuMark): CpuPhase {
  const byRole: Record<string, number> = {}
  let chromiumS = 0
  for (const [pid, { role, s }] of b.chromium) {
    const used = s - (a.chromium.get(pid)?.s ?? 0)
    byRole[role] = (byRole[role] ?? 0) + used
    chromiumS += used
  }
  const byThread: Record<string, number> = {}
  for (const [id, { key, s }] of b.threads) byThread[key] = (byThread[key] ?? 0) + s - (a.threads.get(id)?.s ?? 0)
  const threadTotal = Object.values(byThread).reduce((x, y) => x + y, 0)
  const top = Object.entries(byThread).filter(([, v]) => v >= 0.005).sort((x, y) => y[1] - x[1]).slice(0, 12)
  const chromiumByThreadS = Object.fromEntries([
    ...top.map(([k, v]) => [k, roundTo(v, 2)]),
    ['other threads', roundTo(threadTotal - top.reduce((x, [, v]) => x + v, 0), 2)],
    // threads that ended during the phase: in their process's total, under no live thread
    ['ended threads', roundTo(Math.max(0, chromiumS - threadTotal), 2)]
  ])
  const wallS = (b.at - a.at) / 1000
  const relayS = b.relay - a.relay
  const driverS = b.driver - a.driver
  const cores = os.cpus().length
  const busyS = b.machine - a.machine
  return {
    wallS: roundTo(wallS, 2),
    chromiumS: roundTo(chromiumS, 2),
    chromiumByRoleS: Object.fromEntries(Object.entries(byRole).sort((x, y) => y[1] - x[1]).map(([k, v]) => [k, roundTo(v, 2)])),
    chromiumByThreadS,
    relayS: roundTo(relayS, 2),
    driverS: roundTo(driverS, 2),
    interruptsS: roundTo(b.irq - a.irq, 2),
    otherProcessesS: roundTo(Math.max(0, busyS - chromiumS - relayS - driverS - (b.irq - a.irq)), 2),
    oursShare: roundTo((chromiumS + relayS + driverS) / (wallS * cores), 2),
    machineBusyShare: roundTo(busyS / (wallS * cores), 2),
    stealS: roundTo(b.steal - a.steal, 2),
    relayCounters: Object.fromEntries([...(b.counters ?? [])]
      .map(([k, v]) => [k, v - (a.counters?.get(k) ?? 0)] as const)
      .filter(([, d]) => d > 0)
      .sort((x, y) => y[1] - x[1])),
    renderersNice: b.renderersNice
  }
}

interface MemorySnapshot {
  label: string
  pages: number
  chromiumProcesses: number
  renderers: number
  readable: boolean
  chromiumPssMiB: number
  chromiumRssMiB: number
  pssByRoleMiB: Record<string, number>
  /** sums over every Chromium process divided by the pages open */
  perPagePssMiB: number
  perPageRssMiB: number
  /** (sum now − sum with no pages open) / pages */
  marginalPerPagePssMiB: number | null
  relayPssMiB: number
  relayRssMiB: number
}

function memorySnapshot (label: string, pages: number, relay: RelayProcess | undefined, baseline?: MemorySnapshot): MemorySnapshot {
  const snap = processSnapshot(relay)
  let pss = 0
  let rss = 0
  let readable = snap.chromium.size > 0
  const byRole: Record<string, number> = {}
  for (const [pid, role] of snap.chromium) {
    const m = memoryOf(pid)
    if (m == null) { readable = false; continue }
    pss += m.pssKiB
    rss += m.rssKiB
    byRole[role] = (byRole[role] ?? 0) + m.pssKiB / 1024
  }
  const relayMem = snap.relay.map(memoryOf)
  const mib = (kib: number): number => roundTo(kib / 1024, 1)
  return {
    label,
    pages,
    chromiumProcesses: snap.chromium.size,
    renderers: [...snap.chromium.values()].filter(r => r === 'renderer').length,
    readable,
    chromiumPssMiB: mib(pss),
    chromiumRssMiB: mib(rss),
    pssByRoleMiB: Object.fromEntries(Object.entries(byRole).sort((x, y) => y[1] - x[1]).map(([k, v]) => [k, roundTo(v, 1)])),
    perPagePssMiB: pages > 0 ? mib(pss / pages) : 0,
    perPageRssMiB: pages > 0 ? mib(rss / pages) : 0,
    marginalPerPagePssMiB: baseline != null && pages > 0 ? roundTo((pss / 1024 - baseline.chromiumPssMiB) / pages, 1) : null,
    relayPssMiB: mib(relayMem.reduce((s, m) => s + (m?.pssKiB ?? 0), 0)),
    relayRssMiB: mib(relayMem.reduce((s, m) => s + (m?.rssKiB ?? 0), 0))
  }
}

function renice (relay: RelayProcess | undefined): number {
  let count = 0
  for (const [pid, role] of processSnapshot(relay).chromium) {
    if (role !== 'renderer') continue
    try { os.setPriority(pid, 0); count++ } catch {}
  }
  return count
}

// ---- the run ------------------------------------------------------------------------

interface DialResult {
  from: number
  to: number
  ok: boolean
  /** in-page time of the dial() call (queueing in the page's dial policy included) */
  ms?: number
  /** driver-side time of the call (page round trip included) */
  driverMs: number
  /** from the driver's call to the page starting the dial, and from its end back to the driver */
  reachedPageMs?: number
  backToDriverMs?: number
  transport?: string
  direct?: boolean
  reason?: string
}

function dialPlan (pages: number, dials: 'all' | number, seed: number): Array<[number, number]> {
  const plan: Array<[number, number]> = []
  if (dials === 'all') {
    for (let i = 0; i < pages; i++) for (let j = i + 1; j < pages; j++) plan.push([i, j])
    return plan
  }
  const random = seededRandom(seed)
  const planned = new Set<string>()
  const key = (a: number, b: number): string => a < b ? `${a}-${b}` : `${b}-${a}`
  for (let i = 0; i < pages; i++) {
    const others = shuffled(Array.from({ length: pages }, (_, j) => j).filter(j => j !== i), random)
    let chosen = 0
    for (const j of others) {
      if (chosen === dials) break
      // a pair dialled both ways at once would measure the dial race, not the mesh
      if (planned.has(key(i, j))) continue
      planned.add(key(i, j))
      plan.push([i, j])
      chosen++
    }
  }
  return plan
}

async function run (options: Options, state: RunState): Promise<Record<string, any>> {
  const result: Record<string, any> = state.result
  const { pages: N } = options
  const cpus = os.cpus()
  result.benchmark = 'mesh'
  result.date = new Date().toISOString()
  result.machine = {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model.trim(),
    cpus: cpus.length,
    totalMemoryGiB: roundTo(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    chromium: null,
    loadAverageAtStart: os.loadavg().map(x => roundTo(x, 2)),
    // other work on the machine skews every figure here: measure how busy it was just before
    busyShareBeforeStart: roundTo(await machineBusyShare(3000, cpus.length), 2)
  }
  progress(`machine: ${cpus.length} × ${cpus[0]?.model.trim()}, ${Math.round(result.machine.busyShareBeforeStart * 100)} % busy before start (load average ${result.machine.loadAverageAtStart.join(' ')})`)
  if (result.machine.busyShareBeforeStart > 0.2) progress('warning: other processes are using the CPU; figures will be slower than on a quiet machine')
  result.code = codeVersion()
  result.options = { ...options, out: relative(ROOT, options.out) }
  result.errors = []

  progress(`code: ${result.code.commit?.slice(0, 10) ?? 'unknown commit'}${result.code.uncommitted.length > 0 ? ` plus uncommitted changes (${result.code.uncommitted.join(', ')})` : ''}`)
  progress(`starting the relay process; ${N} pages, dials ${options.dials === 'all' ? 'all pairs' : `${options.dials} per page`}`)
  const relay = state.relay = await startRelayProcess()
  const init = pageInit(relay)
  result.pageInit = { ...init, bootstrap: ['<relay ws address>'] }

  progress('bundling the test page and launching Chromium')
  const bench: BenchPages = state.bench = await startBenchPages()
  result.machine.chromium = bench.chromium.browser.version()
  await delay(1000)
  const baseline = memorySnapshot('browser, no pages', 0, relay)
  const memory: MemorySnapshot[] = [baseline]
  result.memory = memory

  // ---- isolated dials: two quiet pages, nothing else running --------------------------
  const phase = async (name: string, body: () => Promise<void>): Promise<void> => {
    try {
      await body()
    } catch (err: any) {
      if (aborted) throw err
      progress(`${name} phase failed: ${err.message}`)
      result.errors.push({ phase: name, error: String(err.message ?? err).split('\n')[0] })
    }
  }

  await phase('isolated', async () => {
    if (options.isolatedRepeats === 0) return
    progress(`isolated dial: two quiet pages, ${options.isolatedRepeats} dials`)
    const pair = await Promise.all([bench.open(-1), bench.open(-2)])
    const [a, b] = pair
    try {
      // DHT clients: these pages leave before the swarm starts, and must not linger in the
      // relay's routing table as dead DHT servers
      const readyMs: number[] = []
      for (const p of pair) {
        const started = performance.now()
        p.peerId = (await p.call<{ peerId: string }>('start', { ...init, dhtMode: 'client' })).peerId
        const startMs = performance.now() - started
        readyMs.push(startMs + (await p.call<{ ms: number }>('waitReachable', 30_000)).ms)
      }
      if (options.renice) renice(relay)
      const dialMs: number[] = []
      const failures: string[] = []
      for (let k = 0; k < options.isolatedRepeats; k++) {
        await delay(500)
        try {
          const r = await a.call<{ ms: number, transport: string, direct: boolean }>('dial', b.peerId, 60_000)
          if (r.transport !== 'webrtc' || !r.direct) throw new Error(`dial gave a ${r.transport} connection (direct: ${r.direct})`)
          dialMs.push(r.ms)
          progress(`  isolated dial ${k + 1}: ${r.ms.toFixed(0)} ms`)
        } catch (err) {
          failures.push(reasonOf(err))
          progress(`  isolated dial ${k + 1} failed: ${reasonOf(err)}`)
        }
        // hang up on both sides (direct and relayed connections) so the next dial starts afresh
        for (const [self, other] of [[a, b], [b, a]] as const) {
          await self.page.evaluate(async (peer) => {
            const node = window.swarmsiteTest.node()!
            const connection = node.libp2p.getConnections().find(c => c.remotePeer.toString() === peer)
            if (connection != null) await node.libp2p.hangUp(connection.remotePeer)
          }, other.peerId)
        }
        await waitUntil('the isolated pair to disconnect', async () => {
          const [ca, cb] = await Promise.all([a.call<Array<{ peerId: string }>>('connections'), b.call<Array<{ peerId: string }>>('connections')])
          return !ca.some(c => c.peerId === b.peerId) && !cb.some(c => c.peerId === a.peerId)
        }, 10_000, 100)
      }
      const s = summarize(dialMs)
      result.isolated = { readyMs: readyMs.map(x => roundTo(x)), dialMs: dialMs.map(x => roundTo(x)), dialP50Ms: s?.p50 ?? null, dial: s, failures }
    } finally {
      await Promise.all(pair.map(async p => p.close()))
    }
  })

  // ---- N pages: start together, time to reservation + /webrtc address ----------------
  progress(`opening ${N} pages`)
  const opened = await Promise.all(Array.from({ length: N }, async (_, i) => bench.open(i)))
  const pages: BenchPage[] = opened
  await delay(1000)
  if (options.renice) progress(`reniced ${renice(relay)} renderers to 0`)
  const cpu: Record<string, CpuPhase> = {}
  result.cpu = { ticksPerSecond: ticksPerSecond(), phases: cpu }

  progress(`starting ${N} nodes at once`)
  const readyStart = await mark(relay)
  const ready = await Promise.all(pages.map(async p => {
    const started = performance.now()
    try {
      p.peerId = (await p.call<{ peerId: string }>('start', init)).peerId
      const startMs = performance.now() - started
      const reach = await p.call<{ ms: number, addrs: string[] }>('waitReachable', 30_000)
      const webrtc = reach.addrs.some(a => a.includes(`/p2p/${relay.peerId}/p2p-circuit/webrtc/p2p/${p.peerId}`))
      return { page: p.index, ok: webrtc, startMs: roundTo(startMs), waitReachableMs: roundTo(reach.ms), readyMs: roundTo(startMs + reach.ms), ...(webrtc ? {} : { reason: 'no /webrtc address through the relay' }) }
    } catch (err) {
      return { page: p.index, ok: false, reason: reasonOf(err), startMs: null, waitReachableMs: null, readyMs: null }
    }
  }))
  cpu.ready = cpuBetween(readyStart, await mark(relay))
  const readyOk = ready.filter(r => r.ok)
  result.ready = {
    pages: N,
    ok: readyOk.length,
    readyMs: summarize(readyOk.map(r => r.readyMs!)),
    startCallMs: summarize(readyOk.map(r => r.startMs!)),
    waitReachableMs: summarize(readyOk.map(r => r.waitReachableMs!)),
    wallMs: roundTo(cpu.ready.wallS * 1000),
    failures: tally(ready.filter(r => !r.ok).map(r => r.reason!)),
    perPage: ready
  }
  progress(`ready: ${readyOk.length}/${N}, p50 ${result.ready.readyMs?.p50} ms, max ${result.ready.readyMs?.max} ms`)
  // let start-up work (identify, DHT mode switch after 1 s) finish, then measure what N
  // ready pages cost doing nothing (each holds only its relay connection)
  await delay(3000)
  const readyIdleStart = await mark(relay)
  await delay(5000)
  cpu.readyIdle = cpuBetween(readyIdleStart, await mark(relay))
  memory.push(memorySnapshot('pages ready', N, relay, baseline))

  // ---- parallel dials --------------------------------------------------------------
  await phase('dials', async () => {
    const plan = dialPlan(N, options.dials, options.seed)
    if (options.renice) renice(relay)
    const eventsBefore = await Promise.all(pages.map(async p => (await p.call<unknown[]>('events')).length))
    progress(`dials: ${plan.length} at once`)
    const before = await mark(relay)
    let done = 0
    const results: DialResult[] = await Promise.all(plan.map(async ([from, to]) => {
      const started = performance.now()
      try {
        const sentAt = Date.now()
        // swarmsiteTest.dial(), stamped on the machine's wall clock when the page starts and
        // ends it, so the driver's round trip can be told apart from the page's own time
        const r = await pages[from]!.page.evaluate(async ({ peer, timeoutMs }) => {
          const startedAt = Date.now()
          const result = await window.swarmsiteTest.dial(peer, timeoutMs)
          return { ...result, startedAt, endedAt: Date.now() }
        }, { peer: pages[to]!.peerId, timeoutMs: options.dialTimeoutMs })
        const driverMs = roundTo(performance.now() - started)
        const ok = r.transport === 'webrtc' && r.direct
        return {
          from,
          to,
          ok,
          ms: roundTo(r.ms),
          driverMs,
          reachedPageMs: r.startedAt - sentAt,
          backToDriverMs: Date.now() - r.endedAt,
          transport: r.transport,
          direct: r.direct,
          ...(ok ? {} : { reason: `ended on a ${r.transport} connection (direct: ${r.direct})` })
        }
      } catch (err) {
        return { from, to, ok: false, driverMs: roundTo(performance.now() - started), reason: reasonOf(err) }
      } finally {
        done++
        if (done % Math.max(1, Math.round(plan.length / 5)) === 0 || done === plan.length) progress(`  ${done}/${plan.length} dials settled`)
      }
    }))
    cpu.dials = cpuBetween(before, await mark(relay))
    const ok = results.filter(r => r.ok)
    const failed = results.filter(r => !r.ok)
    // retries the pages' dial policy made during the phase, by the step their attempt reached
    const retries = (await Promise.all(pages.map(async (p, i) => (await p.call<Array<{ type: string, detail?: string }>>('events')).slice(eventsBefore[i]))))
      .flat().filter(e => e.type === 'dial:retry')
    await delay(2000)
    const direct = await Promise.all(pages.map(async p => (await p.call<Array<{ transport: string, direct: boolean }>>('connections')).filter(c => c.direct && c.transport === 'webrtc').length))
    result.dials = {
      plan: options.dials === 'all' ? 'every pair i<j' : `each page dials ${options.dials} others (seeded shuffle, seed ${options.seed}, no pair twice)`,
      count: results.length,
      ok: ok.length,
      successRate: roundTo(ok.length / results.length, 3),
      wallMs: roundTo(cpu.dials.wallS * 1000),
      cpuSecondsPerDial: roundTo((cpu.dials.chromiumS + cpu.dials.relayS) / results.length, 2),
      ms: summarize(ok.map(r => r.ms!)),
      driverMs: summarize(results.map(r => r.driverMs)),
      // the driver's page.evaluate round trip: a busy renderer starts and answers it late
      reachedPageMs: summarize(ok.map(r => r.reachedPageMs!)),
      backToDriverMs: summarize(ok.map(r => r.backToDriverMs!)),
      failures: tally(failed.map(r => r.reason!)),
      failureLastSteps: tally(failed.map(r => lastStepOf(r.reason!))),
      retries: { count: retries.length, lastSteps: tally(retries.map(e => lastStepOf(e.detail ?? ''))) },
      directWebRTCConnectionsPerPage: summarize(direct),
      perDial: results
    }
    progress(`dials: ${ok.length}/${results.length} ok, p50 ${result.dials.ms?.p50} ms, p95 ${result.dials.ms?.p95} ms, max ${result.dials.ms?.max} ms; ${retries.length} retries`)
  })
  memory.push(memorySnapshot('after dials', N, relay, baseline))

  // ---- DHT -------------------------------------------------------------------------
  await phase('dht', async () => {
    if (options.renice) renice(relay)
    const before = await mark(relay)
    const serverWaitMs = await waitUntil('every page in DHT server mode', async () => {
      const modes = await Promise.all(pages.map(async p => p.call<string>('dhtMode')))
      return modes.every(m => m === 'server')
    }, 30_000, 250)
    const provider = pages[0]!
    const cid = await cidOf(`swarmsite mesh benchmark ${new Date().toISOString()}`)
    progress(`dht: providing on page 0 (${cid})`)
    let provideMs: number | null = null
    let provideError: string | undefined
    try {
      provideMs = roundTo((await provider.call<{ ms: number }>('provide', cid, 30_000)).ms)
    } catch (err) {
      provideError = reasonOf(err)
    }
    const F = Math.min(options.findFrom, N - 1)
    const finders = [...new Set(Array.from({ length: F }, (_, k) => Math.min(N - 1, Math.max(1, Math.round((k + 1) * N / (F + 1))))))]
    for (let i = 1; finders.length < F; i++) if (!finders.includes(i)) finders.push(i)
    const finds: Array<{ page: number, found: boolean, ms: number, reason?: string }> = []
    for (const i of finders) {
      const started = performance.now()
      try {
        const r = await pages[i]!.call<{ ms: number, found: boolean }>('findProvider', cid, provider.peerId, 30_000)
        finds.push({ page: i, found: r.found, ms: roundTo(r.ms) })
      } catch (err) {
        finds.push({ page: i, found: false, ms: roundTo(performance.now() - started), reason: reasonOf(err) })
      }
    }
    cpu.dht = cpuBetween(before, await mark(relay))
    const found = finds.filter(f => f.found)
    result.dht = {
      serverModeWaitMs: roundTo(serverWaitMs),
      provider: 0,
      provideMs,
      ...(provideError != null ? { provideError } : {}),
      find: {
        tried: finds.length,
        found: found.length,
        successRate: roundTo(found.length / finds.length, 3),
        ms: summarize(found.map(f => f.ms)),
        perPage: finds
      }
    }
    progress(`dht: provide ${provideMs ?? provideError} ms; found from ${found.length}/${finds.length}, p50 ${result.dht.find.ms?.p50} ms`)
  })

  // ---- gossip ----------------------------------------------------------------------
  await phase('gossip', async () => {
    if (options.renice) renice(relay)
    const before = await mark(relay)
    await Promise.all(pages.map(async p => {
      await p.call('subscribe', TOPIC)
      // arrival times, stamped in the page on the machine's wall clock (the driver's Date.now())
      await p.page.evaluate((topic) => {
        const w = window as any
        w.benchArrivals = []
        window.swarmsiteTest.node()!.libp2p.services.pubsub.addEventListener('message', evt => {
          if (evt.detail.topic === topic) w.benchArrivals.push({ at: Date.now(), text: new TextDecoder().decode(evt.detail.data) })
        })
      }, TOPIC)
    }))
    // every page sees subscribers (bounded), the counts stop changing (best effort), then a
    // gossipsub heartbeat so meshes form; the message goes out either way
    let topicPeers: number[] = []
    const poll = async (): Promise<number[]> => (topicPeers = await Promise.all(pages.map(async p => p.call<number>('topicPeers', TOPIC))))
    const subscriptionWaitMs = await waitUntil('every page to see a subscriber', async () => (await poll()).every(n => n > 0), 20_000, 500)
      .catch(() => { progress(`gossip: ${topicPeers.filter(n => n === 0).length} pages see no subscriber; publishing anyway`); return null })
    let last = ''
    await waitUntil('subscriber counts to settle', async () => {
      const now = (await poll()).join(',')
      const settled = now === last
      last = now
      return settled
    }, 5000, 500).catch(() => {})
    await delay(1500)
    const senderIndex = 3 % N
    const sender = pages[senderIndex]!
    const text = `mesh benchmark ${Date.now()}`
    progress('gossip: publishing one message')
    // stamped in the sending page, as the arrivals are: the driver's round trip stays out
    const driverSentAt = Date.now()
    const { sentAt, recipients } = await sender.page.evaluate(async ({ topic, text }) => {
      const sentAt = Date.now()
      return { sentAt, recipients: await window.swarmsiteTest.publish(topic, text) }
    }, { topic: TOPIC, text })
    const others = pages.filter(p => p !== sender)
    const seenAt = new Map<number, number>()
    const pollMs = 50
    await waitUntil('every page to receive the message', async () => {
      await Promise.all(others.filter(p => !seenAt.has(p.index)).map(async p => {
        if ((await p.call<string[]>('received', TOPIC)).includes(text)) seenAt.set(p.index, Date.now() - driverSentAt)
      }))
      return seenAt.size === others.length
    }, 30_000, pollMs).catch(() => {})
    const arrivals = await Promise.all(others.map(async p => {
      const list = await p.page.evaluate(() => (window as any).benchArrivals as Array<{ at: number, text: string }>)
      const hit = list.find(m => m.text === text)
      return hit != null ? hit.at - sentAt : null
    }))
    cpu.gossip = cpuBetween(before, await mark(relay))
    const got = arrivals.filter((x): x is number => x != null)
    result.gossip = {
      topic: TOPIC,
      sender: senderIndex,
      subscriptionWaitMs: subscriptionWaitMs != null ? roundTo(subscriptionWaitMs) : null,
      topicPeersPerPage: summarize(topicPeers),
      publishRecipients: recipients,
      received: got.length,
      of: others.length,
      reachedAllMs: got.length === others.length ? Math.max(...got) : null,
      arrivalMs: summarize(got),
      // the same seen by the driver polling `received` (its round trips included)
      polledReachedAllMs: seenAt.size === others.length ? Math.max(...seenAt.values()) : null,
      pollEveryMs: pollMs
    }
    progress(`gossip: ${got.length}/${others.length} pages got it; all within ${result.gossip.reachedAllMs ?? '—'} ms`)
  })
  memory.push(memorySnapshot('after gossip', N, relay, baseline))

  // ---- steady state: N connected nodes doing nothing in particular -------------------
  await phase('idle', async () => {
    if (options.renice) renice(relay)
    const idleStart = await mark(relay)
    await delay(options.idleS * 1000)
    cpu.idle = cpuBetween(idleStart, await mark(relay))
    // what each page holds besides its relay connection: direct connections to other pages,
    // and relayed (limited) ones through the relay, kept from WebRTC signalling
    const held = await Promise.all(pages.map(async p => p.page.evaluate((relayId) => {
      const connections = window.swarmsiteTest.node()!.libp2p.getConnections().filter(c => c.status === 'open' && c.remotePeer.toString() !== relayId)
      const directPeers = new Set(connections.filter(c => c.limits == null).map(c => c.remotePeer.toString()))
      const limited = connections.filter(c => c.limits != null)
      return {
        direct: connections.filter(c => c.limits == null).length,
        limited: limited.length,
        limitedToDirectPeers: limited.filter(c => directPeers.has(c.remotePeer.toString())).length,
        limitedOutbound: limited.filter(c => c.direction === 'outbound').length
      }
    }, relay.peerId)))
    if (result.dials != null && cpu.dials != null) {
      // the dial phase also pays for the nodes' background work, which grows with their
      // connections: taking off the idle rate measured after the dials gives a lower bound
      const background = cpu.dials.wallS * (cpu.idle.chromiumS + cpu.idle.relayS) / cpu.idle.wallS
      result.dials.cpuSecondsPerDialWithoutIdleMesh = roundTo(Math.max(0, cpu.dials.chromiumS + cpu.dials.relayS - background) / result.dials.count, 2)
    }
    result.idle = {
      wallS: cpu.idle.wallS,
      coresPerPage: roundTo((cpu.idle.chromiumS / cpu.idle.wallS) / N, 3),
      coresPerPageBeforeDials: cpu.readyIdle != null ? roundTo((cpu.readyIdle.chromiumS / cpu.readyIdle.wallS) / N, 3) : null,
      relayCores: roundTo(cpu.idle.relayS / cpu.idle.wallS, 3),
      directConnectionsPerPage: summarize(held.map(h => h.direct)),
      limitedConnectionsPerPage: summarize(held.map(h => h.limited)),
      // relayed connections to a peer this page also holds a direct connection to, and those it opened
      limitedToDirectPeersPerPage: summarize(held.map(h => h.limitedToDirectPeers)),
      limitedOutboundPerPage: summarize(held.map(h => h.limitedOutbound))
    }
    progress(`idle: ${result.idle.coresPerPage} cores per page, relay ${result.idle.relayCores} cores`)
  })

  // ---- where the idle pages' JavaScript goes: a second window, profiled --------------
  await phase('idle-profile', async () => {
    if (options.profilePages === 0) return
    if (options.renice) renice(relay)
    const profiled = pages.slice(0, options.profilePages)
    const modules = bundleModules(bench.script)
    progress(`idle-profile: profiling ${profiled.length} pages for ${options.idleS} s`)
    const stops = await Promise.all(profiled.map(async p => startJsProfile(p.page, bench.scriptUrl, modules)))
    const before = await mark(relay)
    await delay(options.idleS * 1000)
    cpu.idleProfiled = cpuBetween(before, await mark(relay))
    if (options.profileOut != null) await mkdir(options.profileOut, { recursive: true })
    const profiles = await Promise.all(stops.map(async (stop, i) => stop(options.profileOut != null ? `${options.profileOut}/page-${profiled[i]!.index}.cpuprofile` : undefined)))
    const sum = sumProfiles(profiles)
    result.idleProfile = {
      pages: profiled.map(p => p.index),
      // the profiler's own cost is in this window's CPU, so compare it with the idle phase's
      coresPerPage: roundTo((cpu.idleProfiled.chromiumS / cpu.idleProfiled.wallS) / N, 3),
      jsBusyShare: roundTo(sum.busyMs / sum.wallMs, 4),
      sum,
      perPage: profiles
    }
    progress(`idle-profile: page JS busy ${(result.idleProfile.jsBusyShare * 100).toFixed(2)} % of the window; top: ${Object.entries(sum.selfByPackageMs).slice(0, 5).map(([k, v]) => `${k} ${v} ms`).join(', ')}`)
  })
  return result
}

/** The commit measured, and any uncommitted change to what runs (node, relay, test page, patches). */
function codeVersion (): { commit: string | null, uncommitted: string[] } {
  const git = (...args: string[]): string | null => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    } catch {
      return null
    }
  }
  const status = git('status', '--porcelain', '--', 'src', 'relay', 'interop-tests', 'patches', 'package.json', 'package-lock.json')
  return {
    commit: git('rev-parse', 'HEAD')?.trim() ?? null,
    uncommitted: (status ?? '').split('\n').filter(Boolean).map(line => line.trim())
  }
}

interface RunState {
  result: Record<string, any>
  relay?: RelayProcess
  bench?: BenchPages
}

function printTable (r: Record<string, any>): void {
  const s = (x: Summary | null | undefined, key: 'p50' | 'p95' | 'max'): string => x == null ? '—' : String(x[key])
  const rows: Array<Array<string | number>> = [['figure', 'p50', 'p95', 'max', 'ok / of']]
  if (r.ready != null) rows.push(['page ready (ms)', s(r.ready.readyMs, 'p50'), s(r.ready.readyMs, 'p95'), s(r.ready.readyMs, 'max'), `${r.ready.ok}/${r.ready.pages}`])
  if (r.dials != null) rows.push(['parallel dial (ms)', s(r.dials.ms, 'p50'), s(r.dials.ms, 'p95'), s(r.dials.ms, 'max'), `${r.dials.ok}/${r.dials.count}`])
  if (r.isolated != null) rows.push(['isolated dial (ms)', s(r.isolated.dial, 'p50'), s(r.isolated.dial, 'p95'), s(r.isolated.dial, 'max'), `${r.isolated.dialMs.length}/${r.options.isolatedRepeats}`])
  if (r.dht != null) {
    rows.push(['DHT provide (ms)', r.dht.provideMs ?? '—', '', '', r.dht.provideMs != null ? '1/1' : '0/1'])
    rows.push(['DHT findProvider (ms)', s(r.dht.find.ms, 'p50'), s(r.dht.find.ms, 'p95'), s(r.dht.find.ms, 'max'), `${r.dht.find.found}/${r.dht.find.tried}`])
  }
  if (r.gossip != null) rows.push(['gossip arrival (ms)', s(r.gossip.arrivalMs, 'p50'), s(r.gossip.arrivalMs, 'p95'), s(r.gossip.arrivalMs, 'max'), `${r.gossip.received}/${r.gossip.of}`])
  const m = (r.memory as MemorySnapshot[] | undefined)?.find(x => x.label === 'after dials')
  const lines = [
    `mesh benchmark: ${r.options?.pages} pages, ${r.machine?.cpus} × ${r.machine?.cpuModel}, Chromium ${r.machine?.chromium}, Node ${r.machine?.node}`,
    table(rows)
  ]
  if (m != null) lines.push(`memory after dials: ${m.perPagePssMiB} MiB PSS / ${m.perPageRssMiB} MiB RSS per page (Chromium total ${m.chromiumPssMiB} MiB PSS; +${m.marginalPerPagePssMiB} MiB PSS per page over the bare browser); relay ${m.relayPssMiB} MiB PSS`)
  const d = r.cpu?.phases?.dials as CpuPhase | undefined
  if (d != null) lines.push(`CPU in the dial phase (${d.wallS} s wall): Chromium ${d.chromiumS} s (${Object.entries(d.chromiumByRoleS).map(([k, v]) => `${k} ${v}`).join(', ')}), relay ${d.relayS} s, driver ${d.driverS} s (${Math.round(d.oursShare * 100)} % of ${r.machine?.cpus} cores); interrupts ${d.interruptsS} s, other processes ${d.otherProcessesS} s; ${r.dials?.cpuSecondsPerDial} CPU-s per dial (≥ ${r.dials?.cpuSecondsPerDialWithoutIdleMesh ?? '—'} without the idle mesh's own cost)`)
  if (r.idle != null) lines.push(`idle mesh (${r.idle.wallS} s): ${r.idle.coresPerPage} cores per page (${r.idle.coresPerPageBeforeDials} before the dials), relay ${r.idle.relayCores} cores; per page ${r.idle.directConnectionsPerPage?.mean} direct + ${r.idle.limitedConnectionsPerPage?.mean} relayed connections to other pages`)
  const busiest = Object.entries((r.cpu?.phases ?? {}) as Record<string, CpuPhase>)
    .map(([name, p]) => [name, p.otherProcessesS / (p.wallS * (r.machine?.cpus ?? 1))] as const)
    .sort((x, y) => y[1] - x[1])[0]
  if (busiest != null && busiest[1] > 0.05) lines.push(`warning: other processes used ${Math.round(busiest[1] * 100)} % of the machine during the ${busiest[0]} phase; figures are slower than on a quiet machine`)
  if (r.errors?.length > 0) lines.push(`errors: ${r.errors.map((e: any) => `${e.phase}: ${e.error}`).join('; ')}`)
  process.stdout.write(lines.join('\n') + '\n')
}

async function main (): Promise<number> {
  let options: Options | undefined
  try {
    options = parseOptions(process.argv.slice(2))
  } catch (err: any) {
    process.stderr.write(`mesh: ${err.message}; try --help\n`)
    return 2
  }
  if (options == null) {
    process.stdout.write(HELP + '\n')
    return 0
  }
  const outer = reexecInNetns(new URL(import.meta.url).pathname)
  if (outer != null) return outer

  const state: RunState = { result: {} }
  let tornDown: Promise<void> | undefined
  const teardown = async (): Promise<void> => {
    tornDown ??= (async () => {
      progress('tearing down')
      await state.bench?.close().catch(() => {})
      await state.relay?.stop().catch(() => {})
    })()
    return tornDown
  }
  /** Ends the run now: bounded teardown, then SIGKILL whatever we started and is still alive. */
  const abort = async (reason: string, code: number): Promise<never> => {
    aborted = true
    progress(`${reason}: aborting`)
    state.result.aborted = reason
    const partial = options.out.replace(/\.json$/, '') + '.aborted.json'
    await mkdir(dirname(partial), { recursive: true }).then(async () => writeFile(partial, JSON.stringify(state.result, null, 2) + '\n')).catch(() => {})
    const clean = await Promise.race([teardown().then(() => true), delay(30_000, undefined, { ref: false }).then(() => false)])
    if (!clean) {
      const mine = descendants(process.pid, listProcesses()).filter(p => p.pid !== process.pid)
      for (const p of mine) { try { process.kill(p.pid, 'SIGKILL') } catch {} }
    }
    progress(`partial results in ${relative(process.cwd(), partial)}`)
    process.exit(code)
  }
  const timer = setTimeout(() => { void abort(`global timeout of ${options.timeoutS} s`, 1) }, options.timeoutS * 1000)
  let aborting = false
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      if (aborting) return
      aborting = true
      void abort(signal, code)
    })
  }

  let result: Record<string, any>
  try {
    result = await run(options, state)
  } catch (err: any) {
    if (aborted) return await new Promise<number>(() => {}) // abort() ends the process
    progress(`failed: ${err.stack ?? err.message}`)
    state.result.errors = [...(state.result.errors ?? []), { phase: 'setup', error: String(err.message).split('\n')[0] }]
    if (state.relay != null && state.relay.stderr().length > 0) progress(`relay stderr (tail): ${state.relay.stderr().slice(-2000)}`)
    result = state.result
  }
  const teardownStarted = performance.now()
  await Promise.race([teardown(), delay(60_000, undefined, { ref: false })])
  clearTimeout(timer)
  // how much of the machine other work took, per phase: > 0.05 means skewed figures
  result.otherProcessesShare = Object.fromEntries(Object.entries((result.cpu?.phases ?? {}) as Record<string, CpuPhase>)
    .map(([name, p]) => [name, roundTo(p.otherProcessesS / (p.wallS * os.cpus().length), 2)]))
  result.teardownMs = roundTo(performance.now() - teardownStarted)
  result.durationS = roundTo((performance.now() - t0) / 1000, 1)
  await mkdir(dirname(options.out), { recursive: true })
  await writeFile(options.out, JSON.stringify(result, null, 2) + '\n')
  progress(`wrote ${relative(process.cwd(), options.out)}`)
  printTable(result)
  return (result.errors?.length ?? 1) === 0 ? 0 : 1
}

main().then(code => {
  process.exitCode = code
}, (err: any) => {
  process.stderr.write(`mesh: ${err.stack ?? err}\n`)
  process.exitCode = 1
})
