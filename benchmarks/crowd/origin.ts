/**
 * The crowd benchmark's origin: one folder served over HTTP/1.1 on several ports that share one
 * rate limiter and one set of byte counters, so N tabs of one Chromium (6 connections per
 * host:port) reach the origin as N separate visitors would, and the cap is the origin's, not
 * each port's. Single byte ranges, CORS for the benchmark pages, `Cache-Control: no-store`.
 */
import { once } from 'node:events'
import { open, stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import { resolve, sep } from 'node:path'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

// ---- the limiter ---------------------------------------------------------------------

export interface TokenBucketInit {
  /** Refill rate, bytes per second; Infinity = no limit. */
  bytesPerSecond: number
  /** Bucket size, bytes: what an idle limiter lets through at once; default 64 KiB. */
  burstBytes?: number
  /** Clock in ms; default performance.now(). */
  now?: () => number
  /** How to wait; default setTimeout. For tests. */
  sleep?: (ms: number) => Promise<void>
}

export interface TokenBucket {
  /** Resolves when `bytes` may go; callers are served in call order (FIFO), so concurrent responses share the rate. */
  take(bytes: number): Promise<void>
  readonly bytesPerSecond: number
  /** Bytes granted so far. */
  granted(): number
}

const defaultSleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/**
 * A token bucket as a schedule: each grant is placed after the previous ones at the configured
 * rate, with at most `burstBytes` of unused capacity carried over from idle time. FIFO by
 * construction: a later caller's grant is scheduled after every earlier one.
 */
export function tokenBucket (init: TokenBucketInit): TokenBucket {
  const rate = init.bytesPerSecond
  if (!(rate > 0)) throw new RangeError(`bytesPerSecond must be > 0 (Infinity for none), got ${rate}`)
  const burst = init.burstBytes ?? 65_536
  if (!(burst >= 0)) throw new RangeError(`burstBytes must be >= 0, got ${burst}`)
  const now = init.now ?? (() => performance.now())
  const sleep = init.sleep ?? defaultSleep
  /** When the bucket is next empty with every grant so far paid (ms on `now`'s clock). */
  let paidUntil = -Infinity
  let total = 0
  return {
    bytesPerSecond: rate,
    granted: () => total,
    async take (bytes) {
      if (!(bytes >= 0)) throw new RangeError(`bytes must be >= 0, got ${bytes}`)
      total += bytes
      if (rate === Infinity) return
      const t = now()
      const start = Math.max(paidUntil, t - burst / rate * 1000)
      paidUntil = start + bytes / rate * 1000
      if (paidUntil > t) await sleep(paidUntil - t)
    }
  }
}

// ---- the server ----------------------------------------------------------------------

export interface CrowdOriginInit {
  /** Folder to serve. */
  root: string
  /** How many ports (each its own server, all sharing the limiter and counters); default 1. */
  ports?: number
  /** Shared cap on body bytes per second; default Infinity (none). */
  bytesPerSecond?: number
  /** Default 127.0.0.1. */
  host?: string
}

export interface CrowdOrigin {
  /** `http://127.0.0.1:<port>/`, one per port. */
  urls: string[]
  bytesPerSecond: number
  /** Body bytes sent since the start or the last reset: in total, or of one relative path. */
  bytesServed(path?: string): number
  /** Requests started since the start or the last reset. */
  requests(): number
  /** Body requests since the last reset: when (ms after the reset), the byte range asked, bytes sent. */
  log(): OriginLogEntry[]
  resetCounters(): void
  /** Closes every port and connection. */
  stop(): Promise<void>
}

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Accept-Ranges'
}

/** `[start, end]` of a single `bytes=` range, 'unsatisfiable', or undefined (serve the whole file). */
export function parseRange (header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '')
  if (m == null || (m[1] === '' && m[2] === '')) return undefined
  if (m[1] === '') {
    const n = Number(m[2])
    return n === 0 || size === 0 ? 'unsatisfiable' : [Math.max(0, size - n), size - 1]
  }
  const start = Number(m[1])
  const end = m[2] === '' ? Infinity : Number(m[2])
  if (end < start) return undefined
  if (start >= size) return 'unsatisfiable'
  return [start, Math.min(end, size - 1)]
}

/** Resolves on the response's next 'drain' or 'close', leaving no listener behind. */
function drainOrClose (res: ServerResponse): Promise<void> {
  return new Promise(resolve => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

export interface OriginLogEntry { atMs: number, start: number, end: number, sent: number }

export async function startCrowdOrigin (init: CrowdOriginInit): Promise<CrowdOrigin> {
  const root = resolve(init.root)
  const host = init.host ?? '127.0.0.1'
  const ports = init.ports ?? 1
  if (!Number.isInteger(ports) || ports < 1) throw new RangeError(`ports must be an integer >= 1, got ${ports}`)
  const rate = init.bytesPerSecond ?? Infinity
  const bucket = tokenBucket({ bytesPerSecond: rate })
  const chunkBytes = rate === Infinity ? 65_536 : 16_384
  let total = 0
  let requests = 0
  let perPath = new Map<string, number>()
  let log: OriginLogEntry[] = []
  let resetAt = performance.now()

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    requests++
    const method = req.method ?? 'GET'
    if (method === 'OPTIONS') {
      res.writeHead(204, { ...CORS, 'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS', 'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? 'Range', 'Access-Control-Max-Age': '600' }).end()
      return
    }
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { ...CORS, Allow: 'GET, HEAD, OPTIONS' }).end()
      return
    }
    let relative: string
    try {
      relative = decodeURIComponent(new URL(req.url ?? '/', 'http://origin').pathname).replace(/^\/+/, '')
    } catch {
      res.writeHead(400, CORS).end()
      return
    }
    const file = resolve(root, relative)
    const size = relative.split('/').includes('..') || !file.startsWith(root + sep)
      ? undefined
      : await stat(file).then(s => s.isFile() ? s.size : undefined, () => undefined)
    if (size === undefined) {
      res.writeHead(404, { ...CORS, 'Content-Length': '0' }).end()
      return
    }
    const range = parseRange(req.headers.range, size)
    const headers: Record<string, string> = { ...CORS, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-store' }
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': '0' }).end()
      return
    }
    const [start, end] = range ?? [0, size - 1]
    if (range !== undefined) headers['Content-Range'] = `bytes ${start}-${end}/${size}`
    headers['Content-Length'] = String(end - start + 1)
    res.writeHead(range === undefined ? 200 : 206, headers)
    if (method === 'HEAD' || end < start) {
      res.end()
      return
    }
    const fh = await open(file, 'r')
    const entry: OriginLogEntry = { atMs: Math.round(performance.now() - resetAt), start, end, sent: 0 }
    if (log.length < 100_000) log.push(entry)
    try {
      let offset = start
      while (offset <= end && !res.destroyed) {
        const want = Math.min(chunkBytes, end + 1 - offset)
        await bucket.take(want)
        if (res.destroyed) break
        const buffer = Buffer.allocUnsafe(want)
        const { bytesRead } = await fh.read(buffer, 0, want, offset)
        if (bytesRead === 0) break
        offset += bytesRead
        entry.sent += bytesRead
        total += bytesRead
        perPath.set(relative, (perPath.get(relative) ?? 0) + bytesRead)
        if (!res.write(buffer.subarray(0, bytesRead))) await drainOrClose(res)
      }
    } finally {
      await fh.close()
    }
    if (!res.destroyed && !res.writableEnded) res.end()
  }

  const servers: Server[] = []
  const stopAll = async (): Promise<void> => {
    await Promise.all(servers.map(async server => {
      const closed = new Promise<void>(resolve => server.close(() => { resolve() }))
      server.closeAllConnections()
      await closed
    }))
  }
  try {
    for (let i = 0; i < ports; i++) {
      const server = createServer((req, res) => {
        handle(req, res).catch(err => {
          if (!res.headersSent) res.writeHead(500, CORS).end(String(err?.message ?? err))
          else res.destroy()
        })
      })
      servers.push(server)
      server.listen(0, host)
      await once(server, 'listening')
    }
  } catch (err) {
    await stopAll()
    throw err
  }
  const urlHost = host.includes(':') ? `[${host}]` : host
  return {
    urls: servers.map(s => `http://${urlHost}:${(s.address() as AddressInfo).port}/`),
    bytesPerSecond: rate,
    bytesServed: path => path === undefined ? total : (perPath.get(path) ?? 0),
    requests: () => requests,
    log: () => log.map(e => ({ ...e })),
    resetCounters: () => { total = 0; requests = 0; perPath = new Map(); log = []; resetAt = performance.now() },
    stop: stopAll
  }
}
