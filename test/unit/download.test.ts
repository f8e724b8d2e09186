import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { downloadBlocks } from '../../src/content/fetch/download.ts'
import { BlockUnavailableError, OriginIntegrityError } from '../../src/content/fetch/errors.ts'
import { peerScores } from '../../src/content/fetch/peer-scores.ts'
import type { BlockArrival, DownloadComponents } from '../../src/content/fetch/download.ts'
import type { ManifestFile } from '../../src/content/manifest-types.ts'
import type { PeerId } from '@libp2p/interface'

const BLOCK = 1024

async function makeFile (blocks: number): Promise<{ file: ManifestFile, bytes: Uint8Array }> {
  const bytes = randomBytes(blocks * BLOCK - 100)
  const entries = []
  for (let offset = 0; offset < bytes.byteLength; offset += BLOCK) {
    const chunk = bytes.subarray(offset, Math.min(offset + BLOCK, bytes.byteLength))
    entries.push({ cid: CID.createV1(raw.code, await sha256.digest(chunk)).toString(), offset, size: chunk.byteLength })
  }
  return { file: { path: 'f.bin', size: bytes.byteLength, contentType: 'application/octet-stream', root: entries[0]!.cid, blocks: entries }, bytes }
}

async function peer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

interface Fakes {
  components: DownloadComponents
  arrivals: BlockArrival[]
  originRequests: Array<{ start: number, end: number }>
  wants: Array<{ peer: string, index: number }>
  cancelled: string[]
}

/** Components over in-memory fakes: `serve(peer, index)` decides what a peer does with a want. */
function fakes (file: ManifestFile, bytes: Uint8Array, options: {
  holders?: PeerId[]
  serve?: (peer: PeerId, index: number) => 'ok' | 'stall' | 'dont-have'
  origin?: 'ok' | 'corrupt' | 'down'
}): Fakes {
  const arrivals: BlockArrival[] = []
  const originRequests: Array<{ start: number, end: number }> = []
  const wants: Array<{ peer: string, index: number }> = []
  const cancelled: string[] = []
  const indexOf = (cid: CID): number => file.blocks.findIndex(b => b.cid === cid.toString())
  const inflight = new Map<string, number>()
  const components: DownloadComponents & { wantNow(p: PeerId, cid: CID, o: { signal: AbortSignal }): Promise<Uint8Array> } = {
    async want (p, cid, { signal }) {
      const key = p.toString()
      inflight.set(key, (inflight.get(key) ?? 0) + 1)
      try {
        return await this.wantNow(p, cid, { signal })
      } finally {
        inflight.set(key, (inflight.get(key) ?? 1) - 1)
      }
    },
    async wantNow (p: PeerId, cid: CID, { signal }: { signal: AbortSignal }): Promise<Uint8Array> {
      const index = indexOf(cid)
      wants.push({ peer: p.toString(), index })
      const mode = options.serve?.(p, index) ?? 'ok'
      if (mode === 'dont-have') throw new Error('dont-have')
      if (mode === 'stall') {
        return new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => { cancelled.push(`${p}:${index}`); reject(signal.reason) }, { once: true })
        })
      }
      await new Promise(resolve => setTimeout(resolve, 2))
      const b = file.blocks[index]!
      return bytes.slice(b.offset, b.offset + b.size)
    },
    canAsk: () => true,
    inflight: (p) => inflight.get(p.toString()) ?? 0,
    holders: () => options.holders ?? [],
    findProviders: async () => [],
    onChange: () => () => {},
    connect: async () => {},
    getLocal: async () => undefined,
    store: async () => {},
    async fetchOrigin (_url, range) {
      originRequests.push(range)
      if (options.origin === 'down') throw new Error('connection refused')
      const out = bytes.slice(range.start, range.end + 1)
      if (options.origin === 'corrupt') out[0] = (out[0] ?? 0) ^ 1
      return out
    },
    scores: peerScores(),
    onBlock: (a) => { arrivals.push(a) }
  }
  return { components, arrivals, originRequests, wants, cancelled }
}

async function collect (gen: AsyncGenerator<{ index: number, data: Uint8Array }>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const { data } of gen) parts.push(data)
  return Buffer.concat(parts)
}

describe('downloadBlocks: the fetch scheduler', () => {
  it('with nobody holding the file, fetches it from the origin at once, in coalesced runs', async () => {
    const { file, bytes } = await makeFile(20)
    const f = fakes(file, bytes, { origin: 'ok' })
    const started = performance.now()
    const out = await collect(downloadBlocks(f.components, { file, url: 'http://o/f.bin', first: 0, last: 19, deadlineMs: 5_000 }))
    assert.deepEqual(out, Buffer.from(bytes))
    assert.ok(performance.now() - started < 5_000, 'did not wait for the deadline')
    assert.ok(f.originRequests.length < 20, `${f.originRequests.length} origin requests for 20 blocks`)
    assert.ok(f.arrivals.every(a => a.source === 'origin'))
  })

  it('takes blocks from holders, yielding them in order', async () => {
    const { file, bytes } = await makeFile(30)
    const holders = [await peer(), await peer(), await peer()]
    const f = fakes(file, bytes, { holders })
    const out = await collect(downloadBlocks(f.components, { file, url: 'http://o/f.bin', first: 0, last: 29 }))
    assert.deepEqual(out, Buffer.from(bytes))
    assert.equal(f.originRequests.length, 0)
    assert.equal(new Set(f.wants.map(w => w.peer)).size, 3, 'spread over every holder')
  })

  it('a stalled holder is given up on at the deadline: the block goes to the origin and another holder', async () => {
    const { file, bytes } = await makeFile(4)
    const [slow, good] = [await peer(), await peer()]
    const f = fakes(file, bytes, {
      holders: [slow!, good!],
      serve: (p) => p.equals(slow) ? 'stall' : 'ok',
      origin: 'down'
    })
    // the slow peer looks fastest and the good one unreliable, so every block goes to the slow one first
    f.components.scores.recordSuccess(slow!.toString(), 1024, 1)
    for (let i = 0; i < 20; i++) f.components.scores.recordFailure(good!.toString())
    const out = await collect(downloadBlocks(f.components, { file, url: 'http://o/f.bin', first: 0, last: 3, deadlineMs: 200, originAttempts: 1 }))
    assert.deepEqual(out, Buffer.from(bytes))
    assert.ok(f.cancelled.length > 0, 'the stalled wants were cancelled')
    assert.ok(f.wants.some(w => w.peer === good!.toString()), 'the other holder was asked')
  })

  it('endgame: the last blocks are asked of a second holder without waiting for the deadline', async () => {
    const { file, bytes } = await makeFile(3)
    const [slow, good] = [await peer(), await peer()]
    const f = fakes(file, bytes, { holders: [slow!, good!], serve: (p) => p.equals(slow) ? 'stall' : 'ok', origin: 'down' })
    f.components.scores.recordSuccess(slow!.toString(), 1024, 1)
    f.components.scores.recordSuccess(good!.toString(), 1024, 50)
    const out = await collect(downloadBlocks(f.components, { file, url: 'http://o/f.bin', first: 0, last: 2, deadlineMs: 60_000, endgameBlocks: 4 }))
    assert.deepEqual(out, Buffer.from(bytes))
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(new Set(f.wants.filter(w => w.index === i).map(w => w.peer)), new Set([slow!.toString(), good!.toString()]), `block ${i} asked of both`)
    }
    assert.equal(f.cancelled.length, 3, 'the slow copies were cancelled once the blocks arrived')
  })

  it('fails with OriginIntegrityError when the origin bytes do not match, never yielding them', async () => {
    const { file, bytes } = await makeFile(3)
    const f = fakes(file, bytes, { origin: 'corrupt' })
    const got: number[] = []
    await assert.rejects(async () => {
      for await (const { index } of downloadBlocks(f.components, { file, url: 'http://o/f.bin', first: 0, last: 2 })) got.push(index)
    }, OriginIntegrityError)
    assert.deepEqual(got, [])
  })

  it('fails with BlockUnavailableError when no peer has a block and the origin keeps failing', async () => {
    const { file, bytes } = await makeFile(2)
    const f = fakes(file, bytes, { origin: 'down' })
    await assert.rejects(collect(downloadBlocks(f.components, { file, url: 'http://o/f.bin', first: 0, last: 1, originAttempts: 2 })), BlockUnavailableError)
  })

  it('a range fetches only the blocks it covers', async () => {
    const { file, bytes } = await makeFile(10)
    const f = fakes(file, bytes, { origin: 'ok' })
    const out = await collect(downloadBlocks(f.components, { file, url: 'http://o/f.bin', first: 3, last: 5 }))
    assert.deepEqual(out, Buffer.from(bytes.subarray(3 * BLOCK, 6 * BLOCK)))
    assert.deepEqual(f.originRequests.map(r => [r.start, r.end]), [[3 * BLOCK, 6 * BLOCK - 1]])
  })

  it('aborting the signal cancels the wants still out', async () => {
    const { file, bytes } = await makeFile(6)
    const holder = await peer()
    const f = fakes(file, bytes, { holders: [holder], serve: () => 'stall' })
    const controller = new AbortController()
    const gen = downloadBlocks(f.components, { file, url: 'http://o/f.bin', first: 0, last: 5, signal: controller.signal, deadlineMs: 60_000 })
    const next = gen.next()
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.ok(f.wants.length > 0)
    controller.abort(new Error('user went away'))
    await assert.rejects(next, /user went away/)
    assert.equal(f.cancelled.length, f.wants.length, 'every outstanding want was cancelled')
  })
})
