// Runs in each visitor's page: one WebTorrent client that downloads the asset from the
// tracker's peers and the origin web seed, then keeps seeding until the page closes.
// Sets `window.benchVisit` and `window.benchAfter` (see ../types.ts).
import MemoryChunkStore from 'memory-chunk-store'
import WebTorrent from 'webtorrent'
import type { VisitorResult } from '../types.ts'
import type { WebTorrentPageConfig } from './webtorrent.ts'
import type { Torrent, Wire } from 'webtorrent'

/** Piece payload bytes moved by this page, split by where they came from. */
const counts = { fromPeers: 0, fromOrigin: 0, uploaded: 0 }
const torrents: Torrent[] = []

function hex (bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map(b => b.toString(16).padStart(2, '0')).join('')
}

function fromBase64 (text: string): Uint8Array {
  return Uint8Array.from(atob(text), c => c.charCodeAt(0))
}

/** Counts a wire's piece payload: a web seed's (`type` 'webSeed') is the origin's, any other a peer's. */
function countWire (wire: Wire): void {
  const fromOrigin = wire.type === 'webSeed'
  wire.on('download', (bytes: number) => {
    if (fromOrigin) counts.fromOrigin += bytes
    else counts.fromPeers += bytes
  })
  wire.on('upload', (bytes: number) => { counts.uploaded += bytes })
}

async function visit (config: WebTorrentPageConfig, visitor: number): Promise<VisitorResult> {
  const started = performance.now()
  const since = (): number => performance.now() - started
  // arrivedAtMs: the runner fills it in from its own clock
  const result: VisitorResult = { visitor, system: 'webtorrent', arrivedAtMs: 0, firstByteMs: -1, completeMs: -1, bytes: 0, fromPeers: 0, fromOrigin: 0, uploaded: 0, ok: false }
  const rate = config.uploadBytesPerSecond
  const client = new WebTorrent({
    tracker: { rtcConfig: { iceServers: [] } },
    // -1 = unlimited; a cap of 0 is done with zero unchoke slots below, because webtorrent's
    // throttle also holds back handshakes and requests, which would stop the download too
    uploadLimit: rate == null || rate === 0 ? -1 : Math.max(1, Math.round(rate))
  })
  client.on('error', () => {})
  const torrent = client.add(fromBase64(config.torrentBase64), {
    // its default store in Chromium is OPFS, shared by every tab of an origin
    store: MemoryChunkStore,
    strategy: config.strategy,
    urlList: [config.webSeedUrls[visitor % config.webSeedUrls.length]!],
    ...(rate === 0 ? { uploads: 0 } : {})
  })
  torrents.push(torrent)
  torrent.on('wire', countWire)
  torrent.once('verified', () => { result.firstByteMs = since() })
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    await new Promise<void>((resolve, reject) => {
      torrent.once('done', resolve)
      torrent.once('error', reject)
      client.once('error', reject)
      timer = setTimeout(() => { reject(new Error(`not complete after ${config.timeoutMs} ms`)) }, config.timeoutMs)
    })
    result.completeMs = since()
    const file = torrent.files[0]
    if (file == null) throw new Error('the torrent holds no file')
    const bytes = await file.arrayBuffer()
    result.bytes = bytes.byteLength
    result.sha256 = hex(await crypto.subtle.digest('SHA-256', bytes))
    result.ok = result.bytes === config.size
    if (!result.ok) result.error = `got ${result.bytes} bytes, expected ${config.size}`
  } catch (err) {
    result.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  } finally {
    clearTimeout(timer)
  }
  // the client stays: it seeds until the page closes
  result.fromPeers = counts.fromPeers
  result.fromOrigin = counts.fromOrigin
  result.uploaded = counts.uploaded
  return result
}

/** What this page adds to `window` (kept local: other systems' pages declare their own). */
interface BenchWindow {
  benchVisit: (config: WebTorrentPageConfig, visitor: number) => Promise<VisitorResult>
  /** Piece bytes uploaded up to now; `wireBytesUploaded` also counts protocol messages. */
  benchAfter: () => Promise<{ uploaded: number, wireBytesUploaded: number }>
}

const bench = window as unknown as BenchWindow
bench.benchVisit = visit
bench.benchAfter = async () => ({ uploaded: counts.uploaded, wireBytesUploaded: torrents.reduce((sum, t) => sum + t.uploaded, 0) })
