// Throughput benchmark: one browser→browser transfer through the library (page B
// swarm.fetch()es a file page A holds) against a raw RTCDataChannel between the same two
// pages, with the Chromium CPU each costs. Runs itself in a loopback-only network namespace.
//
//   node benchmarks/throughput.ts [--runs K] [--size-mib N] [--out FILE] …   (--help)
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { bundleForBrowser } from '../interop-tests/harness/bundle.ts'
import { launchChromium } from '../interop-tests/harness/chromium.ts'
import { serveRoutes } from '../interop-tests/harness/static-server.ts'
import { buildManifest } from '../src/content/manifest.ts'
import { startOriginServer } from '../test/helpers/origin-server.ts'
import { startRelayProcess } from '../test/helpers/relay-process.ts'
import { busiestOtherProcesses, cpuBetween, cpuMark, otherProcessesMark, reniceRenderers } from './lib/cpu.ts'
import { reexecInNetns } from './lib/netns.ts'
import { machineBusyShare } from './lib/proc.ts'
import { codeVersion, withTeardown } from './lib/run.ts'
import { roundTo, table } from './lib/stats.ts'
import type { CpuPhase } from './lib/cpu.ts'
import type { Teardown } from './lib/run.ts'
import type { LibraryTransfer, PageTransfer, ThroughputPageApi } from './throughput-page.ts'
import type { LaunchedChromium } from '../interop-tests/harness/chromium.ts'
import type { SwarmInit } from '../src/index.ts'
import type { BrowserContext, Page } from 'playwright-core'

const ROOT = new URL('..', import.meta.url).pathname
const PAGE = join(ROOT, 'benchmarks/throughput-page.ts')
const HTML = '<!doctype html><meta charset="utf-8"><title>swarmsite throughput</title><script type="module" src="/page.js"></script>'
const MiB = 1024 * 1024
const KiB = 1024
/** A small file B fetches first, so the big one moves over a connection already open. */
const WARMUP_BYTES = 256 * KiB

const HELP = `Usage: node benchmarks/throughput.ts [options]      (or: npm run bench -- throughput [options])

Relay + origin + two Chromium pages in separate contexts. Page A fetches the file from the
origin; then, K times, a fresh page B (new context, empty IndexedDB) gets it from A:
  library  B swarm.fetch()es it with a huge blockDeadlineMs, so every block comes from A
  raw      A sends the same number of bytes to B over one new RTCDataChannel (signalling
           through the driver, iceServers []), pausing while bufferedAmount >= high
           and resuming at low
Both warm up first (B fetches a ${WARMUP_BYTES / KiB} KiB file; the raw channel carries ${WARMUP_BYTES / KiB} KiB), and their
order alternates between runs. Writes JSON (default benchmarks/results/throughput-<date>.json)
and a markdown summary beside it.

  --runs <k>              repetitions (default 3); medians are reported
  --size-mib <n>          file size (default 32)
  --raw-message-kib <n>   raw data channel message size (default 16, libp2p's WebRTC maximum)
  --raw-high-kib <n>      raw sender stops at this bufferedAmount (default 256)
  --raw-low-kib <n>       ... and resumes at this one (default 64)
  --out <file>            where to write the JSON
  --timeout-s <s>         whole-run deadline (default 900)
  --only <library|raw>    measure one of the two (no ratio)
  --no-renice             leave Chromium's renderer priorities alone
  -h, --help              show this help`

type Kind = 'library' | 'raw'

interface Options { runs: number, sizeMiB: number, rawMessageKiB: number, rawHighKiB: number, rawLowKiB: number, kinds: Kind[], out: string, timeoutS: number, renice: boolean }

class UsageError extends Error {}

function parseOptions (argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowNegative: true,
    options: {
      runs: { type: 'string' },
      'size-mib': { type: 'string' },
      'raw-message-kib': { type: 'string' },
      'raw-high-kib': { type: 'string' },
      'raw-low-kib': { type: 'string' },
      out: { type: 'string' },
      'timeout-s': { type: 'string' },
      only: { type: 'string' },
      renice: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) return undefined
  const int = (name: keyof typeof values, fallback: number, min: number, max = Infinity): number => {
    const value = values[name] as string | undefined
    if (value == null) return fallback
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`)
    return n
  }
  const options = {
    runs: int('runs', 3, 1),
    sizeMiB: int('size-mib', 32, 1, 1024),
    rawMessageKiB: int('raw-message-kib', 16, 1, 256),
    rawHighKiB: int('raw-high-kib', 256, 1),
    rawLowKiB: int('raw-low-kib', 64, 0),
    out: resolve(values.out ?? `${ROOT}benchmarks/results/throughput-${new Date().toISOString().slice(0, 10)}.json`),
    timeoutS: int('timeout-s', 900, 10),
    kinds: values.only == null ? ['library', 'raw'] as Kind[] : [values.only as Kind],
    renice: values.renice !== false
  }
  if (values.only != null && values.only !== 'library' && values.only !== 'raw') throw new UsageError(`--only takes library or raw, got ${JSON.stringify(values.only)}`)
  if (options.rawLowKiB >= options.rawHighKiB) throw new UsageError('--raw-low-kib must be below --raw-high-kib')
  return options
}

/** The middle value (mean of the two middle ones for an even count), or null for none. */
function median (values: number[]): number | null {
  const sorted = values.filter(Number.isFinite).sort((x, y) => x - y)
  if (sorted.length === 0) return null
  const mid = sorted.length >> 1
  return roundTo(sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2, 3)
}

const t0 = performance.now()
function progress (message: string): void {
  process.stderr.write(`[throughput ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${message}\n`)
}

type Call = <M extends keyof ThroughputPageApi>(method: M, ...args: Parameters<ThroughputPageApi[M]>) => Promise<Awaited<ReturnType<ThroughputPageApi[M]>>>

interface Visitor { context: BrowserContext, page: Page, call: Call }

/** One transfer's figures: `whole` from the call (fetch, first send) to the last byte; `steady` from the first chunk's arrival to the last byte, that chunk not counted. */
interface TransferFigures {
  bytes: number
  wholeMiBps: number
  steadyMiBps: number
  firstByteMs: number
  wholeMs: number
  cpu: CpuPhase
  /** Chromium CPU seconds per MiB moved, over the whole call */
  chromiumCpuSPerMiB: number
}

function figures (t: PageTransfer, cpu: CpuPhase): TransferFigures {
  const wholeMs = t.lastAt - t.startedAt
  const steadyMs = t.lastAt - t.firstAt
  return {
    bytes: t.bytes,
    wholeMiBps: roundTo(t.bytes / MiB / (wholeMs / 1000), 2),
    steadyMiBps: roundTo((t.bytes - t.firstBytes) / MiB / (steadyMs / 1000), 2),
    firstByteMs: roundTo(t.firstAt - t.startedAt),
    wholeMs: roundTo(wholeMs),
    cpu,
    chromiumCpuSPerMiB: roundTo(cpu.chromiumS / (t.bytes / MiB), 4)
  }
}

async function run (options: Options, result: Record<string, any>, teardown: Teardown): Promise<void> {
  const size = options.sizeMiB * MiB
  const cpus = os.cpus()
  result.benchmark = 'throughput'
  result.date = new Date().toISOString()
  result.machine = {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model.trim(),
    cpus: cpus.length,
    node: process.version,
    loadAverageAtStart: os.loadavg().map(x => roundTo(x, 2)),
    busyShareBeforeStart: roundTo(await machineBusyShare(3000, cpus.length), 2)
  }
  result.code = codeVersion(ROOT)
  result.options = { ...options, out: relative(ROOT, options.out) }
  progress(`machine ${Math.round(result.machine.busyShareBeforeStart * 100)} % busy before start (load average ${result.machine.loadAverageAtStart.join(' ')})`)

  const dir = await mkdtemp(join(os.tmpdir(), 'swarmsite-throughput-'))
  teardown.add(async () => { await rm(dir, { recursive: true, force: true }) })
  const asset = randomBytes(size)
  const sha256 = createHash('sha256').update(asset).digest('hex')
  await writeFile(join(dir, 'asset.bin'), asset)
  await writeFile(join(dir, 'warmup.bin'), randomBytes(WARMUP_BYTES))
  const origin = await startOriginServer({ root: dir })
  teardown.add(async () => { await origin.stop() })
  const { manifest } = await buildManifest(dir, { origin: origin.url })
  await writeFile(join(dir, 'swarmsite.json'), JSON.stringify(manifest))
  const relay = await startRelayProcess()
  teardown.add(async () => { await relay.stop() })
  const others = { relay: relay.child.pid }
  const server = await serveRoutes({ '/': { type: 'text/html', body: HTML }, '/page.js': { type: 'text/javascript', body: await bundleForBrowser(PAGE) } })
  teardown.add(async () => { await server.close() })
  const chromium: LaunchedChromium = await launchChromium({ handleSignals: false })
  teardown.add(async () => { await chromium.close() })
  result.machine.chromium = chromium.browser.version()

  const init = (blockDeadlineMs?: number): SwarmInit => ({ bootstrap: [relay.ws], manifest: `${origin.url}swarmsite.json`, iceServers: [], dhtServerAfterMs: 300, ...(blockDeadlineMs != null ? { blockDeadlineMs } : {}) })
  async function visitor (swarmInit: SwarmInit): Promise<Visitor> {
    const context = await chromium.newContext(server.url)
    const page = await context.newPage()
    page.setDefaultTimeout(300_000)
    await page.goto(server.url)
    await page.waitForFunction(() => (window as any).throughputBench != null)
    const call: Call = async (method, ...args) => page.evaluate(async ({ method, args }) => ((window as any).throughputBench)[method](...args), { method, args })
    await call('start', swarmInit)
    await call('waitReachable', 30_000)
    return { context, page, call }
  }
  const timeoutMs = 300_000
  const check = (what: string, ok: boolean, detail: string): void => { if (!ok) throw new Error(`${what}: ${detail}`) }

  progress(`page A fetches ${options.sizeMiB} MiB from the origin`)
  const a = await visitor(init())
  teardown.add(async () => { await a.call('stop').catch(() => {}); await a.context.close().catch(() => {}) })
  for (const path of ['warmup.bin', 'asset.bin']) {
    const t = await a.call('fetch', path, timeoutMs)
    check(`page A ${path}`, t.stats.bytesFromPeers === 0, `${t.stats.bytesFromPeers} bytes came from peers`)
    await a.call('lastSha256')
  }
  const fromOrigin = await a.call('stats')
  check('page A', fromOrigin.bytesFromOrigin === size + WARMUP_BYTES, `got ${fromOrigin.bytesFromOrigin} bytes from the origin`)

  const othersAtStart = otherProcessesMark()
  const runs: Array<Record<string, any>> = []
  result.runs = runs
  for (let k = 0; k < options.runs; k++) {
    const order = k % 2 === 0 ? options.kinds : [...options.kinds].reverse()
    progress(`run ${k + 1}/${options.runs}: a fresh page B; ${order.join(' then ')}`)
    const b = await visitor(init(600_000))
    const entry: Record<string, any> = { run: k + 1, order }
    runs.push(entry)
    try {
      for (const kind of order) {
        if (kind === 'library') {
          const warm = await b.call('fetch', 'warmup.bin', timeoutMs)
          await b.call('lastSha256')
          check('library warm-up', warm.stats.bytesFromPeers === WARMUP_BYTES, `${warm.stats.bytesFromPeers} of ${WARMUP_BYTES} bytes from peers`)
          if (options.renice) reniceRenderers(others)
          const before = cpuMark(others)
          const t: LibraryTransfer = await b.call('fetch', 'asset.bin', timeoutMs)
          const cpu = cpuBetween(before, cpuMark(others))
          const fromPeers = t.stats.bytesFromPeers - warm.stats.bytesFromPeers
          const got = await b.call('lastSha256')
          check('library', got === sha256 && t.bytes === size, `got ${t.bytes} bytes, sha256 ${got}`)
          check('library', fromPeers === size, `${fromPeers} of ${size} bytes from peers (origin ${t.stats.bytesFromOrigin}, duplicates ${t.stats.duplicateBytes})`)
          entry.library = { ...figures(t, cpu), fromPeers, fromOrigin: t.stats.bytesFromOrigin, duplicateBytes: t.stats.duplicateBytes, connections: t.stats.connections }
        } else {
          const offer = await a.call('rawOffer')
          const answer = await b.call('rawAnswer', offer)
          await a.call('rawConnect', answer)
          const send = async (bytes: number): Promise<{ t: PageTransfer, pauses: number }> => {
            await b.call('rawArm', bytes, 20_000)
            const [sent, got] = await Promise.all([
              a.call('rawSend', bytes, options.rawMessageKiB * KiB, options.rawHighKiB * KiB, options.rawLowKiB * KiB),
              b.call('rawWait', timeoutMs)
            ])
            return { t: { ...got, startedAt: sent.startedAt }, pauses: sent.pauses }
          }
          await send(WARMUP_BYTES)
          if (options.renice) reniceRenderers(others)
          const pathBefore = await a.call('rawPath')
          const before = cpuMark(others)
          const { t, pauses } = await send(size)
          const cpu = cpuBetween(before, cpuMark(others))
          const pathAfter = await a.call('rawPath')
          await Promise.all([a.call('rawClose'), b.call('rawClose')])
          check('raw', t.bytes === size, `got ${t.bytes} of ${size} bytes`)
          const packets = pathAfter.packetsSent - pathBefore.packetsSent
          const wire = pathAfter.bytesSent - pathBefore.bytesSent
          entry.raw = {
            ...figures(t, cpu),
            senderPauses: pauses,
            // the sender's DTLS transport over the measured transfer: wire bytes ÷ payload above 1 are headers and retransmissions
            path: { protocol: pathAfter.protocol, localType: pathAfter.localType, packetsSent: packets, bytesPerPacket: packets > 0 ? Math.round(wire / packets) : null, wireBytesPerPayloadByte: roundTo(wire / size, 3) }
          }
        }
        const f = entry[kind] as TransferFigures
        progress(`  ${kind.padEnd(7)} ${f.steadyMiBps} MiB/s steady, ${f.wholeMiBps} MiB/s whole (${f.wholeMs} ms), Chromium ${f.cpu.chromiumS} CPU-s = ${f.chromiumCpuSPerMiB} CPU-s/MiB; other processes ${Math.round(f.cpu.otherProcessesShare * 100)} %`)
      }
      if (entry.library != null && entry.raw != null) entry.ratio = roundTo(entry.library.steadyMiBps / entry.raw.steadyMiBps, 3)
    } catch (err: any) {
      entry.error = String(err.message).split('\n')[0]
      progress(`  run ${k + 1} failed: ${entry.error}`)
    } finally {
      await b.call('stop').catch(() => {})
      await b.context.close().catch(() => {})
    }
    await delay(500)
  }

  /** who else used the machine while the transfers ran (CPU seconds over all runs) */
  result.otherProcessesDuringRuns = busiestOtherProcesses(othersAtStart, otherProcessesMark())
  const done = (kind: Kind): Array<Record<string, any>> => runs.filter(r => r[kind] != null)
  const both = runs.filter(r => r.library != null && r.raw != null)
  const summary = (kind: Kind): Record<string, number | null> => {
    const of = (key: keyof TransferFigures): number | null => median(done(kind).map(r => r[kind][key] as number))
    return {
      runsOk: done(kind).length,
      steadyMiBps: of('steadyMiBps'),
      wholeMiBps: of('wholeMiBps'),
      firstByteMs: of('firstByteMs'),
      chromiumCpuSPerMiB: of('chromiumCpuSPerMiB'),
      otherProcessesShareMax: done(kind).length === 0 ? null : Math.max(...done(kind).map(r => r[kind].cpu.otherProcessesShare as number))
    }
  }
  result.summary = {
    runs: runs.length,
    runsWithBoth: both.length,
    library: summary('library'),
    raw: summary('raw'),
    /** median over runs of library steady MiB/s ÷ raw steady MiB/s (same run, same two pages) */
    ratioSteady: median(both.map(r => r.ratio as number)),
    ratioWhole: median(both.map(r => r.library.wholeMiBps / r.raw.wholeMiBps)),
    cpuPerMiBRatio: median(both.map(r => r.library.chromiumCpuSPerMiB / r.raw.chromiumCpuSPerMiB))
  }
  if (runs.some(r => r.error != null)) result.errors = runs.filter(r => r.error != null).map(r => ({ run: r.run, error: r.error }))
}

function markdown (r: Record<string, any>): string {
  const s = r.summary
  if (s == null) return `# throughput ${r.date}\n\nno summary: ${JSON.stringify(r.errors ?? r.aborted)}\n`
  const busiest = Math.max(0, ...(r.runs as any[]).flatMap(x => [x.library?.cpu.otherProcessesShare ?? 0, x.raw?.cpu.otherProcessesShare ?? 0]))
  const rows = [['', 'steady MiB/s', 'whole MiB/s', 'first byte ms', 'Chromium CPU-s/MiB'],
    ...(['library', 'raw'] as const).map(k => [k, s[k].steadyMiBps, s[k].wholeMiBps, s[k].firstByteMs, s[k].chromiumCpuSPerMiB]),
    ['library ÷ raw', s.ratioSteady, s.ratioWhole == null ? null : roundTo(s.ratioWhole, 3), '', s.cpuPerMiBRatio == null ? null : roundTo(s.cpuPerMiBRatio, 2)]]
  return [
    `# throughput, ${r.date}`,
    '',
    `One browser→browser transfer of ${r.options.sizeMiB} MiB, medians over ${s.runs} runs (library ${s.library.runsOk} ok, raw ${s.raw.runsOk} ok); ${r.machine.cpus} × ${r.machine.cpuModel}, Chromium ${r.machine.chromium}, commit ${r.code.commit?.slice(0, 10)}${r.code.uncommitted.length > 0 ? ' plus uncommitted changes' : ''}.`,
    `Machine ${Math.round(r.machine.busyShareBeforeStart * 100)} % busy before the start; other processes took at most ${Math.round(busiest * 100)} % of it during a transfer${busiest > 0.05 ? ' (figures slower than this machine can do)' : ''}.`,
    '',
    '```',
    table(rows.map(row => row.map(c => c ?? '—'))),
    '```',
    '',
    'steady = from the first chunk to the last byte (first chunk not counted); whole = from the fetch call (raw: first send) to the last byte, over a connection already warmed by a small transfer. CPU = all Chromium processes over the whole call.',
    ''
  ].join('\n')
}

async function main (): Promise<number> {
  let options: Options | undefined
  try {
    options = parseOptions(process.argv.slice(2))
  } catch (err: any) {
    process.stderr.write(`throughput: ${err.message}; try --help\n`)
    return 2
  }
  if (options == null) {
    process.stdout.write(HELP + '\n')
    return 0
  }
  const outer = reexecInNetns(new URL(import.meta.url).pathname)
  if (outer != null) return outer
  const opts = options
  return withTeardown({ name: 'throughput', out: opts.out, timeoutS: opts.timeoutS, progress }, async (result, teardown) => {
    await run(opts, result, teardown)
  }, async result => {
    await mkdir(dirname(opts.out), { recursive: true })
    await writeFile(opts.out.replace(/\.json$/, '') + '.md', markdown(result))
    process.stdout.write(markdown(result))
  })
}

main().then(code => { process.exitCode = code }, (err: any) => {
  process.stderr.write(`throughput: ${err.stack ?? err}\n`)
  process.exitCode = 1
})
