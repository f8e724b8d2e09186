// Crowd benchmarks: N visitors load one asset while the origin is capped; our swarm against
// plain HTTP (and WebTorrent, when its driver is present) on the same asset, origin and pages.
// Scenarios: flash-crowd, staggered, unconstrained. Runs itself in a loopback-only netns.
//
//   node benchmarks/crowd.ts flash-crowd [--peers N] …      (node benchmarks/crowd.ts --help)
import { existsSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, relative, resolve } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { makeAsset } from './crowd/asset.ts'
import { UsageError, parseDuration, parseRate, parseSize } from './crowd/units.ts'
import { kumarRossBound } from './crowd/bound.ts'
import { codeVersion, machineInfo } from './crowd/machine.ts'
import { progressDisplay } from './crowd/progress.ts'
import { charts, markdownReport, summarizeCrowd, terminalReport } from './crowd/report.ts'
import { DEFAULT_NODE_VISITORS_PER_PROCESS, arrivalSchedule, runCrowd } from './crowd/runner.ts'
import { httpSystem } from './crowd/systems/http.ts'
import { swarmSystem } from './crowd/systems/swarm.ts'
import { descendants, listProcesses } from './lib/proc.ts'
import { reexecInNetns } from './lib/netns.ts'
import type { CrowdResult } from './crowd/report.ts'
import type { ArrivalKind, SystemRun, VisitorMix } from './crowd/runner.ts'
import type { CrowdAsset, SystemDriver } from './crowd/types.ts'

const ROOT = new URL('..', import.meta.url).pathname
const WEBTORRENT = new URL('./crowd/systems/webtorrent.ts', import.meta.url).pathname

export const SCENARIOS: Record<string, { arrival: ArrivalKind, arrivalMs: number, originRate: string, summary: string }> = {
  'flash-crowd': { arrival: 'window', arrivalMs: 2000, originRate: '2MiB/s', summary: 'N visitors arrive within a short window, each loads one asset (origin capped)' },
  staggered: { arrival: 'interval', arrivalMs: 3000, originRate: '2MiB/s', summary: 'visitors arrive one after another and stay, seeding, until the end (origin capped)' },
  unconstrained: { arrival: 'window', arrivalMs: 2000, originRate: 'none', summary: 'as flash-crowd with an uncapped origin: what the swarm costs a visitor' }
}

const HELP = `Usage: node benchmarks/crowd.ts <scenario> [options]      (or: npm run bench -- <scenario> [options])

Scenarios:
${Object.entries(SCENARIOS).map(([name, s]) => `  ${name.padEnd(14)} ${s.summary}`).join('\n')}

Each selected system runs on the same asset, origin cap and pages: a fresh origin, relay and
Chromium per system run, one browser context per visitor; visitors stay until the last is done.
Writes <out>.json (raw per-visitor data, machine), <out>.md, <out>-completion.svg and
<out>-bytes.svg; progress on stderr, a short table on stdout.

  --peers <n>            visitors (default 20)
  --visitors <kind>      chromium: every visitor a Chromium page (default); node: headless Node
                         visitors (the same library with node-datachannel WebRTC and a memory
                         store, each its own createSwarm), ${DEFAULT_NODE_VISITORS_PER_PROCESS} to a process; mixed:<k>: k Chromium
                         pages spread among the N, the rest Node visitors. Node visitors run only
                         systems with a Node visitor (swarm): --systems defaults to swarm then
  --node-per-process <n> Node visitors per host process (default ${DEFAULT_NODE_VISITORS_PER_PROCESS})
  --node-cpu-prof <dir>  run the Node visitor hosts under V8's profiler (node --cpu-prof): one
                         .cpuprofile per host in <dir>, covering its whole life (slower runs)
  --size <bytes>         asset size, e.g. 16MiB, 512KiB, 1000000 (default 16MiB)
  --origin-rate <rate>   origin cap shared by every visitor, e.g. 2MiB/s, or none
                         (default 2MiB/s; unconstrained: none)
  --upload-rate <rate>   each swarm visitor's upload cap, upload.maxBytesPerSecond (default 1MiB/s)
  --arrival <ms>         flash-crowd, unconstrained: the window visitors arrive in, evenly spread
                         (default 2000); staggered: the interval between arrivals (default 3000).
                         Bare numbers are ms; 2s, 500ms work too
  --runs <k>             runs of each system, alternating between systems (default 1)
  --systems <list>       comma-separated: swarm, http, webtorrent (default all three; webtorrent
                         is skipped with a note when benchmarks/crowd/systems/webtorrent.ts is absent)
  --timeout <s>          one run's deadline from its first arrival; visitors without a result by
                         then fail (default: last arrival + max(300 s, 2 × N·size / origin rate))
  --block-deadline-ms <ms>  the swarm's blockDeadlineMs (default: the library's, 1500)
  --upload-probe <on|off>   the swarm's upload congestion probe (default off: the upload cap
                         emulates each visitor's uplink, so no queue forms on any link, while
                         20 tabs and the relay on this machine's cores inflate every round
                         trip the probe measures; 'on' shows what that costs)
  --origin-ports <n>     ports the origin listens on, sharing one limiter (default ceil(Chromium
                         visitors / 2), at least 1: Node's fetch has no per-port connection cap)
  --out <base>           output path without extension (default benchmarks/results/<scenario>-<YYYY-MM-DD>)
  --no-renice            leave Chromium's renderer priorities alone (default: all set to nice 0)
  --profile-pages <n>    profile the JavaScript of n swarm visitor pages (spread over the arrival
                         order) with Chromium's sampling profiler from the first arrival to the last
                         result; self and total time by package, file and function go to
                         runs[].jsProfile and the report. The swarm page is then served unminified
                         and the profiler runs in those pages: such runs are slower (default 0)
  --profile-out <dir>    also write each profiled page's raw .cpuprofile there (opens in DevTools)
  -h, --help             show this help

  node benchmarks/crowd.ts --report <out>.json   rewrites <out>.md and the SVGs from a results file

Exit codes: 0 when every run ran (failed visitors are results), 1 when a run broke or the
deadline hit, 2 for bad arguments, 130/143 on SIGINT/SIGTERM (everything started is torn down,
partial results go to <out>.aborted.json).`

interface Options {
  scenario: string
  peers: number
  /** what --visitors gave, and the mix it means */
  visitorsArg: string
  visitors: Required<Omit<VisitorMix, 'nodeCpuProfDir'>> & Pick<VisitorMix, 'nodeCpuProfDir'>
  sizeBytes: number
  originBytesPerSecond: number
  uploadBytesPerSecond: number
  arrival: { kind: ArrivalKind, ms: number }
  runs: number
  systems: string[]
  runTimeoutMs: number
  blockDeadlineMs?: number
  uploadProbe: boolean
  originPorts: number
  out: string
  renice: boolean
  profilePages: number
  profileOut?: string
}

function parseOptions (argv: string[]): Options | undefined {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    allowNegative: true,
    options: {
      peers: { type: 'string' },
      visitors: { type: 'string' },
      'node-per-process': { type: 'string' },
      'node-cpu-prof': { type: 'string' },
      size: { type: 'string' },
      'origin-rate': { type: 'string' },
      'upload-rate': { type: 'string' },
      arrival: { type: 'string' },
      runs: { type: 'string' },
      systems: { type: 'string' },
      timeout: { type: 'string' },
      'block-deadline-ms': { type: 'string' },
      'upload-probe': { type: 'string' },
      'origin-ports': { type: 'string' },
      out: { type: 'string' },
      renice: { type: 'boolean' },
      'profile-pages': { type: 'string' },
      'profile-out': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) return undefined
  const scenario = positionals[0]
  if (scenario == null) throw new UsageError(`name a scenario: ${Object.keys(SCENARIOS).join(', ')}`)
  const spec = SCENARIOS[scenario]
  if (spec == null) throw new UsageError(`unknown scenario ${JSON.stringify(scenario)} (scenarios: ${Object.keys(SCENARIOS).join(', ')})`)
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`)
  const onOff = (name: string, value: string | undefined, fallback: boolean): boolean => {
    if (value == null) return fallback
    if (value === 'on' || value === 'off') return value === 'on'
    throw new UsageError(`--${name} must be on or off, got ${JSON.stringify(value)}`)
  }
  const int = (name: string, value: string | undefined, fallback: number, min: number): number => {
    if (value == null) return fallback
    const n = Number(value)
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`)
    return n
  }
  const peers = int('peers', values.peers, 20, 1)
  const visitorsArg = values.visitors ?? 'chromium'
  const mixed = /^mixed:(\d+)$/.exec(visitorsArg)
  let chromium: number
  if (visitorsArg === 'chromium') chromium = peers
  else if (visitorsArg === 'node') chromium = 0
  else if (mixed != null) chromium = Number(mixed[1])
  else throw new UsageError(`--visitors must be chromium, node or mixed:<k>, got ${JSON.stringify(visitorsArg)}`)
  if (chromium > peers) throw new UsageError(`--visitors ${visitorsArg}: more Chromium pages than --peers ${peers}`)
  const nodePerProcess = int('node-per-process', values['node-per-process'], DEFAULT_NODE_VISITORS_PER_PROCESS, 1)
  const sizeBytes = parseSize(values.size ?? '16MiB', 'size')
  const originBytesPerSecond = parseRate(values['origin-rate'] ?? spec.originRate, 'origin-rate')
  if (!(originBytesPerSecond > 0)) throw new UsageError('--origin-rate must be above 0 (or none)')
  const uploadBytesPerSecond = parseRate(values['upload-rate'] ?? '1MiB/s', 'upload-rate')
  const arrivalMs = values.arrival != null ? parseDuration(values.arrival, 'arrival', 'ms') : spec.arrivalMs
  const systems = (values.systems ?? (chromium < peers ? 'swarm' : 'swarm,http,webtorrent')).split(',').map(s => s.trim()).filter(Boolean)
  for (const s of systems) if (!['swarm', 'http', 'webtorrent'].includes(s)) throw new UsageError(`--systems: unknown system ${JSON.stringify(s)} (swarm, http, webtorrent)`)
  if (chromium < peers && systems.some(s => s !== 'swarm')) throw new UsageError(`--visitors ${visitorsArg}: only the swarm system has a Node visitor`)
  if (systems.length === 0) throw new UsageError('--systems names no system')
  const lastArrivalMs = spec.arrival === 'interval' ? arrivalMs * (peers - 1) : arrivalMs
  const httpMs = Number.isFinite(originBytesPerSecond) ? peers * sizeBytes / originBytesPerSecond * 1000 : 0
  const runTimeoutMs = values.timeout != null ? parseDuration(values.timeout, 'timeout', 's') : Math.round(lastArrivalMs + Math.max(300_000, 2 * httpMs))
  if (runTimeoutMs < 1000) throw new UsageError('--timeout must be at least 1 s')
  const date = new Date().toISOString().slice(0, 10)
  return {
    scenario,
    peers,
    visitorsArg,
    visitors: { chromium, nodePerProcess, ...(values['node-cpu-prof'] != null ? { nodeCpuProfDir: resolve(values['node-cpu-prof']) } : {}) },
    sizeBytes,
    originBytesPerSecond,
    uploadBytesPerSecond,
    arrival: { kind: spec.arrival, ms: arrivalMs },
    runs: int('runs', values.runs, 1, 1),
    systems: [...new Set(systems)],
    runTimeoutMs,
    ...(values['block-deadline-ms'] != null ? { blockDeadlineMs: int('block-deadline-ms', values['block-deadline-ms'], 1500, 0) } : {}),
    uploadProbe: onOff('upload-probe', values['upload-probe'], false),
    originPorts: int('origin-ports', values['origin-ports'], Math.max(1, Math.ceil(chromium / 2)), 1),
    out: resolve(values.out ?? `${ROOT}benchmarks/results/${scenario}-${date}`).replace(/\.(json|md)$/, ''),
    renice: values.renice !== false,
    profilePages: Math.min(peers, int('profile-pages', values['profile-pages'], 0, 0)),
    ...(values['profile-out'] != null ? { profileOut: resolve(values['profile-out']) } : {})
  }
}

/** A driver module's SystemDriver: its default export, `driver`, or any exported driver or factory. */
function driverFrom (mod: Record<string, unknown>): SystemDriver | undefined {
  const isDriver = (x: unknown): x is SystemDriver => x != null && typeof x === 'object' && typeof (x as SystemDriver).prepare === 'function' && typeof (x as SystemDriver).pageEntry === 'string'
  for (const candidate of [mod.default, mod.driver, ...Object.values(mod)]) {
    if (isDriver(candidate)) return candidate
  }
  for (const candidate of [mod.default, ...Object.values(mod)]) {
    if (typeof candidate === 'function' && candidate.length === 0) {
      try {
        const made = (candidate as () => unknown)()
        if (isDriver(made)) return made
      } catch {}
    }
  }
  return undefined
}

async function loadSystems (options: Options, skipped: Array<{ system: string, reason: string }>): Promise<SystemDriver[]> {
  const out: SystemDriver[] = []
  for (const name of options.systems) {
    if (name === 'swarm') out.push(swarmSystem({ uploadProbe: options.uploadProbe, ...(options.blockDeadlineMs != null ? { blockDeadlineMs: options.blockDeadlineMs } : {}) }))
    else if (name === 'http') out.push(httpSystem)
    else if (name === 'webtorrent') {
      if (!existsSync(WEBTORRENT)) {
        skipped.push({ system: 'webtorrent', reason: 'benchmarks/crowd/systems/webtorrent.ts is not there (yet)' })
        continue
      }
      try {
        const driver = driverFrom(await import(WEBTORRENT) as Record<string, unknown>)
        if (driver == null) skipped.push({ system: 'webtorrent', reason: 'benchmarks/crowd/systems/webtorrent.ts exports no SystemDriver' })
        else out.push(driver)
      } catch (err: any) {
        skipped.push({ system: 'webtorrent', reason: `benchmarks/crowd/systems/webtorrent.ts failed to load: ${String(err?.message ?? err).split('\n')[0]}` })
      }
    }
  }
  return out
}

async function writeOutputs (result: CrowdResult, base: string): Promise<string[]> {
  await mkdir(dirname(base), { recursive: true })
  const summary = summarizeCrowd(result)
  const { completion, bytes } = charts(result, summary)
  const name = base.split('/').at(-1)!
  const files = { json: `${base}.json`, md: `${base}.md`, completion: `${base}-completion.svg`, bytes: `${base}-bytes.svg` }
  await writeFile(files.json, JSON.stringify({ ...result, summary }, null, 2) + '\n')
  await writeFile(files.completion, completion)
  await writeFile(files.bytes, bytes)
  await writeFile(files.md, markdownReport(result, summary, { completion: `${name}-completion.svg`, bytes: `${name}-bytes.svg` }))
  return Object.values(files)
}

/** `--report <file>.json`: the markdown and charts again from saved results (after a report change). */
async function rerender (file: string): Promise<number> {
  const { readFile } = await import('node:fs/promises')
  const result = JSON.parse(await readFile(file, 'utf8')) as CrowdResult & { summary?: unknown }
  delete result.summary
  const files = await writeOutputs(result, resolve(file).replace(/\.json$/, ''))
  process.stderr.write(`wrote ${files.map(f => relative(process.cwd(), f)).join(', ')}\n`)
  process.stdout.write(terminalReport(result, summarizeCrowd(result)) + '\n')
  return 0
}

async function main (): Promise<number> {
  if (process.argv[2] === '--report') {
    if (process.argv[3] == null) {
      process.stderr.write('crowd: --report needs a results .json file\n')
      return 2
    }
    return rerender(process.argv[3])
  }
  let options: Options | undefined
  try {
    options = parseOptions(process.argv.slice(2))
  } catch (err: any) {
    process.stderr.write(`crowd: ${err.message}; try --help\n`)
    return 2
  }
  if (options == null) {
    process.stdout.write(HELP + '\n')
    return 0
  }
  const outer = reexecInNetns(new URL(import.meta.url).pathname)
  if (outer != null) return outer
  if (options.visitors.nodeCpuProfDir != null) await mkdir(options.visitors.nodeCpuProfDir, { recursive: true })

  const display = progressDisplay(options.scenario)
  const t0 = performance.now()
  const skipped: Array<{ system: string, reason: string }> = []
  const runs: SystemRun[] = []
  const controller = new AbortController()
  let asset: CrowdAsset | undefined
  const result: CrowdResult = {
    benchmark: 'crowd',
    scenario: options.scenario,
    date: new Date().toISOString(),
    options: {
      peers: options.peers,
      ...(options.visitors.chromium < options.peers ? { visitors: { kind: options.visitorsArg, chromium: options.visitors.chromium, node: options.peers - options.visitors.chromium, nodePerProcess: options.visitors.nodePerProcess } } : {}),
      sizeBytes: options.sizeBytes,
      originBytesPerSecond: Number.isFinite(options.originBytesPerSecond) ? options.originBytesPerSecond : null,
      uploadBytesPerSecond: options.uploadBytesPerSecond,
      arrival: options.arrival,
      runs: options.runs,
      systems: options.systems,
      runTimeoutMs: options.runTimeoutMs,
      originPorts: options.originPorts,
      ...(options.blockDeadlineMs != null ? { blockDeadlineMs: options.blockDeadlineMs } : {}),
      uploadProbe: options.uploadProbe,
      renice: options.renice,
      ...(options.profilePages > 0 ? { profilePages: options.profilePages } : {})
    },
    asset: { path: '', size: options.sizeBytes, sha256: '' },
    bound: kumarRossBound({ fileBytes: options.sizeBytes, peers: options.peers, serverBytesPerSecond: options.originBytesPerSecond, peerUploadBytesPerSecond: options.uploadBytesPerSecond }),
    machine: null,
    code: codeVersion(),
    skipped,
    runs
  }

  // ---- ending early: Ctrl-C, SIGTERM, the whole-invocation deadline ------------------
  let ending: Promise<never> | undefined
  const abort = async (reason: string, code: number): Promise<never> => {
    ending ??= (async () => {
      display.log(`${reason}: tearing down`)
      result.aborted = reason
      controller.abort(new Error(reason))
      // the runner tears its run down when aborted; give it 30 s, then kill what is left
      const settled = await Promise.race([running.then(() => true, () => true), delay(30_000, false, { ref: false })])
      if (!settled) {
        for (const p of descendants(process.pid, listProcesses()).filter(p => p.pid !== process.pid)) {
          try { process.kill(p.pid, 'SIGKILL') } catch {}
        }
      }
      result.durationS = Math.round((performance.now() - t0) / 100) / 10
      const files = await writeOutputs(result, `${options.out}.aborted`).catch(() => [])
      if (asset != null) await rm(asset.dir, { recursive: true, force: true }).catch(() => {})
      display.done()
      if (files.length > 0) process.stderr.write(`partial results in ${relative(process.cwd(), files[0]!)}\n`)
      process.exit(code)
    })()
    return ending
  }
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) process.on(signal, () => { void abort(signal, code) })
  const systemsCount = Math.max(1, options.systems.length)
  const globalMs = options.runs * systemsCount * (options.runTimeoutMs + 180_000) + 120_000
  const timer = setTimeout(() => { void abort(`whole-run deadline of ${Math.round(globalMs / 1000)} s`, 1) }, globalMs)

  const running = (async () => {
    result.machine = await machineInfo()
    const m = result.machine
    display.log(`machine: ${m.cpus} × ${m.cpuModel}, ${Math.round(m.busyShareBeforeStart * 100)} % busy before start (load average ${m.loadAverageAtStart.join(' ')})${m.otherProcessesAtStart.length > 0 ? `; busy others: ${m.otherProcessesAtStart.map(p => `${p.command.split(' ').slice(0, 3).join(' ')} ${p.cpuPercent} %`).join(', ')}` : ''}`)
    if (m.busyShareBeforeStart > 0.2) display.log('warning: other processes are using the CPU; figures will be slower than on a quiet machine')
    const drivers = await loadSystems(options, skipped)
    for (const s of skipped) display.log(`skipping ${s.system}: ${s.reason}`)
    if (drivers.length === 0) throw new Error('no system to run')
    result.options.systems = drivers.map(d => d.name)
    if (options.profilePages > 0 && !drivers.some(d => d.name === 'swarm')) display.log('--profile-pages profiles swarm pages, and swarm is not among the systems: no profile')
    asset = await makeAsset(options.sizeBytes)
    result.asset = { path: asset.path, size: asset.size, sha256: asset.sha256 }
    display.log(`${options.scenario}: ${options.peers} visitors (${options.visitors.chromium} Chromium, ${options.peers - options.visitors.chromium} Node), ${options.sizeBytes} bytes, systems ${result.options.systems.join(', ')}; bound ${result.bound.seconds.toFixed(2)} s; run deadline ${Math.round(options.runTimeoutMs / 1000)} s`)
    const got = await runCrowd({
      asset,
      peers: options.peers,
      arrivalsMs: arrivalSchedule(options.arrival.kind, options.arrival.ms, options.peers),
      originBytesPerSecond: options.originBytesPerSecond,
      uploadBytesPerSecond: options.uploadBytesPerSecond,
      systems: drivers,
      runs: options.runs,
      runTimeoutMs: options.runTimeoutMs,
      originPorts: options.originPorts,
      visitors: options.visitors,
      renice: options.renice,
      ...(options.profilePages > 0 ? { profile: { system: 'swarm', pages: options.profilePages, ...(options.profileOut != null ? { outDir: options.profileOut } : {}) } } : {}),
      signal: controller.signal,
      onProgress: p => { display.update(p) },
      log: line => { display.log(line) },
      onRun: run => {
        runs.push(run)
        if (result.machine != null) result.machine.chromium ??= run.chromium
      }
    })
    return got
  })()

  let code = 0
  try {
    await running
  } catch (err: any) {
    if (ending != null) return await ending
    display.log(`failed: ${err?.stack ?? err}`)
    code = 1
  }
  clearTimeout(timer)
  if (asset != null) await rm(asset.dir, { recursive: true, force: true }).catch(() => {})
  result.durationS = Math.round((performance.now() - t0) / 100) / 10
  if (runs.some(r => r.errors.length > 0)) code = 1
  const files = await writeOutputs(result, options.out)
  display.done()
  process.stderr.write(`wrote ${files.map(f => relative(process.cwd(), f)).join(', ')}\n`)
  process.stdout.write(terminalReport(result, summarizeCrowd(result)) + '\n')
  return code
}

main().then(code => {
  process.exitCode = code
}, (err: any) => {
  process.stderr.write(`crowd: ${err?.stack ?? err}\n`)
  process.exitCode = 1
})
