/**
 * Runs a crowd: for each system (and each repeat), a fresh origin, relay and Chromium; N
 * visitor pages (a browser context each) opened beforehand; visitors called at their arrival
 * times; results collected as they come; every visitor stays (seeding, for systems that do)
 * until the last one finished or the run's deadline; then everything the run started is torn
 * down before the next system starts.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { startRelayProcess } from '../../test/helpers/relay-process.ts'
import { memoryOf } from '../lib/proc.ts'
import { chromiumPssMiB, cpuBetween, cpuMark, reniceRenderers } from './machine.ts'
import { startNodeHosts } from './node-visitors.ts'
import { startCrowdOrigin } from './origin.ts'
import { servePages, startCrowdBrowser } from './pages.ts'
import { startCrowdProfile } from './profile.ts'
import type { CpuUse } from './machine.ts'
import type { CrowdOrigin, OriginLogEntry } from './origin.ts'
import type { CrowdVisitorHandle, NodeHosts } from './node-visitors.ts'
import type { CrowdBrowser, PageServer, VisitResult, VisitorPage } from './pages.ts'
import type { CrowdJsProfile, CrowdProfileOptions } from './profile.ts'
import type { CrowdAsset, CrowdSetup, PreparedSystem, SystemDriver, VisitorResult } from './types.ts'
import type { RelayProcess } from '../../test/helpers/relay-process.ts'

export type ArrivalKind = 'window' | 'interval'

/**
 * Arrival offsets (ms) of `peers` visitors: 'window' spreads them evenly over `ms` (the first
 * at 0, the last at `ms`); 'interval' has visitor i arrive at i × `ms`.
 */
export function arrivalSchedule (kind: ArrivalKind, ms: number, peers: number): number[] {
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`arrival ms must be a finite number >= 0, got ${ms}`)
  if (!Number.isInteger(peers) || peers < 1) throw new RangeError(`peers must be an integer >= 1, got ${peers}`)
  return Array.from({ length: peers }, (_, i) => kind === 'interval' ? i * ms : peers === 1 ? 0 : Math.round(i * ms / (peers - 1)))
}

/**
 * Which visitors are Chromium pages and which headless Node visitors (a system's
 * `nodeVisitor`, many per process): `chromium` of the N are pages, spread evenly over the
 * arrival order; the rest are Node visitors, `nodePerProcess` to a process (default 25).
 */
export interface VisitorMix {
  chromium: number
  nodePerProcess?: number
  /** profile every Node visitor host (node --cpu-prof) into this folder */
  nodeCpuProfDir?: string
}

export const DEFAULT_NODE_VISITORS_PER_PROCESS = 25

/** The visitors (indices in arrival order) that are Chromium pages: `chromium` of `peers`, evenly spread. */
export function chromiumVisitors (peers: number, chromium: number): Set<number> {
  if (!Number.isInteger(chromium) || chromium < 0 || chromium > peers) throw new RangeError(`chromium visitors must be an integer in 0..${peers}, got ${chromium}`)
  return new Set(Array.from({ length: chromium }, (_, j) => Math.floor((j + 0.5) * peers / chromium)))
}

export interface CrowdRunnerOptions {
  asset: CrowdAsset
  peers: number
  /** Arrival offset of each visitor, ms from the start of a run (one per peer). */
  arrivalsMs: number[]
  /** Origin cap shared by all its ports, bytes/s; Infinity = none. */
  originBytesPerSecond: number
  uploadBytesPerSecond: number
  systems: SystemDriver[]
  /** Repeats of each system (runs alternate between systems); default 1. */
  runs?: number
  /** One run's deadline from its start: visitors without a result by then count as failed. */
  runTimeoutMs: number
  /** Origin ports; default ceil(peers / 2) (Chromium: 6 connections per host:port, a swarm visitor uses up to 2). */
  originPorts?: number
  /** Chromium pages and Node visitors; default every visitor a Chromium page. */
  visitors?: VisitorMix
  /** Set Chromium's renderers to nice 0 (default true). */
  renice?: boolean
  /** Profile the JavaScript of some pages of one system over the visiting window (its bundle is then served unminified). */
  profile?: CrowdProfileOptions
  signal?: AbortSignal
  onProgress?: (progress: RunProgress) => void
  log?: (line: string) => void
  /** Called with each system run as it ends (so a caller that is interrupted keeps what finished). */
  onRun?: (run: SystemRun) => void
}

export interface RunProgress {
  system: string
  run: number
  runs: number
  phase: 'setup' | 'opening pages' | 'visiting' | 'collecting' | 'teardown'
  /** ms since the run's first arrival (visiting), else since the phase began */
  elapsedMs: number
  opened: number
  arrived: number
  done: number
  failed: number
  peers: number
  originBytes: number
}

/** A visitor's result as the runner keeps it: the page's, with arrival on the run's clock. */
export type CrowdVisitor = VisitorResult & {
  /** what ran the visitor: a Chromium page or a Node visitor (absent in results before Node visitors) */
  runtime?: 'chromium' | 'node'
  /** when the driver called the page and how late the call reached it, ms */
  calledAtMs?: number
  reachedPageMs?: number
  scheduledAtMs: number
  [extra: string]: unknown
}

export interface SystemRun {
  system: string
  run: number
  startedAt: string
  /** Chromium's version (browser.version()) */
  chromium: string | null
  /** origin, relay, prepare, browser and pages: ms before the first arrival */
  setupMs: number
  /** setupMs by step */
  setupStepsMs: Record<string, number>
  originPorts: number
  visitors: CrowdVisitor[]
  /** last completion − first arrival, ms; null when a visitor failed */
  lastCompletionMs: number | null
  /** The origin's own counters; `log`: every body request (time from the first arrival, range, bytes sent) */
  origin: { bytesServed: number, requests: number, log?: OriginLogEntry[] }
  /** CPU from the first arrival to the last result */
  cpu: CpuUse | null
  /** with `profile` for this system: the profiled pages' JavaScript over that window */
  jsProfile?: CrowdJsProfile
  /** Chromium's PSS when the last visitor finished */
  chromiumPssMiB: number | null
  /** with Node visitors: how many host processes ran them, and their PSS (all together) when the last visitor finished */
  nodeHosts?: { processes: number, visitors: number, pssMiB: number }
  /**
   * Bytes through the relay by libp2p protocol over the whole run (its Prometheus counters,
   * `libp2p_data_transfer_bytes_total`), sent and received: what visitors ask of the one
   * central piece (gossip, signalling, DHT, relayed data)
   */
  relayTraffic?: Record<string, { sent: number, received: number }>
  pageErrors: string[]
  errors: string[]
}

const MiB = 1024 * 1024

/** The relay's libp2p byte counters by protocol (undefined when its metrics don't answer). */
async function relayTraffic (http: string | undefined): Promise<SystemRun['relayTraffic']> {
  if (http == null) return undefined
  try {
    const text = await (await fetch(`${http}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()
    const out: NonNullable<SystemRun['relayTraffic']> = {}
    // libp2p_data_transfer_bytes_total{protocol="/meshsub/1.1.0 sent"} 1234 (the counters restart at every scrape: nobody else scrapes this relay)
    for (const m of text.matchAll(/^libp2p_data_transfer_bytes_total\{\w+="([^"]+) (sent|received)"\} (\d+(?:\.\d+)?(?:e\+?\d+)?)$/gm)) {
      const entry = (out[m[1]!] ??= { sent: 0, received: 0 })
      entry[m[2] as 'sent' | 'received'] += Number(m[3])
    }
    return out
  } catch {
    return undefined
  }
}

function settleWithin<T> (promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([promise, delay(ms, undefined, { ref: false })]).catch(() => undefined)
}

/** Runs every system `runs` times (system order repeated per run) and returns the raw results. */
export async function runCrowd (options: CrowdRunnerOptions): Promise<SystemRun[]> {
  if (options.arrivalsMs.length !== options.peers) throw new RangeError(`${options.arrivalsMs.length} arrival times for ${options.peers} peers`)
  const profiling = options.profile != null && options.profile.pages > 0 ? options.profile : undefined
  const chromium = options.visitors?.chromium ?? options.peers
  for (const driver of options.systems) {
    if (chromium < options.peers && driver.nodeVisitor == null) throw new Error(`the ${driver.name} system has no Node visitor (SystemDriver.nodeVisitor): run it with Chromium visitors only`)
  }
  // Node visitors need no page bundles
  const server = chromium > 0 ? await servePages(options.systems, { unminified: profiling != null ? [profiling.system] : [] }) : undefined
  const out: SystemRun[] = []
  try {
    const runs = options.runs ?? 1
    for (let run = 1; run <= runs; run++) {
      for (const driver of options.systems) {
        options.signal?.throwIfAborted()
        const done = await runSystem(driver, run, runs, server, options)
        out.push(done)
        options.onRun?.(done)
      }
    }
  } finally {
    await server?.close()
  }
  return out
}

async function runSystem (driver: SystemDriver, run: number, runs: number, server: PageServer | undefined, options: CrowdRunnerOptions): Promise<SystemRun> {
  const { peers, asset, signal } = options
  const inChromium = chromiumVisitors(peers, options.visitors?.chromium ?? peers)
  const nodeCount = peers - inChromium.size
  const perProcess = options.visitors?.nodePerProcess ?? DEFAULT_NODE_VISITORS_PER_PROCESS
  const profile = options.profile != null && options.profile.pages > 0 && options.profile.system === driver.name ? options.profile : undefined
  const log = options.log ?? (() => {})
  const result: SystemRun = {
    system: driver.name,
    run,
    startedAt: new Date().toISOString(),
    chromium: null,
    setupMs: 0,
    setupStepsMs: {},
    originPorts: options.originPorts ?? Math.max(1, Math.ceil(peers / 2)),
    visitors: [],
    lastCompletionMs: null,
    origin: { bytesServed: 0, requests: 0 },
    cpu: null,
    chromiumPssMiB: null,
    pageErrors: [],
    errors: []
  }
  const progress: RunProgress = { system: driver.name, run, runs, phase: 'setup', elapsedMs: 0, opened: 0, arrived: 0, done: 0, failed: 0, peers, originBytes: 0 }
  let phaseStart = performance.now()
  const report = (phase?: RunProgress['phase']): void => {
    if (phase != null && phase !== progress.phase) {
      progress.phase = phase
      phaseStart = performance.now()
    }
    progress.elapsedMs = performance.now() - phaseStart
    progress.originBytes = origin?.bytesServed() ?? 0
    options.onProgress?.({ ...progress })
  }
  let origin: CrowdOrigin | undefined
  let relay: RelayProcess | undefined
  let prepared: PreparedSystem | undefined
  let browser: CrowdBrowser | undefined
  let hosts: NodeHosts | undefined
  const setupStarted = performance.now()
  try {
    report('setup')
    let stepStart = performance.now()
    const step = (name: string): void => {
      result.setupStepsMs[name] = Math.round(performance.now() - stepStart)
      stepStart = performance.now()
    }
    origin = await startCrowdOrigin({ root: asset.dir, ports: result.originPorts, bytesPerSecond: options.originBytesPerSecond })
    relay = await startRelayProcess()
    step('origin and relay')
    const setup: CrowdSetup = { asset, originUrls: origin.urls, relayWs: relay.ws, uploadBytesPerSecond: options.uploadBytesPerSecond, peers }
    prepared = await driver.prepare(setup)
    step('prepare')
    signal?.throwIfAborted()
    const pages: CrowdVisitorHandle[] = new Array(peers)
    const browserPages: VisitorPage[] = []
    if (inChromium.size > 0) {
      browser = await startCrowdBrowser(server!.url)
      result.chromium = browser.version
      step('browser')
      report('opening pages')
      // a few at a time: opening 20 contexts at once only queues them behind each other for CPU
      const queue = [...inChromium].sort((a, b) => a - b)
      await Promise.all(Array.from({ length: Math.min(4, queue.length) }, async () => {
        while (queue.length > 0) {
          const i = queue.shift()!
          signal?.throwIfAborted()
          const page = await browser!.open(driver.name, i)
          browserPages.push(page)
          pages[i] = { ...page, runtime: 'chromium' }
          progress.opened++
          report()
        }
      }))
      step('pages')
    }
    if (nodeCount > 0) {
      report('opening pages')
      const processes = Math.ceil(nodeCount / perProcess)
      hosts = await startNodeHosts(driver.nodeVisitor!, processes, { ...(signal != null ? { signal } : {}), ...(options.visitors?.nodeCpuProfDir != null ? { cpuProfDir: options.visitors.nodeCpuProfDir } : {}) })
      // in arrival order, alternating between processes, so each process gets its share of every phase of the crowd
      let slot = 0
      for (let i = 0; i < peers; i++) {
        if (inChromium.has(i)) continue
        pages[i] = hosts.open(i, slot++)
        progress.opened++
      }
      report()
      result.nodeHosts = { processes, visitors: nodeCount, pssMiB: 0 }
      step('node visitors')
    }
    if (browser != null && options.renice !== false) reniceRenderers()
    await delay(500, undefined, { signal })
    result.setupMs = Math.round(performance.now() - setupStarted)
    log(`${driver.name} run ${run}: ${peers} pages open after ${(result.setupMs / 1000).toFixed(1)} s (${Object.entries(result.setupStepsMs).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ')}); visitors arrive over ${(Math.max(...options.arrivalsMs) / 1000).toFixed(1)} s`)

    // ---- visits ----------------------------------------------------------------------
    // the profiler starts just before the first arrival and stops after the CPU mark that ends the window
    // only Chromium pages can be profiled (a Node visitor's JS would need --cpu-prof on its whole host)
    const stopProfile = profile != null && browserPages.length > 0 ? await startCrowdProfile(browserPages, server!.scripts[driver.name]!, `${server!.url}/${driver.name}.js`, { ...profile, run }) : undefined
    origin.resetCounters()
    const hostPids = hosts?.pids() ?? []
    const before = cpuMark(relay.child.pid, hostPids)
    const t0Wall = Date.now()
    const t0 = performance.now()
    report('visiting')
    let ticks = 0
    const ticker = setInterval(() => {
      if (options.renice !== false && ++ticks % 5 === 0) reniceRenderers()
      report()
    }, 1000)
    const deadline = delay(options.runTimeoutMs, 'deadline' as const, { ref: false })
    const aborted = new Promise<never>((_resolve, reject) => {
      if (signal == null) return
      if (signal.aborted) reject(signal.reason)
      signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
    })
    aborted.catch(() => {})
    let lastResultAt = t0
    try {
      result.visitors = await Promise.race([aborted, Promise.all(pages.map(async (page, i) => {
        const scheduledAtMs = options.arrivalsMs[i]!
        await delay(Math.max(0, t0 + scheduledAtMs - performance.now()))
        const calledAt = Date.now()
        progress.arrived++
        const visit: Promise<VisitResult | { error: string }> = page.visit(prepared!.pageConfig).then(r => r, (err: any) => ({ error: String(err?.message ?? err).split('\n')[0]! }))
        const settled = await Promise.race([visit, deadline])
        let visitor: CrowdVisitor
        if (settled === 'deadline') {
          visitor = { ...emptyVisitor(driver.name, i, scheduledAtMs), runtime: page.runtime, calledAtMs: calledAt - t0Wall, error: `no result within the run deadline (${Math.round(options.runTimeoutMs / 1000)} s)` }
        } else if (!('result' in settled)) {
          visitor = { ...emptyVisitor(driver.name, i, scheduledAtMs), runtime: page.runtime, calledAtMs: calledAt - t0Wall, error: settled.error }
        } else {
          const r = settled.result
          visitor = {
            ...r,
            runtime: page.runtime,
            visitor: i,
            system: driver.name,
            scheduledAtMs,
            calledAtMs: calledAt - t0Wall,
            reachedPageMs: settled.startedAt - calledAt,
            arrivedAtMs: settled.startedAt - t0Wall
          }
          checkBytes(visitor, asset)
        }
        if (visitor.ok) progress.done++
        else progress.failed++
        lastResultAt = performance.now()
        report()
        return visitor
      }))])
    } finally {
      clearInterval(ticker)
    }
    result.cpu = cpuBetween(before, { ...cpuMark(relay.child.pid, hostPids), at: lastResultAt })
    result.chromiumPssMiB = chromiumPssMiB(relay.child.pid)
    if (result.nodeHosts != null) result.nodeHosts.pssMiB = Math.round(hostPids.reduce((sum, pid) => sum + (memoryOf(pid)?.pssKiB ?? 0), 0) / 1024)
    if (stopProfile != null) {
      report('collecting')
      result.jsProfile = await stopProfile()
      log(`${driver.name} run ${run}: profiled visitors ${result.jsProfile.visitors.join(', ')}: page JS busy ${(result.jsProfile.jsBusyShare * 100).toFixed(1)} % of ${result.jsProfile.windowS} s; top: ${Object.entries(result.jsProfile.sum.selfByPackageMs).slice(0, 5).map(([k, v]) => `${k} ${Math.round(v)} ms`).join(', ')}`)
    }
    result.origin = { bytesServed: origin.bytesServed(), requests: origin.requests(), log: origin.log() }
    result.relayTraffic = await relayTraffic(relay.http)
    const failed = result.visitors.filter(v => !v.ok)
    result.lastCompletionMs = failed.length > 0
      ? null
      : Math.round(Math.max(...result.visitors.map(v => v.arrivedAtMs + v.completeMs)) - Math.min(...result.visitors.map(v => v.arrivedAtMs)))

    // ---- what each visitor uploaded until the end --------------------------------------
    report('collecting')
    await Promise.all(pages.map(async (page, i) => {
      const after = await settleWithin(page.after(), 15_000)
      const v = result.visitors[i]!
      if (after != null && typeof after.uploaded === 'number') v.uploaded = after.uploaded
    }))
    const s = summarizeRun(result)
    log(`${driver.name} run ${run}: ${s}`)
  } catch (err: any) {
    if (signal?.aborted === true) throw err
    result.errors.push(String(err?.message ?? err).split('\n')[0]!)
    log(`${driver.name} run ${run} failed: ${err?.stack ?? err}`)
  } finally {
    report('teardown')
    result.pageErrors = [...(browser?.pageErrors ?? []), ...(hosts?.errors ?? [])].slice(0, 50)
    await settleWithin(browser?.close() ?? Promise.resolve(), 30_000)
    await settleWithin(hosts?.close() ?? Promise.resolve(), 30_000)
    await settleWithin(prepared?.cleanup() ?? Promise.resolve(), 30_000)
    await settleWithin(relay?.stop() ?? Promise.resolve(null), 15_000)
    await settleWithin(origin?.stop() ?? Promise.resolve(), 10_000)
  }
  return result
}

function emptyVisitor (system: string, visitor: number, scheduledAtMs: number): CrowdVisitor {
  return { visitor, system, arrivedAtMs: scheduledAtMs, scheduledAtMs, firstByteMs: -1, completeMs: -1, bytes: 0, fromPeers: 0, fromOrigin: 0, uploaded: 0, ok: false }
}

/** A visit counts as ok only with every byte and the asset's SHA-256 (when the page reports one). */
function checkBytes (v: CrowdVisitor, asset: CrowdAsset): void {
  if (!v.ok) return
  if (v.bytes !== asset.size) {
    v.ok = false
    v.error = `got ${v.bytes} of ${asset.size} bytes`
  } else if (v.sha256 != null && v.sha256 !== asset.sha256) {
    v.ok = false
    v.error = 'bytes differ from the asset (SHA-256)'
  }
}

function summarizeRun (r: SystemRun): string {
  const ok = r.visitors.filter(v => v.ok)
  const peers = ok.reduce((s, v) => s + v.fromPeers, 0)
  const all = ok.reduce((s, v) => s + v.fromPeers + v.fromOrigin, 0)
  const last = r.lastCompletionMs != null ? `${(r.lastCompletionMs / 1000).toFixed(1)} s` : '—'
  return `${ok.length}/${r.visitors.length} ok, last done after ${last}, ${(peers / MiB).toFixed(1)} of ${(all / MiB).toFixed(1)} MiB from peers; origin sent ${(r.origin.bytesServed / MiB).toFixed(1)} MiB`
}
