import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { InvalidOriginError, OriginHttpError } from '../../src/content/errors.ts'
import { fetchOriginRange, originUrlFor } from '../../src/content/origin.ts'
import { freePort } from '../helpers/free-port.ts'
import { startOriginServer } from '../helpers/origin-server.ts'
import type { OriginServer } from '../helpers/origin-server.ts'
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

const ODD_NAMES = ['with space.txt', 'hash#tag.txt', 'what?.txt', 'pct%20.txt', 'ünï cödé ✓.txt', 'plus+&=;,.txt']

let root: string
let origin: OriginServer
const files = new Map<string, Uint8Array>()

async function addFile (path: string, bytes: Uint8Array): Promise<void> {
  const full = join(root, ...path.split('/'))
  await mkdir(join(full, '..'), { recursive: true })
  await writeFile(full, bytes)
  files.set(path, new Uint8Array(bytes))
}

function bytesOf (path: string): Uint8Array {
  const bytes = files.get(path)
  assert.ok(bytes)
  return bytes
}

/** A raw request (no URL normalisation), for paths fetch would clean up. */
async function raw (url: string, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number, headers: IncomingHttpHeaders, body: Buffer }> {
  const { hostname, port } = new URL(url)
  const req = request({ host: hostname, port, path, method, headers })
  req.end()
  const [res] = await once(req, 'response')
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk)
  return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }
}

/** A one-off server that answers every request with `respond`. */
async function tinyServer (respond: (res: ServerResponse) => void): Promise<{ url: string, server: Server }> {
  const server = createServer((_req, res) => { respond(res) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/file.bin`, server }
}

async function closeServer (server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>(resolve => server.close(() => { resolve() }))
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'swarmsite-origin-'))
  await addFile('index.html', new TextEncoder().encode('<!doctype html><title>hi</title>'))
  await addFile('data.bin', randomBytes(300_000))
  await addFile('css/site.css', new TextEncoder().encode('body { color: red }'))
  await addFile('big.bin', randomBytes(4 * 1_048_576))
  await addFile('empty.txt', new Uint8Array(0))
  for (const name of ODD_NAMES) await addFile(`odd dir/${name}`, new TextEncoder().encode(`content of ${name}`))
  origin = await startOriginServer({ root })
})

after(async () => {
  await origin?.stop()
  await rm(root, { recursive: true, force: true })
})

describe('originUrlFor', () => {
  it('joins an origin and a relative path', () => {
    assert.equal(originUrlFor('https://example.org/', 'css/site.css'), 'https://example.org/css/site.css')
    assert.equal(originUrlFor('https://example.org/base/path/', 'a/b.js'), 'https://example.org/base/path/a/b.js')
  })

  it('treats an origin without a trailing slash as a folder', () => {
    assert.equal(originUrlFor('https://example.org', 'a.js'), 'https://example.org/a.js')
    assert.equal(originUrlFor('https://example.org/base', 'a.js'), 'https://example.org/base/a.js')
  })

  it('percent-encodes each segment but keeps /', () => {
    assert.equal(originUrlFor('https://example.org/', 'my dir/a b.txt'), 'https://example.org/my%20dir/a%20b.txt')
    assert.equal(originUrlFor('https://example.org/', 'x/hash#tag?.txt'), 'https://example.org/x/hash%23tag%3F.txt')
    assert.equal(originUrlFor('https://example.org/', '100%.txt'), 'https://example.org/100%25.txt')
    assert.equal(originUrlFor('https://example.org/', 'ü.txt'), 'https://example.org/%C3%BC.txt')
    assert.equal(originUrlFor('https://example.org/', 'a:b@c.txt'), 'https://example.org/a%3Ab%40c.txt')
  })

  it('keeps the path under the origin (no scheme or host injection)', () => {
    const url = new URL(originUrlFor('https://example.org/site/', 'javascript:alert(1)'))
    assert.equal(url.origin, 'https://example.org')
    assert.ok(url.pathname.startsWith('/site/'))
    const other = new URL(originUrlFor('https://example.org/site/', '%2F%2Fevil.example/x'))
    assert.equal(other.host, 'example.org')
  })

  it('rejects paths with ., .. or empty segments', () => {
    for (const path of ['', '/abs.txt', 'a//b', 'a/', './a', 'a/../b', '..']) {
      assert.throws(() => originUrlFor('https://example.org/', path), TypeError, path)
    }
  })

  it('rejects a bad origin', () => {
    assert.throws(() => originUrlFor('ftp://example.org/', 'a'), InvalidOriginError)
    assert.throws(() => originUrlFor('not a url', 'a'), InvalidOriginError)
  })

  it('gives URLs the origin server resolves, for odd file names', async () => {
    for (const name of ODD_NAMES) {
      const path = `odd dir/${name}`
      const res = await fetch(originUrlFor(origin.url, path))
      assert.equal(res.status, 200, path)
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytesOf(path), path)
    }
  })
})

describe('fetchOriginRange', () => {
  it('fetches a range with 206 and Content-Range', async () => {
    origin.resetCounters()
    const data = bytesOf('data.bin')
    const got = await fetchOriginRange(originUrlFor(origin.url, 'data.bin'), { start: 1000, end: 263_143 })
    assert.deepEqual(got, data.subarray(1000, 263_144))
    const [req] = origin.requests()
    assert.equal(req?.status, 206)
    assert.equal(req?.range, 'bytes=1000-263143')
    assert.equal(origin.bytesServed('data.bin'), 262_144)
  })

  it('fetches the first, last and a single byte', async () => {
    const data = bytesOf('data.bin')
    const url = originUrlFor(origin.url, 'data.bin')
    assert.deepEqual(await fetchOriginRange(url, { start: 0, end: 0 }), data.subarray(0, 1))
    assert.deepEqual(await fetchOriginRange(url, { start: data.length - 1, end: data.length - 1 }), data.subarray(-1))
    assert.deepEqual(await fetchOriginRange(url, { start: 0, end: data.length - 1 }), data)
  })

  it('reads only what it needs from a host that ignores Range (200), then cancels', async () => {
    const slow = await startOriginServer({ root, ignoreRange: true, bytesPerSecond: 2 * 1_048_576 })
    try {
      const data = bytesOf('big.bin')
      const got = await fetchOriginRange(originUrlFor(slow.url, 'big.bin'), { start: 100_000, end: 199_999 })
      assert.deepEqual(got, data.subarray(100_000, 200_000))
      assert.equal(slow.requests()[0]?.status, 200)
      await delay(300)
      const served = slow.bytesServed('big.bin')
      assert.ok(served < 1_048_576, `the server stopped early (${served} of ${data.length} bytes)`)
    } finally {
      await slow.stop()
    }
  })

  it('slices a range out of a full 200 body', async () => {
    origin.setIgnoreRange(true)
    try {
      const data = bytesOf('data.bin')
      const url = originUrlFor(origin.url, 'data.bin')
      assert.deepEqual(await fetchOriginRange(url, { start: 0, end: 9 }), data.subarray(0, 10))
      assert.deepEqual(await fetchOriginRange(url, { start: data.length - 10, end: data.length - 1 }), data.subarray(-10))
    } finally {
      origin.setIgnoreRange(false)
    }
  })

  it('rejects a 200 body too short for the range', async () => {
    origin.setIgnoreRange(true)
    try {
      const url = originUrlFor(origin.url, 'css/site.css')
      await assert.rejects(fetchOriginRange(url, { start: 0, end: 1000 }), (err: any) => {
        assert.equal(err.name, 'OriginHttpError')
        assert.equal(err.status, 200)
        assert.match(err.message, /css\/site\.css/)
        return true
      })
    } finally {
      origin.setIgnoreRange(false)
    }
  })

  it('rejects a range past the end of the file (416)', async () => {
    const url = originUrlFor(origin.url, 'css/site.css')
    await assert.rejects(fetchOriginRange(url, { start: 5000, end: 6000 }), (err: any) => {
      assert.ok(err instanceof OriginHttpError)
      assert.equal(err.status, 416)
      assert.equal(err.url, url)
      assert.match(err.message, /416/)
      return true
    })
  })

  it('rejects a range the file is too short for (Content-Range ends early)', async () => {
    const url = originUrlFor(origin.url, 'css/site.css')
    await assert.rejects(fetchOriginRange(url, { start: 0, end: 1000 }), (err: any) => {
      assert.equal(err.name, 'OriginHttpError')
      assert.equal(err.status, 206)
      assert.match(err.message, /Content-Range/)
      return true
    })
  })

  it('rejects 404 naming the URL and status', async () => {
    const url = originUrlFor(origin.url, 'missing.bin')
    await assert.rejects(fetchOriginRange(url, { start: 0, end: 9 }), (err: any) => {
      assert.equal(err.name, 'OriginHttpError')
      assert.equal(err.status, 404)
      assert.ok(err.message.includes(url))
      assert.match(err.message, /404/)
      return true
    })
  })

  it('rejects a mismatched Content-Range', async () => {
    const { url, server } = await tinyServer(res => {
      res.writeHead(206, { 'Content-Range': 'bytes 10-19/100', 'Content-Length': '10' }).end(Buffer.alloc(10))
    })
    try {
      await assert.rejects(fetchOriginRange(url, { start: 0, end: 9 }), (err: any) => {
        assert.equal(err.name, 'OriginHttpError')
        assert.match(err.message, /bytes 10-19\/100/)
        assert.match(err.message, /does not match/)
        return true
      })
    } finally {
      await closeServer(server)
    }
  })

  it('rejects a malformed Content-Range', async () => {
    const { url, server } = await tinyServer(res => {
      res.writeHead(206, { 'Content-Range': 'bytes */100', 'Content-Length': '10' }).end(Buffer.alloc(10))
    })
    try {
      await assert.rejects(fetchOriginRange(url, { start: 0, end: 9 }), { name: 'OriginHttpError' })
    } finally {
      await closeServer(server)
    }
  })

  it('accepts a 206 without Content-Range (hidden by CORS) when the length is right', async () => {
    const { url, server } = await tinyServer(res => {
      res.writeHead(206, { 'Content-Length': '10' }).end(Buffer.from('0123456789'))
    })
    try {
      assert.deepEqual(await fetchOriginRange(url, { start: 20, end: 29 }), new TextEncoder().encode('0123456789'))
    } finally {
      await closeServer(server)
    }
  })

  it('rejects a 206 body that is short or long', async () => {
    for (const length of [5, 20]) {
      const { url, server } = await tinyServer(res => {
        res.writeHead(206, { 'Content-Range': 'bytes 0-9/100' }).end(Buffer.alloc(length))
      })
      try {
        await assert.rejects(fetchOriginRange(url, { start: 0, end: 9 }), (err: any) => {
          assert.equal(err.name, 'OriginHttpError')
          assert.match(err.message, /body has/)
          return true
        }, `body of ${length} bytes`)
      } finally {
        await closeServer(server)
      }
    }
  })

  it('rejects a body cut off by the server', async () => {
    const { url, server } = await tinyServer(res => {
      res.writeHead(206, { 'Content-Range': 'bytes 0-99/100', 'Content-Length': '100' })
      res.write(Buffer.alloc(10), () => { res.destroy() })
    })
    try {
      await assert.rejects(fetchOriginRange(url, { start: 0, end: 99 }), { name: 'OriginHttpError' })
    } finally {
      await closeServer(server)
    }
  })

  it('wraps network errors with their cause', async () => {
    const url = `http://127.0.0.1:${await freePort()}/x`
    await assert.rejects(fetchOriginRange(url, { start: 0, end: 9 }), (err: any) => {
      assert.equal(err.name, 'OriginHttpError')
      assert.equal(err.status, undefined)
      assert.ok(err.cause != null)
      assert.ok(err.message.includes(url))
      return true
    })
  })

  it('rejects with the signal reason when aborted before the response', async () => {
    const { url, server } = await tinyServer(() => { /* never answers */ })
    try {
      const controller = new AbortController()
      const reason = new Error('stop now')
      const pending = fetchOriginRange(url, { start: 0, end: 9 }, { signal: controller.signal })
      setTimeout(() => { controller.abort(reason) }, 50)
      await assert.rejects(pending, err => err === reason)
    } finally {
      await closeServer(server)
    }
  })

  it('rejects with the signal reason when aborted during the body, and the transfer stops', async () => {
    const slow = await startOriginServer({ root, bytesPerSecond: 1_048_576 })
    try {
      const controller = new AbortController()
      const started = performance.now()
      const pending = fetchOriginRange(originUrlFor(slow.url, 'big.bin'), { start: 0, end: 4 * 1_048_576 - 1 }, { signal: controller.signal })
      setTimeout(() => { controller.abort() }, 200)
      await assert.rejects(pending, { name: 'AbortError' })
      assert.ok(performance.now() - started < 2000)
      await delay(300)
      const served = slow.bytesServed()
      await delay(300)
      assert.equal(slow.bytesServed(), served, 'the server stopped sending')
      assert.ok(served < 1_048_576)
    } finally {
      await slow.stop()
    }
  })

  it('rejects at once with an already aborted signal', async () => {
    const reason = new Error('already')
    let called = false
    const fakeFetch = (async () => { called = true; return new Response() }) as typeof fetch
    await assert.rejects(fetchOriginRange('http://example.org/x', { start: 0, end: 1 }, { signal: AbortSignal.abort(reason), fetch: fakeFetch }), err => err === reason)
    assert.equal(called, false)
  })

  it('uses an injected fetch and sends a Range header', async () => {
    let seen: Headers | undefined
    const fakeFetch = (async (_url: string, init?: RequestInit) => {
      seen = new Headers(init?.headers)
      return new Response('abc', { status: 206, headers: { 'Content-Range': 'bytes 5-7/10' } })
    }) as typeof fetch
    assert.deepEqual(await fetchOriginRange('http://example.org/x', { start: 5, end: 7 }, { fetch: fakeFetch }), new TextEncoder().encode('abc'))
    assert.equal(seen?.get('range'), 'bytes=5-7')
  })

  it('rejects unexpected statuses such as 500 and 304', async () => {
    for (const status of [500, 304, 204]) {
      const fakeFetch = (async () => new Response(null, { status })) as typeof fetch
      await assert.rejects(fetchOriginRange('http://example.org/x', { start: 0, end: 1 }, { fetch: fakeFetch }), (err: any) => {
        assert.equal(err.name, 'OriginHttpError')
        assert.equal(err.status, status)
        return true
      })
    }
  })

  it('rejects bad ranges', async () => {
    for (const range of [{ start: -1, end: 1 }, { start: 5, end: 4 }, { start: 0.5, end: 1 }]) {
      await assert.rejects(fetchOriginRange('http://example.org/x', range), RangeError)
    }
  })
})

describe('origin server helper', () => {
  it('serves files with type, length, CORS and range headers', async () => {
    const res = await fetch(new URL('css/site.css', origin.url))
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'text/css; charset=utf-8')
    assert.equal(res.headers.get('content-length'), String(bytesOf('css/site.css').length))
    assert.equal(res.headers.get('accept-ranges'), 'bytes')
    assert.equal(res.headers.get('access-control-allow-origin'), '*')
    assert.match(res.headers.get('access-control-expose-headers') ?? '', /Content-Range/)
    assert.match(res.headers.get('access-control-expose-headers') ?? '', /Content-Length/)
    assert.equal(await res.text(), 'body { color: red }')
  })

  it('serves index.html for /', async () => {
    const res = await fetch(origin.url)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/)
  })

  it('answers ranges with 206, suffixes, and 416 when unsatisfiable', async () => {
    const url = new URL('data.bin', origin.url)
    const data = bytesOf('data.bin')
    let res = await fetch(url, { headers: { Range: 'bytes=10-19' } })
    assert.equal(res.status, 206)
    assert.equal(res.headers.get('content-range'), `bytes 10-19/${data.length}`)
    assert.equal(res.headers.get('content-length'), '10')
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), data.subarray(10, 20))
    res = await fetch(url, { headers: { Range: 'bytes=-5' } })
    assert.equal(res.status, 206)
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), data.subarray(-5))
    res = await fetch(url, { headers: { Range: `bytes=${data.length - 3}-` } })
    assert.equal(res.status, 206)
    assert.equal(res.headers.get('content-range'), `bytes ${data.length - 3}-${data.length - 1}/${data.length}`)
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), data.subarray(-3))
    res = await fetch(url, { headers: { Range: `bytes=${data.length}-` } })
    assert.equal(res.status, 416)
    assert.equal(res.headers.get('content-range'), `bytes */${data.length}`)
    await res.arrayBuffer()
    res = await fetch(url, { headers: { Range: 'bytes=0-1,4-5' } })
    assert.equal(res.status, 200, 'multiple ranges get the whole file')
    await res.arrayBuffer()
    res = await fetch(new URL('empty.txt', origin.url), { headers: { Range: 'bytes=0-' } })
    assert.equal(res.status, 416)
    await res.arrayBuffer()
  })

  it('answers HEAD without a body', async () => {
    origin.resetCounters()
    const res = await fetch(new URL('data.bin', origin.url), { method: 'HEAD' })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-length'), String(bytesOf('data.bin').length))
    assert.equal(origin.bytesServed(), 0)
    assert.deepEqual(origin.requests().map(r => [r.method, r.status, r.bytes]), [['HEAD', 200, 0]])
  })

  it('answers CORS preflights allowing Range', async () => {
    const res = await raw(origin.url, '/data.bin', 'OPTIONS', { Origin: 'http://127.0.0.1:1', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'range' })
    assert.equal(res.status, 204)
    assert.equal(res.headers['access-control-allow-origin'], '*')
    assert.match(String(res.headers['access-control-allow-headers']), /range/i)
    assert.match(String(res.headers['access-control-allow-methods']), /GET/)
  })

  it('refuses path traversal with 404', async () => {
    const secretDir = await mkdtemp(join(tmpdir(), 'swarmsite-secret-'))
    const site = join(secretDir, 'site')
    await mkdir(site)
    await writeFile(join(secretDir, 'secret.txt'), 'secret')
    await writeFile(join(site, 'ok.txt'), 'ok')
    const server = await startOriginServer({ root: site })
    try {
      assert.equal((await raw(server.url, '/ok.txt')).status, 200)
      for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E%2Fsecret.txt', '/x/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/%00', '/%zz']) {
        const res = await raw(server.url, path)
        assert.equal(res.status, 404, path)
        assert.equal(res.body.length, 0, path)
      }
    } finally {
      await server.stop()
      await rm(secretDir, { recursive: true, force: true })
    }
  })

  it('counts body bytes per path and records requests', async () => {
    origin.resetCounters()
    await (await fetch(new URL('css/site.css', origin.url))).arrayBuffer()
    await (await fetch(new URL('data.bin', origin.url), { headers: { Range: 'bytes=0-99' } })).arrayBuffer()
    await (await fetch(new URL('nope', origin.url))).arrayBuffer()
    assert.equal(origin.bytesServed('css/site.css'), bytesOf('css/site.css').length)
    assert.equal(origin.bytesServed('data.bin'), 100)
    assert.equal(origin.bytesServed(), bytesOf('css/site.css').length + 100)
    assert.deepEqual(origin.requests().map(r => [r.path, r.status, r.bytes, r.range]), [
      ['css/site.css', 200, bytesOf('css/site.css').length, undefined],
      ['data.bin', 206, 100, 'bytes=0-99'],
      ['nope', 404, 0, undefined]
    ])
    origin.resetCounters()
    assert.equal(origin.bytesServed(), 0)
    assert.deepEqual(origin.requests(), [])
  })

  it('serves a file corrupted on request', async () => {
    const data = bytesOf('data.bin')
    origin.setCorrupt('data.bin', true)
    try {
      const got = new Uint8Array(await (await fetch(new URL('data.bin', origin.url), { headers: { Range: 'bytes=0-99' } })).arrayBuffer())
      assert.equal(got.length, 100)
      for (let i = 0; i < 100; i++) assert.equal(got[i], data[i]! ^ 0xff)
    } finally {
      origin.setCorrupt('data.bin', false)
    }
    const good = new Uint8Array(await (await fetch(new URL('data.bin', origin.url), { headers: { Range: 'bytes=0-99' } })).arrayBuffer())
    assert.deepEqual(good, data.subarray(0, 100))
  })

  it('limits the rate shared by all responses', async () => {
    const slow = await startOriginServer({ root, bytesPerSecond: 1_048_576 })
    try {
      const started = performance.now()
      // two parallel 256 KiB responses share 1 MiB/s: ~0.5 s
      await Promise.all([0, 1].map(async () => {
        const res = await fetch(new URL('big.bin', slow.url), { headers: { Range: 'bytes=0-262143' } })
        assert.equal((await res.arrayBuffer()).byteLength, 262_144)
      }))
      const seconds = (performance.now() - started) / 1000
      assert.ok(seconds >= 0.4, `took ${seconds} s`)
      assert.ok(seconds < 2, `took ${seconds} s`)
    } finally {
      await slow.stop()
    }
  })

  it('stops with open connections', async () => {
    const slow = await startOriginServer({ root, bytesPerSecond: 100_000 })
    const res = await fetch(new URL('big.bin', slow.url))
    assert.equal(res.status, 200)
    const reading = res.arrayBuffer().then(() => 'done', () => 'failed')
    const started = performance.now()
    await slow.stop()
    assert.ok(performance.now() - started < 1000)
    assert.equal(await reading, 'failed')
  })
})
