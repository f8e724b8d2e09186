// One network size: build it, let it settle, measure memory, run the lookups.
import { cpus, totalmem } from 'node:os'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { getHeapStatistics } from 'node:v8'
import { machineCpuSeconds } from '../proc.ts'
import { roundTo, seededRandom, summarize, tally } from '../stats.ts'
import { pool, randomCid, timeFindPeer, timeFindProviders, timeProvide } from './lookups.ts'
import { buildNetwork, routingTableSize, simCounters, stopAll } from './network.ts'
import type { LookupSample, ProvideSample } from './lookups.ts'
import type { SimNode, SimStack } from './network.ts'
import type { Summary } from '../stats.ts'

export interface SizeOptions {
  n: number
  lookups: number
  /** Mean one-way delay (ms). */
  latencyMs: number
  stack: SimStack
  /** Open connections per node (our default is 64) */
  maxConnections: number
  seed: number
  bootstrapDials: number
  joinConcurrency: number
  joinTimeoutMs: number
  lookupTimeoutMs: number
  /** Deadline of one provide: its FIND_NODE query must end before any ADD_PROVIDER goes out (ms) */
  provideTimeoutMs: number
  lookupConcurrency: number
  /** Provides in flight at once: they set the lookups up, so they need not queue one by one */
  provideConcurrency: number
  /** The build stops growing the network after this long (ms). */
  buildBudgetMs: number
  /** The build stops growing the network when RSS passes this (bytes). */
  rssLimitBytes: number
  /** Quiet time after the build, before memory and lookups are measured (ms). */
  settleMs: number
  /** Stop the nodes at the end (a child process that exits anyway can skip it). */
  stopNodes: boolean
  progress?: (line: string) => void
  /** Called with the result so far after the build and after each lookup phase */
  onPartial?: (result: SizeResult) => void
}

/** CPU use of a phase: ours (this process) and the rest of the machine. */
export interface PhaseCpu {
  wallS: number
  /** Our CPU seconds / wall seconds (1 = one core; we run on one thread) */
  ourCores: number
  /** Busy share of the whole machine (0..1 of all cores) */
  machineBusyShare: number
  /** Share of the machine (0..1) other processes took meanwhile */
  otherProcessesShare: number
  /** Event loop delay p50 / p99 (ms): how late a due timer or I/O callback ran */
  loopDelayP50Ms: number
  loopDelayP99Ms: number
}

export interface LookupStats {
  attempted: number
  succeeded: number
  successRate: number
  ms: Summary | null
  hops: Summary | null
  rpcs: Summary | null
  errors: Record<string, number>
}

export interface SizeResult {
  /** How far this size got: a run cut short (signal, crash) keeps what it measured */
  phase: 'built' | 'provided' | 'providers-found' | 'done'
  n: number
  /** Nodes actually built (< n when the build was stopped early) */
  reached: number
  stoppedBy?: string
  build: {
    ms: number
    joinMs: Summary | null
    joinsFailed: number
    bootstrapDialsFailed: number
    nodesPerSecond: number
    cpu: PhaseCpu
  }
  /** After the build and settle time, after a full GC */
  memory: {
    rssBaselineMiB: number
    rssMiB: number
    heapUsedMiB: number
    heapLimitMiB: number
    rssPerNodeKiB: number
    heapPerNodeKiB: number
    externalPerNodeKiB: number
    /** Peak RSS of the process so far */
    maxRssMiB: number
    afterLookups?: { rssMiB: number, rssPerNodeKiB: number, heapPerNodeKiB: number }
  }
  network: {
    routingTable: Summary | null
    openConnections: Summary | null
    /** connection:open events per node during the build (each connection counts at both ends) */
    connectionsOpenedPerNode: number
  }
  /** The network left alone after the build: what kad-dht maintenance costs */
  settle: PhaseCpu
  /** `provideConcurrency` at a time, so `ms` includes some queueing for CPU */
  provide: { attempted: number, succeeded: number, ms: Summary | null, storedOn: Summary | null, errors: Record<string, number> }
  findProviders: LookupStats & {
    /** Only the lookups whose provide reached at least one peer (the record exists somewhere) */
    whereStored: { attempted: number, succeeded: number, successRate: number }
  }
  findPeer: LookupStats
  lookupCpu: PhaseCpu
  /** Every provide and lookup, in plan order (ms rounded to 0.1) */
  samples?: { provide: ProvideSample[], findProviders: LookupSample[], findPeer: LookupSample[] }
}

const MiB = 1024 * 1024

function gc (): void {
  (globalThis as { gc?: () => void }).gc?.()
}

/** Measures CPU and event-loop delay from now until the returned function is called. */
function cpuPhase (): () => PhaseCpu {
  const cores = cpus().length
  const wall0 = performance.now()
  const ours0 = process.cpuUsage()
  const machine0 = machineCpuSeconds()
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  return () => {
    delay.disable()
    const wallS = (performance.now() - wall0) / 1000
    const ours = process.cpuUsage(ours0)
    const oursS = (ours.user + ours.system) / 1e6
    const machine = machineCpuSeconds()
    const busyS = machine.busy - machine0.busy
    return {
      wallS: roundTo(wallS, 1),
      ourCores: roundTo(oursS / wallS, 2),
      machineBusyShare: roundTo(busyS / (wallS * cores), 2),
      otherProcessesShare: roundTo(Math.max(0, busyS - oursS - (machine.irq - machine0.irq)) / (wallS * cores), 2),
      loopDelayP50Ms: roundTo(delay.percentile(50) / 1e6, 1),
      loopDelayP99Ms: roundTo(delay.percentile(99) / 1e6, 1)
    }
  }
}

function lookupStats (samples: LookupSample[]): LookupStats {
  const ok = samples.filter(s => s.ok)
  return {
    attempted: samples.length,
    succeeded: ok.length,
    successRate: samples.length === 0 ? 0 : roundTo(ok.length / samples.length, 3),
    ms: summarize(ok.map(s => s.ms)),
    hops: summarize(ok.map(s => s.hops ?? 0)),
    rpcs: summarize(ok.map(s => s.rpcs)),
    errors: tally(samples.filter(s => !s.ok).map(s => s.error ?? 'unknown'))
  }
}

/** Two distinct random indexes below n. */
function pair (n: number, random: () => number): [number, number] {
  const a = Math.floor(random() * n)
  const b = (a + 1 + Math.floor(random() * (n - 1))) % n
  return [a, b]
}

export async function runSize (options: SizeOptions): Promise<SizeResult> {
  const log = options.progress ?? (() => {})
  const random = seededRandom(options.seed)
  gc()
  const baseline = process.memoryUsage()
  const heapLimit = getHeapStatistics().heap_size_limit
  const built = performance.now()
  const buildCpu = cpuPhase()
  const openedBefore = simCounters.connectionsOpened
  let lastLog = performance.now()

  const build = await buildNetwork({
    n: options.n,
    tag: `dht-sim-${process.pid}-${options.n}-${Date.now()}`,
    latency: { oneWayMeanMs: options.latencyMs, seed: options.seed },
    stack: options.stack,
    maxConnections: options.maxConnections,
    bootstrapDials: options.bootstrapDials,
    concurrency: options.joinConcurrency,
    joinTimeoutMs: options.joinTimeoutMs,
    random,
    shouldStop: () => {
      const m = process.memoryUsage()
      if (m.rss > options.rssLimitBytes) return `memory: RSS ${Math.round(m.rss / MiB)} MiB passed the limit of ${Math.round(options.rssLimitBytes / MiB)} MiB`
      if (m.heapUsed > 0.85 * heapLimit) return `memory: V8 heap ${Math.round(m.heapUsed / MiB)} MiB passed 85 % of its ${Math.round(heapLimit / MiB)} MiB limit`
      if (performance.now() - built > options.buildBudgetMs) return `time: the build budget of ${Math.round(options.buildBudgetMs / 1000)} s ran out`
      return undefined
    },
    onProgress: (count) => {
      if (performance.now() - lastLog > 10_000 || count === options.n) {
        lastLog = performance.now()
        log(`  built ${count}/${options.n} nodes in ${Math.round((performance.now() - built) / 1000)} s, RSS ${Math.round(process.memoryUsage().rss / MiB)} MiB`)
      }
    }
  })
  const buildPhase = buildCpu()
  const nodes = build.nodes
  const reached = nodes.length
  if (build.stoppedBy != null) log(`  build stopped at ${reached} nodes: ${build.stoppedBy}`)

  log(`  settling for ${Math.round(options.settleMs / 1000)} s`)
  const settleCpu = cpuPhase()
  await new Promise(resolve => setTimeout(resolve, options.settleMs))
  const settle = settleCpu()
  gc()
  const after = process.memoryUsage()
  const perNode = (bytes: number): number => Math.round(bytes / reached / 1024)

  const result: SizeResult = {
    n: options.n,
    reached,
    ...(build.stoppedBy != null ? { stoppedBy: build.stoppedBy } : {}),
    build: {
      ms: Math.round(build.ms),
      joinMs: summarize(build.joins.map(j => j.ms)),
      joinsFailed: build.joins.filter(j => !j.selfLookupOk).length,
      bootstrapDialsFailed: build.joins.reduce((a, j) => a + j.dialsFailed, 0),
      nodesPerSecond: roundTo(reached / (build.ms / 1000), 1),
      cpu: buildPhase
    },
    memory: {
      rssBaselineMiB: Math.round(baseline.rss / MiB),
      rssMiB: Math.round(after.rss / MiB),
      heapUsedMiB: Math.round(after.heapUsed / MiB),
      heapLimitMiB: Math.round(heapLimit / MiB),
      rssPerNodeKiB: perNode(after.rss - baseline.rss),
      heapPerNodeKiB: perNode(after.heapUsed - baseline.heapUsed),
      externalPerNodeKiB: perNode(after.external - baseline.external),
      maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024)
    },
    network: {
      routingTable: summarize(nodes.map(routingTableSize)),
      openConnections: summarize(nodes.map(node => node.getConnections().length)),
      connectionsOpenedPerNode: roundTo((simCounters.connectionsOpened - openedBefore) / reached, 1)
    },
    settle,
    provide: { attempted: 0, succeeded: 0, ms: null, storedOn: null, errors: {} },
    findProviders: { ...lookupStats([]), whereStored: { attempted: 0, succeeded: 0, successRate: 0 } },
    findPeer: lookupStats([]),
    lookupCpu: settle,
    phase: 'built'
  }
  options.onPartial?.(result)
  log(`  ${reached} nodes: ${result.memory.rssPerNodeKiB} KiB RSS per node, routing table p50 ${result.network.routingTable?.p50}, open connections p50 ${result.network.openConnections?.p50}; idle maintenance ${settle.ourCores} cores`)

  if (reached >= 2 && options.lookups > 0) {
    const lookupCpu = cpuPhase()
    // each lookup gets its own CID, provided by a random node, found by another
    const plans = await Promise.all(Array.from({ length: options.lookups }, async () => {
      const [provider, querier] = pair(reached, random)
      return { provider: nodes[provider]!, querier: nodes[querier]!, cid: await randomCid(random) }
    }))
    const r1 = <T extends { ms: number }>(list: T[]): T[] => list.map(x => ({ ...x, ms: roundTo(x.ms, 1) }))
    log(`  providing ${plans.length} CIDs`)
    const provides: ProvideSample[] = await pool(plans.map(p => async () => timeProvide(p.provider, p.cid, options.provideTimeoutMs)), options.provideConcurrency)
    result.provide = {
      attempted: provides.length,
      succeeded: provides.filter(p => p.ok).length,
      ms: summarize(provides.filter(p => p.ok).map(p => p.ms)),
      storedOn: summarize(provides.map(p => p.storedOn)),
      errors: tally(provides.filter(p => !p.ok).map(p => p.error ?? 'stored on no peer'))
    }
    result.samples = { provide: r1(provides), findProviders: [], findPeer: [] }
    result.phase = 'provided'
    options.onPartial?.(result)

    log(`  findProviders × ${plans.length}`)
    const found = await pool(plans.map(p => async () => timeFindProviders(p.querier, p.cid, p.provider.peerId, options.lookupTimeoutMs)), options.lookupConcurrency)
    const stored = found.filter((_, i) => provides[i]!.storedOn > 0)
    const storedOk = stored.filter(f => f.ok).length
    result.findProviders = {
      ...lookupStats(found),
      whereStored: { attempted: stored.length, succeeded: storedOk, successRate: stored.length === 0 ? 0 : roundTo(storedOk / stored.length, 3) }
    }
    result.samples.findProviders = r1(found)
    result.phase = 'providers-found'
    options.onPartial?.(result)

    log(`  findPeer × ${plans.length}`)
    const targets = plans.map(() => pair(reached, random))
    const peers = await pool(targets.map(([target, querier]) => async () => timeFindPeer(nodes[querier]!, nodes[target]!.peerId, options.lookupTimeoutMs)), options.lookupConcurrency)
    result.lookupCpu = lookupCpu()
    result.findPeer = lookupStats(peers)
    result.samples.findPeer = r1(peers)
    gc()
    const end = process.memoryUsage()
    result.memory.afterLookups = {
      rssMiB: Math.round(end.rss / MiB),
      rssPerNodeKiB: perNode(end.rss - baseline.rss),
      heapPerNodeKiB: perNode(end.heapUsed - baseline.heapUsed)
    }
    result.memory.maxRssMiB = Math.round(process.resourceUsage().maxRSS / 1024)
  }
  result.phase = 'done'
  if (options.stopNodes) await stopAll(nodes)
  return result
}

/** 70 % of the machine's memory: where the build stops growing by default. */
export function defaultRssLimitBytes (): number {
  return Math.floor(totalmem() * 0.7)
}

export type { SimNode }
