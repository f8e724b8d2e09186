// DHT simulation benchmark: real libp2p nodes with the real kad-dht (our protocol and
// options) in one Node process over @libp2p/memory with a user-space latency model, at
// growing network sizes. Per size: build time, memory per node, provide / findProviders /
// findPeer latency, hops and success rate. Each size runs in a child process of its own
// (so memory is measured from a clean baseline, with a heap sized for it); growth stops at
// the first size that would not fit in memory or time.
//
//   node benchmarks/dht-sim.ts [--sizes 100,300,1000] [--out FILE] …   (node benchmarks/dht-sim.ts --help)
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_MAX_CONNECTIONS } from '../src/node/constants.ts'
import { machineBusyShare } from './lib/proc.ts'
import { runSize } from './lib/dht-sim/run-size.ts'
import { roundTo, table } from './lib/stats.ts'
import { lineChartSvg } from './lib/svg-line-chart.ts'
import type { SizeOptions, SizeResult } from './lib/dht-sim/run-size.ts'
import type { SimStack } from './lib/dht-sim/network.ts'

const ROOT = new URL('..', import.meta.url).pathname
// the script as invoked (a symlink stays a symlink), for the per-size child processes
const SELF = process.argv[1] ?? new URL(import.meta.url).pathname
const MiB = 1024 * 1024

const HELP = `Usage: node benchmarks/dht-sim.ts [options]      (or: npm run bench -- dht-sim [options])

Builds DHT networks of growing size in one process (real libp2p + kad-dht nodes on the
in-memory transport with a latency model), measures build time, memory per node and
lookup latency / hops / success, and writes JSON (default
benchmarks/results/dht-sim-<YYYY-MM-DD>.json) and an SVG chart beside it; a table goes to
stdout, progress to stderr.

  --sizes <list>            network sizes, ascending (default 100,300,1000,3000,10000)
  --lookups <n>             CIDs provided (each by a random node) and looked up by another
                            random node, and as many findPeer lookups (default 50)
  --latency-ms <ms>         mean one-way delay; per pair uniform in [0.4, 1.4) x 0.9 x mean
                            plus per-message exponential jitter of mean 0.1 x mean (default 20)
  --stack <noise|plaintext> connection encrypter: noise (as our nodes) or plaintext/2.0.0
                            (lighter, unencrypted); yamux either way (default noise)
  --max-connections <n>     open connections a node keeps at most (default 64, our default)
  --time-budget <s>         per size: stop growing the network after this long building (default 600)
  --total-budget <s>        whole run: no new size starts once this is spent (default 1200)
  --max-heap <MiB>          V8 heap limit of each size's process (default: 70 % of RAM)
  --rss-limit-pct <p>       stop growing when RSS would pass p % of RAM (default 70)
  --bootstrap-dials <n>     random joined nodes each new node dials (default 3)
  --join-concurrency <n>    nodes joining at once (default 8)
  --join-timeout-ms <ms>    a join (dials + kad-dht's first self-lookup) fails after (default 120000)
  --lookup-timeout-ms <ms>  deadline of one findProviders / findPeer (default 30000)
  --provide-timeout-ms <ms> deadline of one provide (default 120000)
  --lookup-concurrency <n>  lookups in flight at once (default 1: one at a time)
  --provide-concurrency <n> provides (the lookups' setup) in flight at once (default 8)
  --settle-s <s>            idle time after the build before measuring (default 10)
  --seed <n>                seed of the node choices (default 1)
  --out <file>              where to write the JSON (the SVG goes beside it)
  -h, --help                show this help`

interface Options extends Omit<SizeOptions, 'n' | 'buildBudgetMs' | 'rssLimitBytes' | 'settleMs' | 'stopNodes' | 'progress'> {
  sizes: number[]
  timeBudgetS: number
  totalBudgetS: number
  maxHeapMiB: number
  rssLimitPct: number
  settleS: number
  out: string
  /** internal: run one size in this process and write its result here */
  childResult?: string
  childN?: number
  childBuildBudgetS?: number
}

class UsageError extends Error {}

function positive (name: string, value: string | undefined, fallback: number, allowZero = false): number {
  if (value == null) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new UsageError(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${JSON.stringify(value)}`)
  return n
}

function parseOptions (argv: string[]): Options | undefined {
  const names = [
    'sizes', 'lookups', 'latency-ms', 'stack', 'max-connections', 'time-budget', 'total-budget', 'max-heap', 'rss-limit-pct',
    'bootstrap-dials', 'join-concurrency', 'join-timeout-ms', 'lookup-timeout-ms', 'provide-timeout-ms', 'lookup-concurrency',
    'provide-concurrency', 'settle-s', 'seed', 'out', 'child-result', 'child-n', 'child-build-budget-s'
  ]
  const spec: Record<string, { type: 'string' } | { type: 'boolean', short: string }> = { help: { type: 'boolean', short: 'h' } }
  for (const name of names) spec[name] = { type: 'string' }
  const { values: v } = parseArgs({ args: argv, strict: true, options: spec })
  const s = v as Record<string, string | undefined> & { help?: boolean }
  if (s.help === true) return undefined
  const sizes = (s.sizes ?? '100,300,1000,3000,10000').split(',').map(x => positive('sizes', x.trim(), 0))
  if (sizes.some(n => !Number.isInteger(n) || n < 2)) throw new UsageError('--sizes must list whole numbers of at least 2')
  if (sizes.some((n, i) => i > 0 && n <= sizes[i - 1]!)) throw new UsageError('--sizes must be ascending')
  const stack = s.stack ?? 'noise'
  if (stack !== 'noise' && stack !== 'plaintext') throw new UsageError(`--stack must be noise or plaintext, got ${JSON.stringify(stack)}`)
  const rssLimitPct = positive('rss-limit-pct', s['rss-limit-pct'], 70)
  if (rssLimitPct > 95) throw new UsageError('--rss-limit-pct must be at most 95')
  return {
    sizes,
    lookups: positive('lookups', s.lookups, 50, true),
    latencyMs: positive('latency-ms', s['latency-ms'], 20, true),
    stack: stack as SimStack,
    maxConnections: positive('max-connections', s['max-connections'], DEFAULT_MAX_CONNECTIONS),
    seed: positive('seed', s.seed, 1, true),
    bootstrapDials: positive('bootstrap-dials', s['bootstrap-dials'], 3),
    joinConcurrency: positive('join-concurrency', s['join-concurrency'], 8),
    joinTimeoutMs: positive('join-timeout-ms', s['join-timeout-ms'], 120_000),
    lookupTimeoutMs: positive('lookup-timeout-ms', s['lookup-timeout-ms'], 30_000),
    provideTimeoutMs: positive('provide-timeout-ms', s['provide-timeout-ms'], 120_000),
    lookupConcurrency: positive('lookup-concurrency', s['lookup-concurrency'], 1),
    provideConcurrency: positive('provide-concurrency', s['provide-concurrency'], 8),
    timeBudgetS: positive('time-budget', s['time-budget'], 600),
    totalBudgetS: positive('total-budget', s['total-budget'], 1200),
    maxHeapMiB: positive('max-heap', s['max-heap'], Math.floor(os.totalmem() * 0.7 / MiB)),
    rssLimitPct,
    settleS: positive('settle-s', s['settle-s'], 10, true),
    out: resolve(s.out ?? `${ROOT}benchmarks/results/dht-sim-${new Date().toISOString().slice(0, 10)}.json`),
    ...(s['child-result'] != null ? { childResult: s['child-result'] } : {}),
    ...(s['child-n'] != null ? { childN: positive('child-n', s['child-n'], 2) } : {}),
    ...(s['child-build-budget-s'] != null ? { childBuildBudgetS: positive('child-build-budget-s', s['child-build-budget-s'], 1) } : {})
  }
}

function progress (line: string): void {
  process.stderr.write(`[dht-sim ${new Date().toISOString().slice(11, 19)}] ${line}\n`)
}

function sizeOptions (o: Options, n: number, buildBudgetS: number): SizeOptions {
  return {
    n,
    lookups: o.lookups,
    latencyMs: o.latencyMs,
    stack: o.stack,
    maxConnections: o.maxConnections,
    seed: o.seed,
    bootstrapDials: o.bootstrapDials,
    joinConcurrency: o.joinConcurrency,
    joinTimeoutMs: o.joinTimeoutMs,
    lookupTimeoutMs: o.lookupTimeoutMs,
    provideTimeoutMs: o.provideTimeoutMs,
    lookupConcurrency: o.lookupConcurrency,
    provideConcurrency: o.provideConcurrency,
    buildBudgetMs: buildBudgetS * 1000,
    rssLimitBytes: Math.floor(os.totalmem() * o.rssLimitPct / 100),
    settleMs: o.settleS * 1000,
    stopNodes: false,
    progress
  }
}

/** Every option again, for the child process of one size. */
function childArgs (o: Options, n: number, buildBudgetS: number, resultFile: string): string[] {
  return [
    `--max-old-space-size=${o.maxHeapMiB}`, '--expose-gc', SELF,
    '--child-result', resultFile, '--child-n', String(n), '--child-build-budget-s', String(Math.max(1, Math.floor(buildBudgetS))),
    '--lookups', String(o.lookups), '--latency-ms', String(o.latencyMs), '--stack', o.stack, '--max-connections', String(o.maxConnections), '--seed', String(o.seed),
    '--bootstrap-dials', String(o.bootstrapDials), '--join-concurrency', String(o.joinConcurrency),
    '--join-timeout-ms', String(o.joinTimeoutMs), '--lookup-timeout-ms', String(o.lookupTimeoutMs), '--provide-timeout-ms', String(o.provideTimeoutMs),
    '--lookup-concurrency', String(o.lookupConcurrency), '--provide-concurrency', String(o.provideConcurrency), '--settle-s', String(o.settleS), '--rss-limit-pct', String(o.rssLimitPct)
  ]
}

let child: ReturnType<typeof spawn> | undefined
/** The size running now: a signal saves what its process measured so far */
let running: { n: number, resultFile: string } | undefined

async function runChild (o: Options, n: number, buildBudgetS: number): Promise<SizeResult> {
  const resultFile = `${o.out}.${n}.tmp.json`
  await rm(resultFile, { force: true })
  const proc = spawn(process.execPath, childArgs(o, n, buildBudgetS, resultFile), { stdio: ['ignore', 'inherit', 'inherit'] })
  child = proc
  running = { n, resultFile }
  const code = await new Promise<number | null>(resolve => proc.on('exit', (c, signal) => { resolve(c ?? (signal != null ? -1 : null)) }))
  child = undefined
  running = undefined
  let result: SizeResult
  try {
    result = JSON.parse(await readFile(resultFile, 'utf8')) as SizeResult
  } catch {
    throw new Error(`the process for ${n} nodes exited with ${code} and no result (out of memory?)`)
  }
  await rm(resultFile, { force: true })
  if (result.phase !== 'done') result.stoppedBy ??= `its process exited with ${code} after phase ${result.phase}`
  return result
}

interface Output {
  scenario: 'dht-sim'
  startedAt: string
  machine: Record<string, unknown>
  code: { commit?: string, uncommittedInBenchmarks?: string[] }
  options: Omit<Options, 'childResult' | 'childN' | 'childBuildBudgetS'>
  configuration: Record<string, string>
  sizes: SizeResult[]
  /** sizes not run, and why */
  notRun: Array<{ n: number, reason: string }>
  /** Memory per extra node between successive sizes: fixed costs (code, JIT) cancel out */
  marginalPerNode: Array<{ from: number, to: number, rssKiB: number, heapKiB: number }>
  largestReached?: number
  stoppedBecause?: string
  wallS?: number
}

function git (args: string[]): string | undefined {
  try { return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim() } catch { return undefined }
}

function chartOf (out: Output): string {
  const ok = out.sizes.filter(s => s.findProviders.ms != null || s.findPeer.ms != null)
  const points = (pick: (s: SizeResult) => number | undefined): Array<[number, number]> =>
    ok.flatMap(s => { const y = pick(s); return y == null ? [] : [[s.reached, y] as [number, number]] })
  return lineChartSvg({
    title: 'DHT lookup latency vs network size',
    note: `kad-dht ${out.configuration.kadDht}, ${out.options.stack} + yamux, ${out.options.latencyMs} ms mean one-way delay, ${out.machine.cpus as number} × CPU (shared), ${out.startedAt.slice(0, 10)}`,
    xLabel: 'nodes (log scale)',
    yLabel: 'lookup latency (ms)',
    logX: true,
    series: [
      { name: 'findProviders p50', color: '#1f77b4', points: points(s => s.findProviders.ms?.p50) },
      { name: 'findProviders p95', color: '#1f77b4', dashed: true, points: points(s => s.findProviders.ms?.p95) },
      { name: 'findPeer p50', color: '#d62728', points: points(s => s.findPeer.ms?.p50) },
      { name: 'findPeer p95', color: '#d62728', dashed: true, points: points(s => s.findPeer.ms?.p95) }
    ]
  })
}

function summaryTable (out: Output): string {
  const f = (x: number | undefined): string => x == null ? '—' : String(Math.round(x))
  const rows: Array<Array<string | number>> = [['N (reached)', 'build s', 'join p50 s', 'RSS/node KiB', 'heap/node KiB', 'rt p50', 'conns p50', 'provide p50', 'findProv p50/p95 ms', 'ok', 'ok (stored)', 'hops p50', 'findPeer p50/p95 ms', 'ok', 'idle cores', 'others']]
  for (const s of out.sizes) {
    rows.push([
      s.reached === s.n ? String(s.n) : `${s.n} (${s.reached})`,
      roundTo(s.build.ms / 1000, 0), s.build.joinMs == null ? '—' : roundTo(s.build.joinMs.p50 / 1000, 1),
      s.memory.rssPerNodeKiB, s.memory.heapPerNodeKiB, f(s.network.routingTable?.p50), f(s.network.openConnections?.p50),
      f(s.provide.ms?.p50),
      `${f(s.findProviders.ms?.p50)} / ${f(s.findProviders.ms?.p95)}`, `${s.findProviders.succeeded}/${s.findProviders.attempted}`,
      s.findProviders.whereStored == null ? '—' : `${s.findProviders.whereStored.succeeded}/${s.findProviders.whereStored.attempted}`, f(s.findProviders.hops?.p50),
      `${f(s.findPeer.ms?.p50)} / ${f(s.findPeer.ms?.p95)}`, `${s.findPeer.succeeded}/${s.findPeer.attempted}`,
      s.settle.ourCores, s.lookupCpu.otherProcessesShare
    ])
  }
  return table(rows)
}

async function runChildMode (o: Options): Promise<void> {
  const file = o.childResult!
  // write-then-rename, so the parent never reads half a file
  const write = (result: SizeResult): void => {
    writeFileSync(`${file}.part`, JSON.stringify(result))
    renameSync(`${file}.part`, file)
  }
  const result = await runSize({ ...sizeOptions(o, o.childN!, o.childBuildBudgetS ?? o.timeBudgetS), onPartial: write })
  write(result)
  // thousands of nodes stop slowly and the process ends here anyway
  process.exit(0)
}

async function main (): Promise<void> {
  let o: Options | undefined
  try {
    o = parseOptions(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`dht-sim: ${(err as Error).message}\n`)
    process.exit(2)
  }
  if (o == null) {
    process.stdout.write(HELP + '\n')
    return
  }
  if (o.childResult != null) return runChildMode(o)

  const started = performance.now()
  const cpus = os.cpus()
  const { childResult: _r, childN: _n, childBuildBudgetS: _b, ...options } = o
  const kadVersion = JSON.parse(await readFile(`${ROOT}node_modules/@libp2p/kad-dht/package.json`, 'utf8')).version as string
  const libp2pVersion = JSON.parse(await readFile(`${ROOT}node_modules/libp2p/package.json`, 'utf8')).version as string
  const out: Output = {
    scenario: 'dht-sim',
    startedAt: new Date().toISOString(),
    machine: {
      cpuModel: cpus[0]?.model.trim(),
      cpus: cpus.length,
      totalMemoryGiB: roundTo(os.totalmem() / 1024 ** 3, 1),
      node: process.version,
      loadAverageAtStart: os.loadavg().map(x => roundTo(x, 2)),
      busyShareBeforeStart: roundTo(await machineBusyShare(3000, cpus.length), 2)
    },
    code: {
      commit: git(['rev-parse', 'HEAD']),
      uncommittedInBenchmarks: git(['status', '--porcelain', '--', 'benchmarks'])?.split('\n').filter(Boolean)
    },
    options,
    configuration: {
      libp2p: libp2pVersion,
      kadDht: kadVersion,
      transport: '@libp2p/memory wrapped by benchmarks/lib/dht-sim/latency.ts (per-pair base + jitter, FIFO, +1 RTT per dial)',
      encrypter: o.stack === 'noise' ? '@chainsafe/libp2p-noise' : 'plaintext/2.0.0 (benchmarks/lib/dht-sim/plaintext.ts, no encryption)',
      muxer: '@chainsafe/libp2p-yamux',
      services: 'identify, ping, kad-dht (protocol /swarmsite/kad/1.0.0, server mode, passthroughMapper, our provider validity / reprovide interval)',
      connectionManager: `maxConnections ${o.maxConnections}${o.maxConnections === DEFAULT_MAX_CONNECTIONS ? ' (our default)' : ` (ours is ${DEFAULT_MAX_CONNECTIONS})`}, connection monitor off, loggers silenced`,
      join: `start, dial ${o.bootstrapDials} random joined nodes, wait for kad-dht's first self-lookup`
    },
    sizes: [],
    notRun: [],
    marginalPerNode: []
  }
  progress(`machine: ${cpus.length} × ${String(out.machine.cpuModel)}, ${Math.round(out.machine.busyShareBeforeStart as number * 100)} % busy before start (load average ${(out.machine.loadAverageAtStart as number[]).join(' ')})`)
  if ((out.machine.busyShareBeforeStart as number) > 0.2) progress('warning: other processes are using the CPU; figures will be slower than on a quiet machine')

  const save = async (): Promise<void> => {
    out.marginalPerNode = out.sizes.slice(1).map((s, i) => {
      const p = out.sizes[i]!
      const extra = s.reached - p.reached
      return { from: p.reached, to: s.reached, rssKiB: Math.round((s.memory.rssMiB - p.memory.rssMiB) * 1024 / extra), heapKiB: Math.round((s.memory.heapUsedMiB - p.memory.heapUsedMiB) * 1024 / extra) }
    }).filter(m => m.to > m.from)
    out.wallS = roundTo((performance.now() - started) / 1000, 0)
    await mkdir(dirname(o.out), { recursive: true })
    await writeFile(o.out, JSON.stringify(out, null, 2) + '\n')
    await writeFile(o.out.replace(/\.json$/, '') + '.svg', chartOf(out) + '\n')
  }
  saveAborted = (signal) => {
    if (running != null) {
      try {
        const partial = JSON.parse(readFileSync(running.resultFile, 'utf8')) as SizeResult
        partial.stoppedBy = `${signal} after phase ${partial.phase}`
        out.sizes.push(partial)
      } catch {}
    }
    out.stoppedBecause = `${signal} during ${running?.n ?? '—'} nodes`
    out.wallS = roundTo((performance.now() - started) / 1000, 0)
    const file = o.out.replace(/\.json$/, '') + '.aborted.json'
    writeFileSync(file, JSON.stringify(out, null, 2) + '\n')
    progress(`${signal}: wrote ${relative(process.cwd(), file)}`)
  }
  // the children write their results beside the output
  await mkdir(dirname(o.out), { recursive: true })
  const rssLimit = Math.floor(os.totalmem() * o.rssLimitPct / 100)
  for (const [i, n] of o.sizes.entries()) {
    const prev = out.sizes.at(-1)
    const elapsedS = (performance.now() - started) / 1000
    const remainingS = o.totalBudgetS - elapsedS
    let skip: string | undefined
    if (prev?.stoppedBy != null) skip = `the previous size stopped early (${prev.stoppedBy})`
    else if (prev != null && prev.memory.rssBaselineMiB * MiB + Math.max(prev.memory.rssPerNodeKiB, prev.memory.afterLookups?.rssPerNodeKiB ?? 0) * 1024 * n > rssLimit) {
      skip = `memory: ${n} nodes at ${prev.memory.afterLookups?.rssPerNodeKiB ?? prev.memory.rssPerNodeKiB} KiB each would pass ${o.rssLimitPct} % of RAM (${Math.round(rssLimit / MiB)} MiB)`
    } else if (remainingS < 60) skip = `time: the total budget of ${o.totalBudgetS} s is spent`
    if (skip != null) {
      for (const m of o.sizes.slice(i)) out.notRun.push({ n: m, reason: m === n ? skip : 'not reached' })
      out.stoppedBecause = skip
      break
    }
    // keep a few minutes of the total for settling and lookups
    const buildBudgetS = Math.min(o.timeBudgetS, Math.max(30, remainingS - 150))
    if (prev != null) {
      const neededS = n / prev.build.nodesPerSecond
      progress(`${n} nodes: the last size built ${prev.build.nodesPerSecond} nodes/s, so about ${Math.round(neededS)} s; build budget ${Math.round(buildBudgetS)} s`)
      // a build cut at a small fraction of its size measures nothing new
      if (neededS > 2 * buildBudgetS) {
        const reason = `time: about ${Math.round(neededS)} s of building needed at the last size's rate, ${Math.round(buildBudgetS)} s left in the budget`
        for (const m of o.sizes.slice(i)) out.notRun.push({ n: m, reason: m === n ? reason : 'not reached' })
        out.stoppedBecause = reason
        break
      }
    }
    progress(`${n} nodes (${o.stack}, ${o.latencyMs} ms):`)
    let result: SizeResult
    try {
      result = await runChild(o, n, buildBudgetS)
    } catch (err) {
      out.notRun.push({ n, reason: (err as Error).message })
      out.stoppedBecause = (err as Error).message
      progress((err as Error).message)
      break
    }
    out.sizes.push(result)
    progress(`${n} nodes done: findProviders ${result.findProviders.succeeded}/${result.findProviders.attempted} p50 ${result.findProviders.ms?.p50} ms, findPeer ${result.findPeer.succeeded}/${result.findPeer.attempted} p50 ${result.findPeer.ms?.p50} ms`)
    await save()
  }
  const measured = out.sizes.filter(s => s.findProviders.attempted > 0)
  out.largestReached = Math.max(0, ...measured.map(s => s.reached))
  if (out.stoppedBecause == null && out.sizes.at(-1)?.stoppedBy != null) out.stoppedBecause = out.sizes.at(-1)!.stoppedBy
  await save()
  process.stdout.write(`DHT simulation: ${o.stack} + yamux, ${o.latencyMs} ms one-way, ${o.lookups} lookups per kind; ${cpus.length} × ${String(out.machine.cpuModel)}, ${String(out.machine.totalMemoryGiB)} GiB, ${process.version}\n`)
  process.stdout.write(summaryTable(out) + '\n')
  for (const m of out.marginalPerNode) process.stdout.write(`memory per extra node from ${m.from} to ${m.to} nodes: ${m.rssKiB} KiB RSS, ${m.heapKiB} KiB V8 heap\n`)
  process.stdout.write(`largest network measured: ${out.largestReached} nodes${out.stoppedBecause != null ? `; stopped: ${out.stoppedBecause}` : ''}\n`)
  process.stdout.write(`results: ${relative(process.cwd(), o.out)} (+ .svg)\n`)
}

/** Set by main: writes what the run has to <out>.aborted.json */
let saveAborted: ((signal: string) => void) | undefined

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    child?.kill('SIGKILL')
    try { saveAborted?.(signal) } catch {}
    process.exit(signal === 'SIGINT' ? 130 : 143)
  })
}

await main()
