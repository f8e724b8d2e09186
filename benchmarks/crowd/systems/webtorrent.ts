/**
 * The WebTorrent baseline, configured as a user who wants it to do its best would: a local
 * WebSocket tracker (`bittorrent-tracker`'s Server, HTTP and UDP off), a .torrent with the
 * origin's plain file URL as web seed (BEP 19), 256 KiB pieces and the `rarest` piece
 * strategy (webtorrent's defaults, `sequential` with 16 KiB pieces, swap only ~7 % of bytes
 * between visitors when a web seed is present; shared NOTES), a memory chunk store per tab
 * and `iceServers: []` on loopback. Each visitor's upload is capped with webtorrent's own
 * `uploadLimit` at the crowd's `uploadBytesPerSecond`.
 */
import { once } from 'node:events'
import { basename, join } from 'node:path'
import { Server } from 'bittorrent-tracker'
import createTorrent from 'create-torrent'
import type { CrowdSetup, PreparedSystem, SystemDriver } from '../types.ts'
import type { AddressInfo } from 'node:net'

/** BitTorrent piece size: 256 KiB, the same block size as the swarm's manifests. */
export const WEBTORRENT_PIECE_BYTES = 256 * 1024
/** A visit that has not completed after this long reports an error (ms). */
export const WEBTORRENT_VISIT_TIMEOUT_MS = 600_000

/** What each page's `benchVisit(config, visitor)` gets (JSON). */
export interface WebTorrentPageConfig {
  /** The .torrent file, base64; no web seed in it (see `webSeedUrls`). */
  torrentBase64: string
  /** The asset's plain URL on each origin port; visitor i uses `webSeedUrls[i % n]`. */
  webSeedUrls: string[]
  /** The tracker, ws://127.0.0.1:port (also the torrent's only announce URL). */
  trackerUrl: string
  strategy: 'rarest' | 'sequential'
  /** Per-visitor upload cap, bytes/s; Infinity = none, 0 = never upload. */
  uploadBytesPerSecond: number | null
  size: number
  timeoutMs: number
}

const HERE = new URL('.', import.meta.url).pathname

/**
 * esbuild options webtorrent 3 needs in a browser bundle: Node's `path` → path-browserify,
 * `events` resolves to the npm `events` package by itself (it must be installed), `global`
 * → globalThis, and a `process` object (browser: true, nextTick, env) injected for the free
 * `process` references of webtorrent, streamx, debug and path-browserify.
 */
export const WEBTORRENT_BUNDLE_OPTIONS: Record<string, unknown> = {
  alias: { path: 'path-browserify' },
  define: { global: 'globalThis' },
  inject: [join(HERE, 'webtorrent-process-shim.ts')]
}

/** The asset's URL under an origin base URL (`http://127.0.0.1:port/`), path segments escaped. */
export function assetUrl (originUrl: string, path: string): string {
  return new URL(path.split('/').map(encodeURIComponent).join('/'), originUrl.endsWith('/') ? originUrl : `${originUrl}/`).href
}

export interface WebSocketTracker {
  /** ws://127.0.0.1:port */
  url: string
  server: Server
  close(): Promise<void>
}

/** A bittorrent-tracker Server on 127.0.0.1 speaking only the WebSocket (WebTorrent) protocol. */
export async function startWebSocketTracker (): Promise<WebSocketTracker> {
  const server = new Server({ http: false, udp: false, ws: true, stats: false })
  // a bad announce is a warning, not a reason to crash the benchmark
  server.on('warning', () => {})
  const failed = once(server, 'error').then(([err]) => { throw err as Error })
  server.listen(0, '127.0.0.1')
  await Promise.race([once(server, 'listening'), failed])
  failed.catch(() => {})
  const { port } = server.http!.address() as AddressInfo
  // its WebSocket server keeps no list of clients, and the HTTP server's close waits for them
  const sockets = new Set<{ terminate(): void, once(event: 'close', listener: () => void): void }>()
  server.ws!.on('connection', (socket: { terminate(): void, once(event: 'close', listener: () => void): void }) => {
    sockets.add(socket)
    socket.once('close', () => { sockets.delete(socket) })
  })
  return {
    url: `ws://127.0.0.1:${port}`,
    server,
    async close () {
      const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
      for (const socket of sockets) socket.terminate()
      server.http!.closeAllConnections()
      await closed
    }
  }
}

/** A single-file .torrent for `file`: announce = the tracker, the given piece size, no web seed. */
export async function makeTorrent (file: string, trackerUrl: string, pieceLength = WEBTORRENT_PIECE_BYTES): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    createTorrent(file, {
      name: basename(file),
      announceList: [[trackerUrl]],
      pieceLength,
      createdBy: 'swarmsite crowd benchmark',
      creationDate: 0
    }, (err, torrent) => { if (err != null) reject(err); else resolve(torrent) })
  })
}

export const webtorrentSystem: SystemDriver = {
  name: 'webtorrent',
  pageEntry: join(HERE, 'webtorrent-page.ts'),
  bundleOptions: WEBTORRENT_BUNDLE_OPTIONS,
  async prepare (setup: CrowdSetup): Promise<PreparedSystem> {
    const tracker = await startWebSocketTracker()
    try {
      const torrent = await makeTorrent(join(setup.asset.dir, ...setup.asset.path.split('/')), tracker.url)
      const pageConfig: WebTorrentPageConfig = {
        torrentBase64: Buffer.from(torrent).toString('base64'),
        // the web seed goes in per page, so that visitors spread over the origin's ports
        // (Chromium allows 6 connections per host:port across all tabs)
        webSeedUrls: setup.originUrls.map(url => assetUrl(url, setup.asset.path)),
        trackerUrl: tracker.url,
        strategy: 'rarest',
        // JSON has no Infinity
        uploadBytesPerSecond: Number.isFinite(setup.uploadBytesPerSecond) ? setup.uploadBytesPerSecond : null,
        size: setup.asset.size,
        timeoutMs: WEBTORRENT_VISIT_TIMEOUT_MS
      }
      return {
        pageConfig,
        async cleanup () { await tracker.close() }
      }
    } catch (err) {
      await tracker.close()
      throw err
    }
  }
}

export default webtorrentSystem
