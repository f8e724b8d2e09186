// `npm run bench -- regions`: visitors in 3 regions of an emulated wide-area network
// (benchmarks/wan: one network namespace per host, every packet through a user-space router
// that holds it for the region pair's one-way delay) load one asset; one relay and one origin
// sit in the first region. Reports, per region and overall, where the bytes came from (peers
// of the same region, of other regions, the origin; by the library's per-peer counters and,
// independently, by the router's per-host IP counters), completion p50/p95 and time to first
// byte p50.
//
// It runs the crowd once per locality mode (default: on, then off), each with fresh Chromiums
// on the same WAN, relay and origin: on = `createSwarm({ region })` with the default locality
// (RTT pings, coordinates, nearer holders first); off = `locality: false`, no region (random
// holder choice). Origin and router counters are taken per mode (differences).
//
//   node benchmarks/regions.ts [--per-region 3] [--size 4MiB] [--arrival 20s] …   (--help)
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { buildManifest } from '../src/content/manifest.ts'
import { startRelayProcess } from '../test/helpers/relay-process.ts'
import { makeAsset } from './crowd/asset.ts'
import { startCrowdOrigin } from './crowd/origin.ts'
import { bundlePage } from './crowd/pages.ts'
import { UsageError, parseDuration, parseRate, parseSize } from './crowd/units.ts'
import { reexecInNetns } from './lib/netns.ts'
import { bytesByRegion, ipBytesByRegion, pairsSince, quantile } from './regions/attribution.ts'
import type { RegionBytes, RegionIpBytes } from './regions/attribution.ts'
import { launchChromiumIn } from './wan/chromium.ts'
import { startWan } from './wan/wan.ts'
import type { RegionsPageConfig, RegionsVisit } from './regions/types.ts'
import type { LaunchedChromium } from '../interop-tests/harness/chromium.ts'
import type { SystemDriver } from './crowd/types.ts'
import type { Wan, WanHost } from './wan/wan.ts'
import type { Page } from 'playwright-core'

const HERE = new URL('.', import.meta.url).pathname
const REGIONS = ['eu', 'us', 'ap']
/** Pages come from playwright's router at this origin: a secure context (media permission → ICE candidates) with no server. */
const PAGE_ORIGIN = 'http://localhost:9'

const HELP = `Usage: node benchmarks/regions.ts [options]      (npm run bench -- regions [options])

Regions ${REGIONS.join(', ')}; the relay and the origin are in ${REGIONS[0]}. Every visitor is its
own host (network namespace) with its own Chromium; all traffic crosses the WAN router.

  --per-region <n>       visitors per region (default 3)
  --size <bytes>         asset size (default 4MiB)
  --arrival <ms>         window the visitors arrive in, evenly spread, regions interleaved
                         (default 20s)
  --origin-rate <rate>   origin cap (default 2MiB/s; none = uncapped)
  --upload-rate <rate>   each visitor's upload cap (default 1MiB/s)
  --downlink <rate>      each visitor host's access downlink (tbf behind an IFB), e.g. 50mbit,
                         6MiB/s (default none: the router's bursts reach the receiving socket
                         unpaced)
  --uplink <rate>        each visitor host's access uplink (tbf on wan0) (default none; the
                         library's upload cap still applies)
  --delays <a,b,c>       one-way ms: inside a region, ${REGIONS[0]}-${REGIONS[1]}, to/from ${REGIONS[2]} (default 5,40,120)
  --timeout <s>          deadline after the last arrival (default 180s)
  --locality <modes>     modes to run, in order: on, off or on,off (default on,off)
  --out <file>           JSON result (default benchmarks/results/regions-<YYYY-MM-DD>.json)
`

interface Options { downlinkKbit?: number, uplinkKbit?: number, perRegion: number, size: number, arrivalMs: number, originRate: number, uploadRate: number, delays: [number, number, number], timeoutMs: number, modes: boolean[], out: string }

function options (): Options {
  const { values } = parseArgs({
    options: {
      'per-region': { type: 'string' },
      size: { type: 'string' },
      arrival: { type: 'string' },
      'origin-rate': { type: 'string' },
      'upload-rate': { type: 'string' },
      downlink: { type: 'string' },
      uplink: { type: 'string' },
      delays: { type: 'string' },
      timeout: { type: 'string' },
      locality: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) {
    process.stdout.write(HELP)
    process.exit(0)
  }
  const perRegion = Number(values['per-region'] ?? 3)
  if (!Number.isInteger(perRegion) || perRegion < 1 || perRegion > 50) throw new UsageError(`--per-region must be 1..50, got ${values['per-region']}`)
  const delays = (values.delays ?? '5,40,120').split(',').map(Number)
  if (delays.length !== 3 || delays.some(d => !(d >= 0))) throw new UsageError(`--delays must be three numbers ≥ 0, got ${values.delays}`)
  const modeNames = (values.locality ?? 'on,off').split(',')
  if (modeNames.length === 0 || modeNames.some(m => m !== 'on' && m !== 'off')) throw new UsageError(`--locality must be on, off or a list of them, got ${values.locality}`)
  const kbit = (text: string | undefined, name: string): number | undefined => {
    if (text == null) return undefined
    const m = /^\s*(\d+(?:\.\d+)?)\s*(k|m|g)bit\s*$/i.exec(text)
    if (m != null) return Number(m[1]) * { k: 1, m: 1000, g: 1_000_000 }[m[2]!.toLowerCase() as 'k' | 'm' | 'g']
    return parseRate(text, name) * 8 / 1000
  }
  return {
    downlinkKbit: kbit(values.downlink, 'downlink'),
    uplinkKbit: kbit(values.uplink, 'uplink'),
    modes: modeNames.map(m => m === 'on'),
    perRegion,
    size: parseSize(values.size ?? '4MiB', 'size'),
    arrivalMs: parseDuration(values.arrival ?? '20s', 'arrival', 'ms'),
    originRate: parseRate(values['origin-rate'] ?? '2MiB/s', 'origin-rate'),
    uploadRate: parseRate(values['upload-rate'] ?? '1MiB/s', 'upload-rate'),
    delays: delays as [number, number, number],
    timeoutMs: parseDuration(values.timeout ?? '180s', 'timeout', 's'),
    out: values.out ?? join(HERE, 'results', `regions-${new Date().toISOString().slice(0, 10)}.json`)
  }
}

interface Visitor { index: number, region: string, host: WanHost, chromium: LaunchedChromium, page: Page, arriveAtMs: number }

async function openVisitor (host: WanHost, index: number, region: string, script: string, arriveAtMs: number): Promise<Visitor> {
  const chromium = await launchChromiumIn(host, { handleSignals: false })
  try {
    const context = await chromium.newContext(PAGE_ORIGIN)
    await context.route(`${PAGE_ORIGIN}/**`, async route => {
      const path = new URL(route.request().url()).pathname
      if (path === '/page.js') await route.fulfill({ contentType: 'text/javascript', body: script })
      else await route.fulfill({ contentType: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>regions</title><script type="module" src="/page.js"></script>' })
    })
    const page = await context.newPage()
    await page.goto(`${PAGE_ORIGIN}/`, { timeout: 60_000 })
    await page.waitForFunction(() => (window as unknown as { benchVisit?: unknown }).benchVisit != null, undefined, { timeout: 60_000 })
    return { index, region, host, chromium, page, arriveAtMs }
  } catch (err) {
    await chromium.close()
    throw err
  }
}

interface ModeReport {
  locality: boolean
  regions: Array<RegionBytes & { completeP50: number, completeP95: number, firstByteP50: number, ip: RegionIpBytes }>
  overall: { completeP50: number, completeP95: number, firstByteP50: number, originBytesServed: number, sameRegionPeers: number, otherRegionPeers: number, sameRegionShare: number }
  router: { links: unknown, unroutable: number, noMemory: number, cpuSeconds: number }
  visitors: Array<{ region: string, host: string } & RegionsVisit>
}

interface ModeInput {
  opts: Options
  wan: Wan
  server: WanHost
  relayWs: string
  origin: Awaited<ReturnType<typeof startCrowdOrigin>>
  manifest: RegionsPageConfig['manifest']
  asset: Awaited<ReturnType<typeof makeAsset>>
  script: string
  locality: boolean
  log: (line: string) => void
  interrupted: () => boolean
}

/** One crowd with fresh Chromiums: visitors arrive over the window, fetch, and are closed at the end. */
async function runMode (m: ModeInput): Promise<ModeReport> {
  const { opts, wan, server, asset, log } = m
  const routerBefore = await wan.stats()
  const originBefore = m.origin.bytesServed()
  // arrivals evenly over the window, regions interleaved (eu, us, ap, eu, …)
  const hosts: Array<{ host: WanHost, region: string }> = []
  for (let k = 0; k < opts.perRegion; k++) {
    for (const [i, region] of REGIONS.entries()) hosts.push({ host: wan.host(region, k + 1 + (i === 0 ? 1 : 0)), region })
  }
  const visitors: Visitor[] = []
  try {
    for (const [index, { host, region }] of hosts.entries()) {
      if (m.interrupted()) throw new Error('interrupted')
      const at = hosts.length === 1 ? 0 : Math.round(index * opts.arrivalMs / (hosts.length - 1))
      visitors.push(await openVisitor(host, index, region, m.script, at))
      log(`opened visitor ${index + 1}/${hosts.length} (${host.name})`)
    }

    const started = performance.now()
    const deadline = opts.arrivalMs + opts.timeoutMs
    const results = await Promise.all(visitors.map(async v => {
      await delay(v.arriveAtMs)
      const config: RegionsPageConfig = {
        manifest: m.manifest,
        path: asset.path,
        size: asset.size,
        sha256: asset.sha256,
        relayWs: m.relayWs,
        uploadBytesPerSecond: Number.isFinite(opts.uploadRate) ? opts.uploadRate : null,
        region: v.region,
        locality: m.locality
      }
      const visit = await Promise.race([
        v.page.evaluate(async ({ config, visitor }) => (window as unknown as { benchVisit: (c: unknown, i: number) => Promise<RegionsVisit> }).benchVisit(config, visitor), { config, visitor: v.index }),
        delay(Math.max(0, deadline - (performance.now() - started))).then((): RegionsVisit => ({ visitor: v.index, system: 'swarm', arrivedAtMs: v.arriveAtMs, firstByteMs: -1, completeMs: -1, bytes: 0, fromPeers: 0, fromOrigin: 0, uploaded: 0, ok: false, error: 'deadline', peerId: '', duplicateBytes: 0, peerBytes: [] }))
      ])
      log(`${v.host.name}: ${visit.ok ? 'done' : `failed (${visit.error ?? '?'})`} in ${(visit.completeMs / 1000).toFixed(1)} s, ${(visit.fromPeers / 1048576).toFixed(2)} MiB from peers`)
      return { region: v.region, host: v.host, visit: { ...visit, arrivedAtMs: v.arriveAtMs } }
    }))
    const router = await wan.stats()

    const byRegion = bytesByRegion(results, REGIONS)
    const regionOfAddress = new Map(results.map(r => [r.host.address, r.region]))
    const ip = ipBytesByRegion(pairsSince(routerBefore.pairs, router.pairs), regionOfAddress, server.address, REGIONS)
    const timing = (rs: typeof results): { completeP50: number, completeP95: number, firstByteP50: number } => ({
      completeP50: quantile(rs.filter(r => r.visit.ok).map(r => r.visit.completeMs), 0.5),
      completeP95: quantile(rs.filter(r => r.visit.ok).map(r => r.visit.completeMs), 0.95),
      firstByteP50: quantile(rs.filter(r => r.visit.ok).map(r => r.visit.firstByteMs), 0.5)
    })
    const same = byRegion.reduce((n, r) => n + r.sameRegionPeers, 0)
    const other = byRegion.reduce((n, r) => n + r.otherRegionPeers + r.unknownPeers, 0)
    return {
      locality: m.locality,
      regions: byRegion.map((b, i) => ({ ...b, ...timing(results.filter(r => r.region === b.region)), ip: ip[i]! })),
      overall: { ...timing(results), originBytesServed: m.origin.bytesServed() - originBefore, sameRegionPeers: same, otherRegionPeers: other, sameRegionShare: same + other > 0 ? same / (same + other) : Number.NaN },
      router: { links: router.links, unroutable: router.unroutable - routerBefore.unroutable, noMemory: router.noMemory - routerBefore.noMemory, cpuSeconds: router.cpuSeconds - routerBefore.cpuSeconds },
      visitors: results.map(r => ({ region: r.region, host: r.host.address, ...r.visit }))
    }
  } finally {
    await Promise.all(visitors.map(async v => v.chromium.close().catch(() => {})))
  }
}

async function main (): Promise<void> {
  const opts = options()
  const [intra, near, far] = opts.delays
  const log = (line: string): void => { process.stderr.write(`[regions] ${line}\n`) }
  const cleanups: Array<() => Promise<unknown>> = []
  let interrupted = false
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { interrupted = true })
  try {
    // the first region's host 1 is this process: relay and origin listen on its WAN address
    const wan: Wan = await startWan({
      // access shapes apply to the visitors' hosts (startWan leaves the includeSelf host, the
      // server's, unshaped: a CDN edge's link is not a visitor's)
      regions: REGIONS.map((name, i) => ({
        name,
        hosts: opts.perRegion + (i === 0 ? 1 : 0),
        ...(i === 0 ? { includeSelf: true } : {}),
        ...(opts.downlinkKbit != null ? { downlink: { rateKbit: opts.downlinkKbit, queueMs: 50, burstBytes: 32_768 } } : {}),
        ...(opts.uplinkKbit != null ? { uplink: { rateKbit: opts.uplinkKbit, queueMs: 50, burstBytes: 32_768 } } : {})
      })),
      links: [[intra, near, far], [near, intra, far], [far, far, intra]]
    })
    cleanups.push(async () => wan.stop())
    const server = wan.host(REGIONS[0]!, 1)
    log(`WAN up: ${wan.hosts.length} hosts; server ${server.address}`)

    const asset = await makeAsset(opts.size)
    cleanups.push(async () => rm(asset.dir, { recursive: true, force: true }))
    const origin = await startCrowdOrigin({ root: asset.dir, host: server.address, bytesPerSecond: opts.originRate })
    cleanups.push(async () => origin.stop())
    const { manifest } = await buildManifest(asset.dir, { origin: origin.urls[0]! })
    const script = await bundlePage({ name: 'regions', pageEntry: join(HERE, 'regions/page.ts'), prepare: async () => { throw new Error('unused') } } satisfies SystemDriver)

    const mib = (b: number): string => (b / 1048576).toFixed(1)
    const modes: ModeReport[] = []
    for (const locality of opts.modes) {
      if (interrupted) throw new Error('interrupted')
      log(`locality ${locality ? 'on' : 'off'}`)
      // a fresh relay per mode: the last mode's visitors are gone, their DHT records with them
      const relay = await startRelayProcess({ args: ['--host', server.address] })
      let mode: ModeReport
      try {
        mode = await runMode({ opts, wan, server, relayWs: relay.ws, origin, manifest, asset, script, locality, log, interrupted: () => interrupted })
      } finally {
        await relay.stop()
      }
      modes.push(mode)
      process.stdout.write(`\nlocality ${locality ? 'on' : 'off'}\n`)
      process.stdout.write(`region  ok    same-region  other-region  origin   (MiB, library)   IP MiB same/other/server   done p50/p95 s  ttfb p50 s\n`)
      for (const r of mode.regions) {
        process.stdout.write(`${r.region.padEnd(6)}  ${`${r.ok}/${r.visitors}`.padEnd(4)}  ${mib(r.sameRegionPeers).padStart(11)}  ${mib(r.otherRegionPeers).padStart(12)}  ${mib(r.origin).padStart(6)}   ${' '.repeat(16)} ${mib(r.ip.sameRegionHosts)}/${mib(r.ip.otherRegionHosts)}/${mib(r.ip.server)}`.padEnd(100) +
          `${(r.completeP50 / 1000).toFixed(1)}/${(r.completeP95 / 1000).toFixed(1)}  ${(r.firstByteP50 / 1000).toFixed(2)}\n`)
      }
      process.stdout.write(`overall: peer bytes same-region share ${(mode.overall.sameRegionShare * 100).toFixed(0)} %, cross-region ${mib(mode.overall.otherRegionPeers)} MiB; done p50 ${(mode.overall.completeP50 / 1000).toFixed(1)} s, p95 ${(mode.overall.completeP95 / 1000).toFixed(1)} s, ttfb p50 ${(mode.overall.firstByteP50 / 1000).toFixed(2)} s; origin served ${mib(mode.overall.originBytesServed)} MiB; router CPU ${mode.router.cpuSeconds.toFixed(1)} s\n`)
    }
    const report = {
      scenario: 'regions',
      date: new Date().toISOString(),
      options: { ...opts, originRate: Number.isFinite(opts.originRate) ? opts.originRate : null, modes: opts.modes.map(m => m ? 'on' : 'off') },
      modes
    }
    await mkdir(join(opts.out, '..'), { recursive: true })
    await writeFile(opts.out, JSON.stringify(report, null, 2) + '\n')
    process.stdout.write(`wrote ${opts.out}\n`)
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: Error) => { log(`teardown: ${err.message}`) })
  }
}

const reexec = reexecInNetns(new URL(import.meta.url).pathname)
if (reexec != null) {
  process.exit(await reexec)
} else {
  main().then(() => { process.exit(0) }, (err: Error) => {
    process.stderr.write(`${err instanceof UsageError ? '' : 'regions: '}${err.message}\n`)
    process.exit(err instanceof UsageError ? 2 : 1)
  })
}
