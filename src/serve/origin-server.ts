/**
 * A static origin web server (`swarmsite serve`, the demo, tests and benchmarks): serves a
 * folder over real HTTP with single byte ranges, CORS for pages on other ports, per-file byte
 * counters (also as JSON at `ORIGIN_STATS_PATH`), an optional shared rate limit, and switches
 * for misbehaviour (corrupt bytes, ignoring `Range`) that tests use.
 * It imports nothing from the content layer on purpose: it is the reference the origin client
 * is tested against.
 */
import { once } from 'node:events'
import { open, stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import { extname, resolve, sep } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { CHUNK_BYTES, DEFAULT_CACHE_CONTROL, ORIGIN_STATS_PATH, PACED_CHUNK_BYTES } from './constants.ts'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface OriginServerOptions {
  /** Folder to serve. */
  root: string
  /** Default 0 (any free port). */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  /** Shared limit on body bytes per second across all responses; default none. */
  bytesPerSecond?: number
  /** Answer every GET with 200 and the whole file, as a server without range support does. */
  ignoreRange?: boolean
  /** `Cache-Control` of file responses; default `no-store`, so browsers' caches don't hide origin traffic from the counters. */
  cacheControl?: string
}

export interface OriginRequest {
  method: string
  /** Decoded path relative to the root (`css/site.css`), or the raw path when it was refused. */
  path: string
  range?: string
  status: number
  /** Body bytes written so far. */
  bytes: number
}

/** What `GET /__swarmsite/origin-stats` answers: body bytes served since the last reset. */
export interface OriginStats {
  /** Per relative path (`images/a.jpg`), files that were served at least one byte. */
  files: Record<string, number>
  total: number
  /** Requests answered (the stats requests themselves not counted). */
  requests: number
}

export interface OriginServer {
  /** `http://host:port/`, ending in `/`. */
  url: string
  port: number
  /** Body bytes written since the last reset: in total, or for one relative path. */
  bytesServed: (path?: string) => number
  /** Requests since the last reset, oldest first (copies). */
  requests: () => OriginRequest[]
  /** The counters as `GET /__swarmsite/origin-stats` reports them. */
  stats: () => OriginStats
  resetCounters: () => void
  /** Serve `path` (relative) with every byte inverted, or normally again. */
  setCorrupt: (path: string, on: boolean) => void
  setIgnoreRange: (on: boolean) => void
  /** Change the shared rate limit; undefined removes it. */
  setBytesPerSecond: (bytesPerSecond: number | undefined) => void
  /** Closes the server and every open connection. */
  stop: () => Promise<void>
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.wasm': 'application/wasm'
}

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Accept-Ranges'
}

/**
 * Pacing shared by all responses: each grant is scheduled after the previous ones at the
 * configured rate, with at most `burstMs` of unused time carried over.
 */
class Pacer {
  bytesPerSecond: number | undefined
  #nextAt = 0
  readonly #burstMs = 50

  constructor (bytesPerSecond: number | undefined) {
    this.bytesPerSecond = bytesPerSecond
  }

  async take (bytes: number): Promise<void> {
    const rate = this.bytesPerSecond
    if (rate === undefined || rate === Infinity) return
    const now = performance.now()
    const at = Math.max(this.#nextAt, now - this.#burstMs)
    this.#nextAt = at + bytes / rate * 1000
    if (this.#nextAt > now) await delay(this.#nextAt - now)
  }
}

/** Waits for `drain` or `close`, whichever comes first, and leaves no listener behind. */
async function drainedOrClosed (res: ServerResponse): Promise<void> {
  await new Promise<void>(resolve => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

/** The single range of a `Range` header: `[start, end]`, 'unsatisfiable', or undefined (serve all). */
function rangeOf (header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '')
  if (match == null || (match[1] === '' && match[2] === '')) return undefined
  if (match[1] === '') {
    const n = Number(match[2])
    return n === 0 || size === 0 ? 'unsatisfiable' : [Math.max(0, size - n), size - 1]
  }
  const start = Number(match[1])
  const end = match[2] === '' ? Infinity : Number(match[2])
  if (end < start) return undefined
  if (start >= size) return 'unsatisfiable'
  return [start, Math.min(end, size - 1)]
}

/** The relative path a URL path names under the root, or undefined for traversal and other refusals. */
function relativePathOf (urlPath: string): string | undefined {
  let segments: string[]
  try {
    segments = urlPath.split('/').slice(1).map(s => decodeURIComponent(s))
  } catch {
    return undefined
  }
  if (segments.some(s => s === '.' || s === '..' || s.includes('/') || s.includes('\\') || s.includes('\0'))) return undefined
  if (segments.at(-1) === '') segments[segments.length - 1] = 'index.html'
  if (segments.slice(0, -1).includes('')) return undefined
  return segments.join('/')
}

export async function startOriginServer (options: OriginServerOptions): Promise<OriginServer> {
  const root = resolve(options.root)
  const host = options.host ?? '127.0.0.1'
  const cacheControl = options.cacheControl ?? DEFAULT_CACHE_CONTROL
  const checkRate = (rate: number | undefined): number | undefined => {
    if (rate !== undefined && !(rate > 0)) throw new RangeError(`bytesPerSecond must be positive, got ${rate}`)
    return rate
  }
  const pacer = new Pacer(checkRate(options.bytesPerSecond))
  const corrupt = new Set<string>()
  let ignoreRange = options.ignoreRange ?? false
  let log: OriginRequest[] = []
  let perPath = new Map<string, number>()
  let total = 0

  async function handle (req: IncomingMessage, res: ServerResponse, record: OriginRequest): Promise<void> {
    const method = req.method ?? 'GET'
    if (method === 'OPTIONS') {
      record.status = 204
      res.writeHead(204, {
        ...CORS_HEADERS,
        'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
        'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? 'Range',
        'Access-Control-Max-Age': '600'
      })
      res.end()
      return
    }
    if (method !== 'GET' && method !== 'HEAD') {
      record.status = 405
      res.writeHead(405, { ...CORS_HEADERS, Allow: 'GET, HEAD, OPTIONS' }).end()
      return
    }

    const urlPath = new URL(req.url ?? '/', 'http://origin').pathname
    const relative = relativePathOf(urlPath)
    const file = relative === undefined ? undefined : resolve(root, ...relative.split('/'))
    const size = file === undefined || !(file.startsWith(root + sep)) ? undefined : await stat(file).then(s => s.isFile() ? s.size : undefined, () => undefined)
    if (relative !== undefined) record.path = relative
    if (file === undefined || size === undefined) {
      record.status = 404
      res.writeHead(404, { ...CORS_HEADERS, 'Content-Length': '0' }).end()
      return
    }

    const range = ignoreRange ? undefined : rangeOf(req.headers.range, size)
    const headers: Record<string, string> = {
      ...CORS_HEADERS,
      'Accept-Ranges': ignoreRange ? 'none' : 'bytes',
      'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Cache-Control': cacheControl
    }
    if (range === 'unsatisfiable') {
      record.status = 416
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': '0' }).end()
      return
    }
    const [start, end] = range ?? [0, size - 1]
    const length = end - start + 1
    record.status = range === undefined ? 200 : 206
    if (range !== undefined) headers['Content-Range'] = `bytes ${start}-${end}/${size}`
    headers['Content-Length'] = String(length)
    res.writeHead(record.status, headers)
    if (method === 'HEAD' || length === 0) {
      res.end()
      return
    }

    const flip = corrupt.has(relative!)
    const chunkSize = pacer.bytesPerSecond === undefined ? CHUNK_BYTES : PACED_CHUNK_BYTES
    const fh = await open(file, 'r')
    try {
      let offset = start
      while (offset <= end && !res.destroyed) {
        const want = Math.min(chunkSize, end + 1 - offset)
        await pacer.take(want)
        if (res.destroyed) break
        const buffer = Buffer.allocUnsafe(want)
        const { bytesRead } = await fh.read(buffer, 0, want, offset)
        if (bytesRead === 0) break // the file shrank
        const chunk = buffer.subarray(0, bytesRead)
        if (flip) for (let i = 0; i < chunk.length; i++) chunk[i] = chunk[i]! ^ 0xff
        offset += bytesRead
        record.bytes += bytesRead
        total += bytesRead
        perPath.set(relative!, (perPath.get(relative!) ?? 0) + bytesRead)
        if (!res.write(chunk)) await drainedOrClosed(res)
      }
    } finally {
      await fh.close()
    }
    if (!res.destroyed && !res.writableEnded) res.end()
  }

  const stats = (): OriginStats => ({ files: Object.fromEntries(perPath), total, requests: log.length })

  const server = createServer((req, res) => {
    if ((req.url ?? '/').split('?')[0] === ORIGIN_STATS_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      const body = JSON.stringify(stats())
      res.writeHead(200, { ...CORS_HEADERS, 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': String(Buffer.byteLength(body)) })
      res.end(req.method === 'GET' ? body : undefined)
      return
    }
    const record: OriginRequest = { method: req.method ?? 'GET', path: req.url ?? '/', status: 0, bytes: 0 }
    if (req.headers.range !== undefined) record.range = req.headers.range
    log.push(record)
    handle(req, res, record).catch(err => {
      if (!res.headersSent) {
        record.status = 500
        res.writeHead(500, CORS_HEADERS).end(String(err?.message ?? err))
      } else {
        res.destroy()
      }
    })
  })
  // a port in use or a bad host rejects here (once() rejects on 'error')
  server.listen(options.port ?? 0, host)
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const urlHost = host.includes(':') ? `[${host}]` : host

  return {
    url: `http://${urlHost}:${port}/`,
    port,
    bytesServed: path => path === undefined ? total : (perPath.get(path) ?? 0),
    requests: () => log.map(r => ({ ...r })),
    stats,
    resetCounters: () => {
      log = []
      perPath = new Map()
      total = 0
    },
    setCorrupt: (path, on) => { if (on) corrupt.add(path); else corrupt.delete(path) },
    setIgnoreRange: on => { ignoreRange = on },
    setBytesPerSecond: bytesPerSecond => { pacer.bytesPerSecond = checkRate(bytesPerSecond) },
    stop: async () => {
      const closed = new Promise<void>(resolve => server.close(() => { resolve() }))
      server.closeAllConnections()
      await closed
    }
  }
}
