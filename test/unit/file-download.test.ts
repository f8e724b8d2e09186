import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { BlockRanges } from '../../src/content/availability/block-ranges.ts'
import { FileDownload } from '../../src/content/fetch/file-download.ts'
import { peerScores } from '../../src/content/fetch/peer-scores.ts'
import type { RemoteFilePeer } from '../../src/content/availability/index.ts'
import type { BlockArrival, FileDownloadComponents } from '../../src/content/fetch/file-download.ts'
import type { ManifestFile } from '../../src/content/manifest-types.ts'
import type { PeerId } from '@libp2p/interface'

const BLOCK = 4096

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

/** A real HTTP-like origin over fetch's own Response type: Range, a hold point, corruption, or no Range at all. */
function fakeOrigin (bytes: Uint8Array, options: { ignoreRange?: boolean, corrupt?: boolean, holdAfter?: number } = {}): { fetch: typeof globalThis.fetch, requests: Array<{ start: number, end: number }>, release: () => void, sent: () => number } {
  const requests: Array<{ start: number, end: number }> = []
  let released = false
  const waiting: Array<() => void> = []
  let sent = 0
  const fetch = async (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const range = /bytes=(\d+)-(\d+)/.exec(new Headers(init?.headers).get('range') ?? '')
    const start = options.ignoreRange === true || range == null ? 0 : Number(range[1])
    const end = options.ignoreRange === true || range == null ? bytes.byteLength - 1 : Number(range[2])
    requests.push({ start, end })
    const body = bytes.slice(start, end + 1)
    if (options.corrupt === true) body[body.length >> 1] = (body[body.length >> 1] ?? 0) ^ 0xff
    let at = 0
    const stream = new ReadableStream<Uint8Array>({
      async pull (controller) {
        if (options.holdAfter != null && at >= options.holdAfter && !released) await new Promise<void>(resolve => waiting.push(resolve))
        if (at >= body.byteLength) { controller.close(); return }
        const chunk = body.subarray(at, Math.min(at + 1000, body.byteLength))
        at += chunk.byteLength
        sent += chunk.byteLength
        controller.enqueue(chunk)
      }
    })
    const headers = new Headers({ 'content-length': String(body.byteLength) })
    if (options.ignoreRange !== true) headers.set('content-range', `bytes ${start}-${end}/${bytes.byteLength}`)
    return new Response(stream, { status: options.ignoreRange === true ? 200 : 206, headers })
  }
  return { fetch: fetch as typeof globalThis.fetch, requests, release: () => { released = true; for (const w of waiting.splice(0)) w() }, sent: () => sent }
}

interface Fakes {
  components: FileDownloadComponents
  stored: number[]
  arrivals: BlockArrival[]
  wants: Array<{ peer: string, index: number }>
  originBytes: () => number
}

function fakes (file: ManifestFile, bytes: Uint8Array, fetch: typeof globalThis.fetch, options: {
  self?: string
  ready?: () => boolean
  peers?: PeerId[]
  view?: () => RemoteFilePeer[]
  serve?: (peer: PeerId, index: number) => 'ok' | 'stall' | 'dont-have'
  held?: number[]
  store?: Map<string, Uint8Array>
} = {}): Fakes {
  const stored: number[] = []
  const arrivals: BlockArrival[] = []
  const wants: Array<{ peer: string, index: number }> = []
  const store = options.store ?? new Map<string, Uint8Array>()
  let originBytes = 0
  const inflight = new Map<string, number>()
  const pending = new Map<string, Promise<Uint8Array>>()
  const indexOf = (cid: CID): number => file.blocks.findIndex(b => b.cid === cid.toString())
  const components: FileDownloadComponents & { wantOnce?: (p: PeerId, cid: CID, o: { signal: AbortSignal }) => Promise<Uint8Array> } = {
    self: options.self ?? 'self',
    ready: options.ready ?? (() => true),
    askable: () => options.peers ?? [],
    linked: () => new Set((options.peers ?? []).map(p => p.toString())),
    async want (p, cid, { signal }) {
      // as a real session: a second want of a block pending with that peer shares the request
      const id = `${p.toString()}:${cid.toString()}`
      const shared = pending.get(id)
      if (shared != null) return shared
      const request = this.wantOnce!(p, cid, { signal })
      pending.set(id, request)
      request.finally(() => { pending.delete(id) }).catch(() => {})
      return request
    },
    async wantOnce (p: PeerId, cid: CID, { signal }: { signal: AbortSignal }): Promise<Uint8Array> {
      const index = indexOf(cid)
      wants.push({ peer: p.toString(), index })
      const key = p.toString()
      inflight.set(key, (inflight.get(key) ?? 0) + 1)
      try {
        const mode = options.serve?.(p, index) ?? 'ok'
        if (mode === 'dont-have') throw Object.assign(new Error('dont have'), { name: 'BlockNotAvailableError' })
        if (mode === 'stall') await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true }) })
        await new Promise(resolve => setTimeout(resolve, 1))
        const b = file.blocks[index]!
        return bytes.slice(b.offset, b.offset + b.size)
      } finally {
        inflight.set(key, (inflight.get(key) ?? 1) - 1)
      }
    },
    inflight: (p) => inflight.get(p.toString()) ?? 0,
    view: options.view ?? (() => (options.peers ?? []).map(p => ({ peer: p, downloading: false, fetching: new Map() }))),
    findProviders: async () => [],
    onChange: () => () => {},
    connect: async () => {},
    localBlocks: () => options.held != null ? new BlockRanges(options.held.map(i => [i, i + 1] as [number, number])) : undefined,
    getLocal: async (cid) => store.get(cid.toString()),
    store: async (_f, index, cid, block) => { stored.push(index); store.set(cid.toString(), block) },
    setDownload: () => {},
    endDownload: () => {},
    fetch,
    scores: peerScores(),
    onBlock: (a) => { arrivals.push(a) },
    onOriginBytes: (n) => { originBytes += n }
  }
  return { components, stored, arrivals, wants, originBytes: () => originBytes }
}

async function readAll (download: FileDownload, first: number, last: number, signal?: AbortSignal): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const { data } of download.read(first, last, signal)) parts.push(data)
  return Buffer.concat(parts)
}

const quick = { deadlineMs: 40, discoveryMs: 0, startupGraceMs: 0, aloneCautionMs: 0, fastOriginBytesPerSecond: Infinity }

describe('file download', () => {
  it('alone, gets every block from the origin, byte-exact, and counts what the origin sent', async () => {
    const { file, bytes } = await makeFile(24)
    const origin = fakeOrigin(bytes)
    const f = fakes(file, bytes, origin.fetch)
    const download = new FileDownload(f.components, file, 'http://o/f.bin', quick)
    const got = await readAll(download, 0, file.blocks.length - 1)
    assert.ok(Buffer.from(got).equals(bytes))
    assert.equal(f.arrivals.filter(a => a.source === 'origin' && !a.duplicate).length, file.blocks.length)
    assert.equal(f.originBytes(), origin.sent(), 'every byte the origin sent is counted')
    assert.ok(f.originBytes() >= bytes.byteLength)
    assert.deepEqual([...f.stored].sort((a, b) => a - b), file.blocks.map((_, i) => i), 'each block stored once')
  })

  it('stores (so serves and announces) each block of an origin run the moment it verifies, before the run ends', async () => {
    const { file, bytes } = await makeFile(8)
    // the origin sends the first two blocks of its response, then holds the rest back
    const origin = fakeOrigin(bytes, { holdAfter: 2 * BLOCK })
    const f = fakes(file, bytes, origin.fetch)
    const download = new FileDownload(f.components, file, 'http://o/f.bin', { ...quick, originMaxRunBytes: 8 * BLOCK, originConcurrency: 1 })
    const reading = readAll(download, 0, file.blocks.length - 1)
    const until = Date.now() + 5000
    while (f.stored.length < 2 && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 5))
    assert.deepEqual(f.stored, [0, 1], 'blocks 0 and 1 are stored while their response is still open')
    assert.equal(origin.requests.length, 1, 'one run for the whole file')
    origin.release()
    assert.ok(Buffer.from(await reading).equals(bytes))
  })

  it('an origin that ignores Range gives every block from one response', async () => {
    const { file, bytes } = await makeFile(16)
    const origin = fakeOrigin(bytes, { ignoreRange: true })
    const f = fakes(file, bytes, origin.fetch)
    const download = new FileDownload(f.components, file, 'http://o/f.bin', { ...quick, originMaxRunBytes: 2 * BLOCK })
    assert.ok(Buffer.from(await readAll(download, 0, file.blocks.length - 1)).equals(bytes))
    assert.equal(download.counters.rangeIgnored, true)
    assert.ok(origin.requests.length <= 2, `${origin.requests.length} requests`)
    assert.ok(f.originBytes() <= 2 * bytes.byteLength)
  })

  it('bytes from the origin that do not match the manifest fail the download with OriginIntegrityError', async () => {
    const { file, bytes } = await makeFile(6)
    const f = fakes(file, bytes, fakeOrigin(bytes, { corrupt: true }).fetch)
    const download = new FileDownload(f.components, file, 'http://o/f.bin', quick)
    await assert.rejects(readAll(download, 0, file.blocks.length - 1), { name: 'OriginIntegrityError' })
  })

  it('takes blocks from a peer that holds them, and nothing from the origin once it has heard of it', async () => {
    const { file, bytes } = await makeFile(20)
    const holder = await peer()
    const origin = fakeOrigin(bytes)
    const f = fakes(file, bytes, origin.fetch, { peers: [holder] })
    const download = new FileDownload(f.components, file, 'http://o/f.bin', { ...quick, deadlineMs: 5_000 })
    assert.ok(Buffer.from(await readAll(download, 0, file.blocks.length - 1)).equals(bytes))
    assert.equal(origin.requests.length, 0)
    assert.equal(f.arrivals.filter(a => a.source === 'peer' && !a.duplicate).length, file.blocks.length)
  })

  it('with its only holder stalled, gives the asks up and completes from the origin', async () => {
    const { file, bytes } = await makeFile(10)
    const stalled = await peer()
    const origin = fakeOrigin(bytes)
    const f = fakes(file, bytes, origin.fetch, { peers: [stalled], serve: () => 'stall' })
    const download = new FileDownload(f.components, file, 'http://o/f.bin', { ...quick, fillPatienceDeadlines: 2 })
    assert.ok(Buffer.from(await readAll(download, 0, file.blocks.length - 1)).equals(bytes))
    assert.ok(f.wants.some(w => w.peer === stalled.toString()), 'the holder was asked first')
    assert.ok(download.counters.abandoned >= 1)
    assert.equal(f.arrivals.filter(a => a.source === 'origin').length, file.blocks.length)
  })

  it('asks a black hole (holds everything, answers nothing) one block at a time', async () => {
    const { file, bytes } = await makeFile(40)
    const hole = await peer()
    const honest = await peer()
    const origin = fakeOrigin(bytes)
    const f = fakes(file, bytes, origin.fetch, { peers: [hole, honest], serve: (p) => p.equals(hole) ? 'stall' : 'ok' })
    const want = f.components.want.bind(f.components)
    // distinct blocks wanted of the hole at once (a want sent again with a higher priority shares the first)
    const inHole = new Map<string, number>()
    let mostInHole = 0
    f.components.want = async (p, cid, o) => {
      if (!p.equals(hole)) return want(p, cid, o)
      const key = cid.toString()
      inHole.set(key, (inHole.get(key) ?? 0) + 1)
      mostInHole = Math.max(mostInHole, inHole.size)
      try { return await want(p, cid, o) } finally {
        const n = inHole.get(key)! - 1
        if (n === 0) inHole.delete(key)
        else inHole.set(key, n)
      }
    }
    const download = new FileDownload(f.components, file, 'http://o/f.bin', { ...quick, fillPatienceDeadlines: 1 })
    assert.ok(Buffer.from(await readAll(download, 0, file.blocks.length - 1)).equals(bytes))
    assert.ok(f.wants.some(w => w.peer === hole.toString()), 'the black hole was asked')
    assert.equal(mostInHole, 1, 'never more than one ask in flight with a peer that delivered nothing')
    assert.ok(download.counters.abandoned >= 1)
    const stats = f.components.scores.get(honest.toString())
    assert.ok((stats?.blocks ?? 0) > 0, 'the honest holder served')
  })

  it('two readers of one file share its download: no block is fetched twice', async () => {
    const { file, bytes } = await makeFile(12)
    const origin = fakeOrigin(bytes)
    const f = fakes(file, bytes, origin.fetch)
    const download = new FileDownload(f.components, file, 'http://o/f.bin', quick)
    const [a, b] = await Promise.all([readAll(download, 0, 11), readAll(download, 4, 9)])
    assert.ok(Buffer.from(a).equals(bytes))
    assert.ok(Buffer.from(b).equals(bytes.subarray(4 * BLOCK, 10 * BLOCK)))
    const fetched = origin.requests.reduce((n, r) => n + r.end - r.start + 1, 0)
    assert.equal(fetched, bytes.byteLength)
  })

  it('while the node starts, the first block comes from the origin at once and the rest waits to hear of peers', async () => {
    const { file, bytes } = await makeFile(12)
    const holder = await peer()
    let ready = false
    const origin = fakeOrigin(bytes)
    const f = fakes(file, bytes, origin.fetch, { peers: [holder], ready: () => ready })
    const download = new FileDownload(f.components, file, 'http://o/f.bin', { deadlineMs: 40, discoveryMs: 5_000, startupGraceMs: 60_000, fastOriginBytesPerSecond: Infinity })
    const iterator = download.read(0, 11)
    const first = await iterator.next()
    assert.equal(first.value?.index, 0)
    assert.equal(origin.requests.length, 1, 'only the reader\'s first blocks went to the origin')
    assert.deepEqual(origin.requests[0], { start: 0, end: BLOCK - 1 })
    ready = true
    const rest: Uint8Array[] = [first.value!.data]
    for (let r = await iterator.next(); r.done !== true; r = await iterator.next()) rest.push(r.value.data)
    assert.ok(Buffer.concat(rest).equals(bytes))
    assert.equal(origin.requests.length, 1, 'the rest came from the peer the node found')
    assert.equal(f.arrivals.filter(a => a.source === 'origin').length, 1)
  })

  it('listens for the others from when its hello reached the swarm, not from when the node started', async () => {
    const { file, bytes } = await makeFile(6)
    let heard = false
    const origin = fakeOrigin(bytes)
    const f = fakes(file, bytes, origin.fetch)
    const components = { ...f.components, heard: () => heard }
    const download = new FileDownload(components, file, 'http://o/f.bin', { deadlineMs: 40, discoveryMs: 100, startupGraceMs: 60_000, aloneCautionMs: 0, fastOriginBytesPerSecond: Infinity })
    const iterator = download.read(0, 5)
    assert.equal((await iterator.next()).value?.index, 0)
    await new Promise(resolve => setTimeout(resolve, 400))
    assert.equal(origin.requests.length, 1, 'node up, hello not yet out: still only the first block')
    heard = true
    const rest: Uint8Array[] = [bytes.subarray(0, BLOCK)]
    for (let r = await iterator.next(); r.done !== true; r = await iterator.next()) rest.push(r.value.data)
    assert.ok(Buffer.concat(rest).equals(bytes), 'then, alone after the discovery time, the origin brings the rest')
    assert.ok(origin.requests.length > 1)
  })

  it('reads blocks held from before out of the store, and fetches one again if the store lost it', async () => {
    const { file, bytes } = await makeFile(6)
    const store = new Map<string, Uint8Array>()
    for (const i of [0, 1, 2, 3]) {
      const b = file.blocks[i]!
      store.set(b.cid, bytes.slice(b.offset, b.offset + b.size))
    }
    store.delete(file.blocks[2]!.cid) // "held" by the have-state, but evicted meanwhile
    const origin = fakeOrigin(bytes)
    const f = fakes(file, bytes, origin.fetch, { held: [0, 1, 2, 3], store })
    const download = new FileDownload(f.components, file, 'http://o/f.bin', quick)
    assert.ok(Buffer.from(await readAll(download, 0, 5)).equals(bytes))
    assert.equal(f.arrivals.filter(a => a.source === 'store').length, 3)
    const fromOrigin = f.arrivals.filter(a => a.source === 'origin').map(a => a.index).sort()
    assert.deepEqual(fromOrigin, [2, 4, 5])
  })

  it('cancelling the reader ends the download and its origin requests', async () => {
    const { file, bytes } = await makeFile(8)
    const origin = fakeOrigin(bytes, { holdAfter: BLOCK })
    const f = fakes(file, bytes, origin.fetch)
    let closed = false
    const download = new FileDownload(f.components, file, 'http://o/f.bin', quick)
    download.onClose = () => { closed = true }
    const controller = new AbortController()
    const reading = readAll(download, 0, 7, controller.signal)
    await new Promise(resolve => setTimeout(resolve, 50))
    controller.abort(new Error('gone'))
    await assert.rejects(reading, /gone/)
    assert.equal(closed, true)
  })
})
