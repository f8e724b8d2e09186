/**
 * The upload rule on real links: a visitor behind a narrow uplink (tbf in its own network
 * namespace, with a modem-like queue) serves a file to three other visitors, and must back
 * off below its cap because its own round trips to the relay rise; the same visitor behind
 * a wide uplink serves the same load and stays at its cap. Real parts throughout: the relay
 * process, Node swarm visitors as processes (WebRTC via node-datachannel), an HTTP origin,
 * the kernel's veth and tbf.
 *
 * For measuring by hand: SWARMSITE_UPLOAD_TEST_NARROW_MIB / _WIDE_MIB set the file sizes
 * (default 2 and 4), SWARMSITE_UPLOAD_TEST_CAP=none lifts the cap, and
 * SWARMSITE_UPLOAD_TRACE=1 prints what the visitor's budget said every 250 ms.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { buildManifest } from '../../src/content/manifest.ts'
import { linkExists, startNamespaceHost } from '../helpers/netns.ts'
import { startOriginServer } from '../helpers/origin-server.ts'
import { startRelayProcess } from '../helpers/relay-process.ts'
import { startPeerProcess } from '../helpers/swarm-peer-process.ts'
import type { NamespaceHost, UplinkShape } from '../helpers/netns.ts'
import type { OriginServer } from '../helpers/origin-server.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import type { FetchResult, PeerProcess, UploadState } from '../helpers/swarm-peer-process.ts'

const KiB = 1024
const MiB = 1024 * KiB
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/** Every visitor's upload cap in this test (8 Mbit/s): above the narrow uplink, well below the wide one. */
const CAP = MiB
const CAP_SETTING = process.env.SWARMSITE_UPLOAD_TEST_CAP === 'none' ? null : CAP
/** A narrow ADSL/cable-like uplink: 3 Mbit/s (366 KiB/s) in front of a 300 ms queue. */
const NARROW: UplinkShape = { rateKbit: 3_000, queueMs: 300 }
const NARROW_BYTES_PER_SECOND = NARROW.rateKbit * 1000 / 8
/** A wide uplink, same kind of queue: 200 Mbit/s, twenty-five times the cap. */
const WIDE: UplinkShape = { rateKbit: 200_000, queueMs: 300, burstBytes: 256 * KiB }
/** The default target of the rule, ms. */
const TARGET_MS = 60
const DOWNLOADERS = 3
/** The origin's rate while the visitor serves, bytes per second: too slow to matter. */
const ORIGIN_TRICKLE = 16 * KiB

interface Run {
  /** The visitor's budget before the load (after its baseline ping), every 250 ms during it, after it. */
  before: UploadState
  polls: UploadState[]
  last: UploadState
  results: FetchResult[]
  /** `tc -s qdisc` of the visitor's uplink after the run. */
  qdisc: string
}

const canShape = process.getuid?.() === 0 && process.env.SWARMSITE_IN_NETNS === '1'

describe('upload congestion rule on shaped links (veth + tbf in network namespaces)', { timeout: 600_000, skip: canShape ? false : 'needs root inside scripts/in-netns.sh' }, () => {
  let dir: string
  let origin: OriginServer
  let relay: RelayProcess
  let bootstrap: string
  let manifestUrl: string
  const processes: PeerProcess[] = []
  const hosts: NamespaceHost[] = []
  const files: Record<string, Buffer> = {
    'narrow.bin': randomBytes(Number(process.env.SWARMSITE_UPLOAD_TEST_NARROW_MIB ?? 2) * MiB + 321),
    'wide.bin': randomBytes(Number(process.env.SWARMSITE_UPLOAD_TEST_WIDE_MIB ?? 4) * MiB + 4321)
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-upload-'))
    for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes)
    // everything listens on every address of the test namespace; the namespace hosts reach
    // it through their link at 10.203.0.1 (the in-netns wrapper's own veth address)
    origin = await startOriginServer({ root: dir, host: '0.0.0.0' })
    const port = new URL(origin.url).port
    const site = `http://10.203.0.1:${port}/`
    const { manifest } = await buildManifest(dir, { origin: site })
    await writeFile(join(dir, 'swarmsite.json'), JSON.stringify(manifest))
    manifestUrl = `${site}swarmsite.json`
    relay = await startRelayProcess({ args: ['--host', '0.0.0.0'] })
    const ws = relay.multiaddrs.find(a => a.includes('/ws/'))!
    bootstrap = ws.replace(/^\/ip4\/[^/]+\//, '/ip4/10.203.0.1/')
  })

  after(async () => {
    await Promise.all(processes.map(async p => { await p.stop() }))
    for (const host of hosts) await host.stop()
    await relay?.stop()
    await origin?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  /**
   * One visitor behind `uplink` holds the files; three visitors in the test namespace fetch
   * `path` from it at once. Returns what the visitor's budget said every 250 ms meanwhile.
   */
  async function serveThrough (index: number, uplink: UplinkShape, path: string): Promise<Run> {
    const host = await startNamespaceHost(index, uplink)
    hosts.push(host)
    const visitor = await startPeerProcess({ bootstrap: [bootstrap], manifest: manifestUrl, seedDir: dir, upload: { maxBytesPerSecond: CAP_SETTING } }, 60_000, { enter: host.enter })
    processes.push(visitor)
    const downloaders = await Promise.all(Array.from({ length: DOWNLOADERS }, async () => {
      // a long deadline: these bytes are to come from the visitor, not from the origin
      const p = await startPeerProcess({ bootstrap: [bootstrap], manifest: manifestUrl, blockDeadlineMs: 120_000 })
      processes.push(p)
      return p
    }))
    // the visitor's baseline ping (an idle uplink) is in before the load starts
    const before = await waitForSample(visitor)
    // every manifest is loaded: from now on the origin only trickles, so the bytes come from
    // the visitor (a downloader that knows no holder yet may still ask the origin first)
    origin.setBytesPerSecond(ORIGIN_TRICKLE)
    const polls: UploadState[] = []
    let done = false
    const polling = (async () => {
      while (!done) {
        polls.push(await visitor.upload())
        await delay(250)
      }
    })()
    let results: FetchResult[]
    try {
      results = await Promise.all(downloaders.map(async d => d.fetch(path)))
    } finally {
      done = true
      await polling
      origin.setBytesPerSecond(undefined)
    }
    const last = await visitor.upload()
    const qdisc = await host.qdisc()
    await Promise.all([visitor, ...downloaders].map(async p => { await p.stop() }))
    await host.stop()
    assert.equal(await linkExists(index), false, 'the namespace and its link are gone')
    return { before, polls, results, qdisc, last }
  }

  async function waitForSample (visitor: PeerProcess): Promise<UploadState> {
    const deadline = Date.now() + 30_000
    for (;;) {
      const state = await visitor.upload()
      if (Number(state.probe?.samples) > 0) return state
      if (Date.now() > deadline) throw new Error('the visitor never measured a round trip to its relay')
      await delay(100)
    }
  }

  function report (name: string, run: Run): void {
    const rates = run.polls.map(p => p.bytesPerSecond === 'Infinity' ? Infinity : p.bytesPerSecond)
    const c = run.last.congestion!
    const line = `# ${name}: rate min ${Math.round(Math.min(...rates) / KiB)} KiB/s, at cap in ${rates.filter(r => r === CAP).length}/${rates.length} polls; ` +
      `base ${String(c.baseDelayMs)} ms, max rtt ${String(c.maxRoundTripMs)} ms, backoffs ${String(c.backoffs)}, lowest ${c.lowestBytesPerSecond === 'Infinity' ? 'none' : `${Math.round(Number(c.lowestBytesPerSecond) / KiB)} KiB/s`}, ` +
      `samples ${String(c.samples)} (${String(run.last.probe?.busy)} dropped for a busy event loop), uploaded ${Math.round(run.last.uploaded / KiB)} KiB; fetches ${run.results.map(r => `${Math.round(r.elapsedMs)} ms`).join(', ')}\n`
    process.stdout.write(line)
    if (process.env.SWARMSITE_UPLOAD_TRACE === '1') {
      for (const p of run.polls) {
        const c = p.congestion!
        process.stdout.write(`#   ${p.bytesPerSecond === 'Infinity' ? 'Inf' : Math.round(p.bytesPerSecond / KiB)} KiB/s ${String(c.mode)} last ${String(c.lastRoundTripMs)} cur ${String(c.currentDelayMs)} q ${String(c.queueingDelayMs)} sent ${Math.round(Number(c.sentBytesPerSecond) / KiB)} samples ${String(c.samples)} up ${Math.round(p.uploaded / KiB)}\n`)
      }
    }
    process.stdout.write(run.qdisc.split('\n').map(l => `#   ${l}`).join('\n') + '\n')
  }

  function checkBytes (path: string, results: FetchResult[]): void {
    let fromOrigin = 0
    for (const r of results) {
      assert.equal(r.status, 200)
      assert.equal(r.sha256, sha256(files[path]!), `${path} arrives byte-exact`)
      fromOrigin += r.stats.bytesFromOrigin
    }
    assert.ok(fromOrigin <= 0.1 * DOWNLOADERS * files[path]!.byteLength, `the peers served it (the origin sent ${fromOrigin} bytes)`)
  }

  it('behind a narrow uplink the visitor backs off below its cap, because its own round trips rose', async () => {
    const run = await serveThrough(1, NARROW, 'narrow.bin')
    report('narrow 3 Mbit/s', run)
    checkBytes('narrow.bin', run.results)
    const c = run.last.congestion!
    assert.ok(Number(c.backoffs) >= 1, 'the rule backed off')
    const lowest = Math.min(...run.polls.map(p => p.bytesPerSecond === 'Infinity' ? Infinity : p.bytesPerSecond))
    assert.ok(lowest < NARROW_BYTES_PER_SECOND, `the allowed rate fell below the link's ${NARROW_BYTES_PER_SECOND} B/s (cap ${CAP}); lowest seen ${lowest}`)
    assert.ok(Number(c.maxRoundTripMs) - Number(c.baseDelayMs) > TARGET_MS, `the probe saw the queue: base ${String(c.baseDelayMs)} ms, max ${String(c.maxRoundTripMs)} ms`)
    assert.ok(run.last.uploaded >= files['narrow.bin']!.byteLength, 'the visitor served at least one copy')
  })

  it('behind a wide uplink the same load leaves the visitor at its cap', async () => {
    const run = await serveThrough(2, WIDE, 'wide.bin')
    report('wide 200 Mbit/s', run)
    checkBytes('wide.bin', run.results)
    const c = run.last.congestion!
    assert.equal(c.backoffs, 0, 'no backoff')
    for (const p of run.polls) assert.equal(p.bytesPerSecond, CAP)
    const during = Number(c.samples) - Number(run.before.congestion!.samples)
    assert.ok(during >= 5, `the probe measured while uploading (${during} samples), so "no backoff" was a decision`)
    assert.ok(run.last.uploaded >= files['wide.bin']!.byteLength, 'the visitor served at least one copy')
  })
})
