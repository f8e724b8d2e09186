/**
 * The real parts a fault scenario runs in: the crowd benchmark's rate-capped origin (its own byte
 * counter), the relay process (killable and restartable with the same key and port), one
 * Chromium with a browser context per visitor page, and Node visitor processes seeded with the
 * asset that serve honestly, corrupt every block, or stall every want.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { startRelayProcess } from '../../test/helpers/relay-process.ts'
import { startPeerProcess } from '../../test/helpers/swarm-peer-process.ts'
import { startCrowdOrigin } from '../crowd/origin.ts'
import { servePages, startCrowdBrowser } from '../crowd/pages.ts'
import type { FaultPageConfig, FaultPageState } from './types.ts'
import type { Manifest } from '../../src/index.ts'
import type { RelayProcess } from '../../test/helpers/relay-process.ts'
import type { PeerProcess, PeerProcessConfig } from '../../test/helpers/swarm-peer-process.ts'
import type { CrowdOrigin } from '../crowd/origin.ts'
import type { CrowdBrowser, PageServer, VisitorPage } from '../crowd/pages.ts'
import type { CrowdAsset, SystemDriver } from '../crowd/types.ts'

/** The visitor page as a crowd "system", so the crowd benchmark's page server and browser serve it. */
export const FAULT_PAGE: SystemDriver = {
  name: 'faults',
  pageEntry: new URL('./visitor-page.ts', import.meta.url).pathname,
  async prepare () { throw new Error('the fault suite builds its page config itself') }
}

/** Bundles the visitor page once and serves it, for every world of an invocation. */
export async function serveFaultPages (): Promise<PageServer> {
  return servePages([FAULT_PAGE])
}

export interface FaultVisitor extends VisitorPage {
  /** The page's `faultsState()`; undefined once the page is closed. */
  state(): Promise<FaultPageState | undefined>
  closed: boolean
}

export type HolderServe = NonNullable<PeerProcessConfig['serve']>

export interface FaultWorldInit {
  asset: CrowdAsset
  manifest: Manifest
  server: PageServer
  originBytesPerSecond: number
  uploadBytesPerSecond: number
  blockDeadlineMs?: number
  /** Origin ports (Chromium: 6 connections per host:port); default ceil(visitors / 2). */
  originPorts: number
}

export interface FaultWorld {
  origin: CrowdOrigin
  /** The relay now running (a new object after restartRelay). */
  relay(): RelayProcess
  relayWs: string
  browser: CrowdBrowser
  pageConfig: FaultPageConfig
  /** Node visitor processes seeded with the asset; `serve` says how they answer wants. */
  startHolders(count: number, serve: HolderServe): Promise<PeerProcess[]>
  /** Visitor pages, opened (a fresh browser context each) but not yet visiting. */
  openVisitors(count: number): Promise<FaultVisitor[]>
  /** SIGKILLs the relay and waits for it to be gone. */
  killRelay(): Promise<void>
  /** Starts the relay again with the same key file and WebSockets port; resolves when it listens. */
  restartRelay(): Promise<void>
  close(): Promise<void>
}

async function bounded<T> (promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([promise, delay(ms, undefined, { ref: false })]).catch(() => undefined)
}

export async function startFaultWorld (init: FaultWorldInit): Promise<FaultWorld> {
  const keyDir = await mkdtemp(join(tmpdir(), 'swarmsite-faults-relay-'))
  const keyFile = join(keyDir, 'relay.key')
  const holders: PeerProcess[] = []
  let origin: CrowdOrigin | undefined
  let relay: RelayProcess | undefined
  let browser: CrowdBrowser | undefined
  let opened = 0
  const close = async (): Promise<void> => {
    await bounded(browser?.close() ?? Promise.resolve(), 30_000)
    await Promise.all(holders.map(async h => bounded(h.stop(), 20_000)))
    await bounded(relay?.stop() ?? Promise.resolve(null), 15_000)
    await bounded(origin?.stop() ?? Promise.resolve(), 10_000)
    await rm(keyDir, { recursive: true, force: true })
  }
  try {
    origin = await startCrowdOrigin({ root: init.asset.dir, ports: init.originPorts, bytesPerSecond: init.originBytesPerSecond })
    // the Node holders load the manifest by URL, as a site's visitors would
    await writeFile(join(init.asset.dir, 'swarmsite.json'), JSON.stringify({ ...init.manifest, origin: origin.urls[0] }))
    relay = await startRelayProcess({ keyFile })
    const wsPort = Number(/\/tcp\/(\d+)\/ws/.exec(relay.ws)?.[1])
    if (!Number.isInteger(wsPort)) throw new Error(`no WebSockets port in ${relay.ws}`)
    const relayWs = relay.ws
    browser = await startCrowdBrowser(init.server.url)
    const o = origin
    const b = browser
    const pageConfig: FaultPageConfig = {
      manifest: { ...init.manifest, origin: o.urls[0]! },
      path: init.asset.path,
      size: init.asset.size,
      sha256: init.asset.sha256,
      originUrls: o.urls,
      relayWs,
      uploadBytesPerSecond: Number.isFinite(init.uploadBytesPerSecond) ? init.uploadBytesPerSecond : null,
      ...(init.blockDeadlineMs != null ? { blockDeadlineMs: init.blockDeadlineMs } : {})
    }
    return {
      origin: o,
      relay: () => relay!,
      relayWs,
      browser: b,
      pageConfig,
      async startHolders (count, serve) {
        const started = await Promise.all(Array.from({ length: count }, async () => startPeerProcess({
          bootstrap: [relayWs],
          manifest: `${o.urls[0]}swarmsite.json`,
          seedDir: init.asset.dir,
          serve,
          upload: { maxBytesPerSecond: Number.isFinite(init.uploadBytesPerSecond) ? init.uploadBytesPerSecond : null },
          ...(init.blockDeadlineMs != null ? { blockDeadlineMs: init.blockDeadlineMs } : {})
        }, 90_000)))
        holders.push(...started)
        return started
      },
      async openVisitors (count) {
        const out: FaultVisitor[] = []
        // a few at a time: opening many contexts at once only queues them for CPU
        let next = 0
        const first = opened
        opened += count
        await Promise.all(Array.from({ length: Math.min(4, count) }, async () => {
          while (next < count) {
            const i = next++
            const page = await b.open(FAULT_PAGE.name, first + i)
            const visitor: FaultVisitor = Object.assign(page, {
              closed: false,
              async state () {
                if (visitor.closed) return undefined
                return bounded(page.page.evaluate(() => window.faultsState?.()) as Promise<FaultPageState | undefined>, 15_000)
              },
              async close () {
                visitor.closed = true
                await page.context.close().catch(() => {})
              }
            })
            out[i] = visitor
          }
        }))
        return out
      },
      async killRelay () {
        const r = relay!
        if (r.child.exitCode != null || r.child.signalCode != null) return
        const gone = new Promise<void>(resolve => { r.child.once('exit', () => { resolve() }) })
        r.child.kill('SIGKILL')
        await gone
      },
      async restartRelay () {
        await relay?.stop()
        relay = await startRelayProcess({ keyFile, wsPort, timeoutMs: 60_000 })
        if (relay.ws !== relayWs) throw new Error(`the restarted relay listens at ${relay.ws}, not ${relayWs}`)
      },
      close
    }
  } catch (err) {
    await close()
    throw err
  }
}
