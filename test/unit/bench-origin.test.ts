import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { parseRange, startCrowdOrigin, tokenBucket } from '../../benchmarks/crowd/origin.ts'
import type { CrowdOrigin } from '../../benchmarks/crowd/origin.ts'

const KiB = 1024
const MiB = 1024 * KiB

/** A clock the test moves: sleeping advances it and records how long. */
function fakeTime (): { now: () => number, sleep: (ms: number) => Promise<void>, slept: number[] } {
  let t = 10_000
  const slept: number[] = []
  return {
    now: () => t,
    slept,
    async sleep (ms) { slept.push(ms); t += ms }
  }
}

describe('crowd benchmark origin: token bucket', () => {
  it('lets a burst through, then paces at the rate', async () => {
    const time = fakeTime()
    const bucket = tokenBucket({ bytesPerSecond: MiB, burstBytes: 64 * KiB, now: time.now, sleep: time.sleep })
    await bucket.take(64 * KiB) // the idle bucket's burst: no wait
    assert.deepEqual(time.slept, [])
    await bucket.take(256 * KiB) // 256 KiB at 1 MiB/s = 250 ms
    assert.deepEqual(time.slept, [250])
    await bucket.take(MiB)
    assert.deepEqual(time.slept, [250, 1000])
    assert.equal(bucket.granted(), 64 * KiB + 256 * KiB + MiB)
  })

  it('carries at most the burst over idle time', async () => {
    const time = fakeTime()
    const bucket = tokenBucket({ bytesPerSecond: MiB, burstBytes: 64 * KiB, now: time.now, sleep: time.sleep })
    await time.sleep(60_000) // a long idle spell
    time.slept.length = 0
    await bucket.take(64 * KiB + 128 * KiB) // only 64 KiB are free: 128 KiB wait 125 ms
    assert.deepEqual(time.slept, [125])
  })

  it('serves concurrent takers in call order at the shared rate', async () => {
    const bucket = tokenBucket({ bytesPerSecond: MiB, burstBytes: 0 })
    const order: string[] = []
    const started = performance.now()
    await Promise.all(['a', 'b', 'c', 'd'].map(async name => {
      await bucket.take(64 * KiB)
      order.push(name)
    }))
    const ms = performance.now() - started
    assert.deepEqual(order, ['a', 'b', 'c', 'd'])
    assert.ok(ms >= 240, `4 × 64 KiB at 1 MiB/s took ${ms.toFixed(0)} ms, expected ~250`)
  })

  it('does not limit at Infinity and refuses bad rates', async () => {
    const time = fakeTime()
    const bucket = tokenBucket({ bytesPerSecond: Infinity, now: time.now, sleep: time.sleep })
    for (let i = 0; i < 100; i++) await bucket.take(MiB)
    assert.deepEqual(time.slept, [])
    assert.throws(() => tokenBucket({ bytesPerSecond: 0 }), RangeError)
    assert.throws(() => tokenBucket({ bytesPerSecond: -1 }), RangeError)
    await assert.rejects(bucket.take(-1), RangeError)
  })
})

describe('crowd benchmark origin: range parsing', () => {
  it('reads single byte ranges', () => {
    assert.deepEqual(parseRange('bytes=0-99', 1000), [0, 99])
    assert.deepEqual(parseRange('bytes=900-', 1000), [900, 999])
    assert.deepEqual(parseRange('bytes=-100', 1000), [900, 999])
    assert.deepEqual(parseRange('bytes=990-2000', 1000), [990, 999])
    assert.equal(parseRange('bytes=1000-', 1000), 'unsatisfiable')
    assert.equal(parseRange(undefined, 1000), undefined)
    assert.equal(parseRange('bytes=5-1', 1000), undefined)
    assert.equal(parseRange('items=0-1', 1000), undefined)
  })
})

describe('crowd benchmark origin: several ports, one limiter', () => {
  let dir: string
  let origin: CrowdOrigin
  const asset = randomBytes(512 * KiB)

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-bench-origin-'))
    await writeFile(join(dir, 'asset.bin'), asset)
    origin = await startCrowdOrigin({ root: dir, ports: 3, bytesPerSecond: MiB })
  })

  after(async () => {
    await origin?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('listens on distinct ports and serves the file, ranges, HEAD, CORS, 404 and 416', async () => {
    assert.equal(origin.urls.length, 3)
    assert.equal(new Set(origin.urls).size, 3)
    origin.resetCounters()
    const range = await fetch(new URL('asset.bin', origin.urls[1]), { headers: { Range: 'bytes=100-199' } })
    assert.equal(range.status, 206)
    assert.equal(range.headers.get('content-range'), `bytes 100-199/${asset.byteLength}`)
    assert.equal(range.headers.get('access-control-allow-origin'), '*')
    assert.equal(range.headers.get('cache-control'), 'no-store')
    assert.deepEqual(Buffer.from(await range.arrayBuffer()), asset.subarray(100, 200))
    const head = await fetch(new URL('asset.bin', origin.urls[0]), { method: 'HEAD' })
    assert.equal(head.headers.get('content-length'), String(asset.byteLength))
    assert.equal((await fetch(new URL('missing.bin', origin.urls[2]))).status, 404)
    assert.equal((await fetch(new URL('../etc/passwd', origin.urls[2]))).status, 404)
    assert.equal((await fetch(new URL('asset.bin', origin.urls[2]), { headers: { Range: `bytes=${asset.byteLength}-` } })).status, 416)
    const preflight = await fetch(new URL('asset.bin', origin.urls[0]), { method: 'OPTIONS', headers: { 'Access-Control-Request-Headers': 'range' } })
    assert.equal(preflight.status, 204)
    assert.equal(origin.bytesServed(), 100)
    assert.equal(origin.bytesServed('asset.bin'), 100)
    assert.equal(origin.requests(), 6)
  })

  it('shares the cap across ports: two whole files over two ports take as long as over one', async () => {
    origin.resetCounters()
    const started = performance.now()
    const bodies = await Promise.all(origin.urls.slice(0, 2).map(async url => Buffer.from(await (await fetch(new URL('asset.bin', url))).arrayBuffer())))
    const seconds = (performance.now() - started) / 1000
    for (const body of bodies) assert.ok(body.equals(asset))
    assert.equal(origin.bytesServed(), 2 * asset.byteLength)
    // 1 MiB at 1 MiB/s: ~1 s (less a 64 KiB burst); two independent 1 MiB/s limiters would take ~0.5 s
    assert.ok(seconds >= 0.85, `two 512 KiB downloads over two ports took ${seconds.toFixed(2)} s at a shared 1 MiB/s`)
    assert.ok(seconds < 5, `took ${seconds.toFixed(2)} s`)
  })

  it('an uncapped origin is not paced', async () => {
    const fast = await startCrowdOrigin({ root: dir, ports: 2 })
    try {
      assert.equal(fast.bytesPerSecond, Infinity)
      const started = performance.now()
      for (let i = 0; i < 8; i++) await (await fetch(new URL('asset.bin', fast.urls[i % 2]))).arrayBuffer()
      assert.ok(performance.now() - started < 3000)
      assert.equal(fast.bytesServed('asset.bin'), 8 * asset.byteLength)
    } finally {
      await fast.stop()
    }
  })
})
