/**
 * `/swarmsite/block/1.0.0` between real libp2p nodes in one process (TCP on 127.0.0.1, noise,
 * yamux): verified blocks, DONT_HAVE for anything outside the allowed (manifest) set, bans for
 * bad blocks, strikes and bans for protocol violations sent over raw streams, cancellation,
 * the upload budget, and a clean stop.
 */
import assert from 'node:assert/strict'
import { setTimeout as delay } from 'node:timers/promises'
import { after, afterEach, before, describe, it } from 'node:test'
import * as dagPb from '@ipld/dag-pb'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { writer as createWriter } from 'protons-runtime'
import { createMemoryBlockstore } from '../../src/content/blockstore/memory.ts'
import { verifyBlock } from '../../src/content/blockstore/verify.ts'
import { blockExchange } from '../../src/content/exchange/block-exchange.ts'
import { BLOCK_PROTOCOL, MAX_MESSAGE_BYTES } from '../../src/content/exchange/constants.ts'
import { decodeBlockMessage, encodeBlockMessage } from '../../src/content/exchange/wire.ts'
import { leafBlockFor, leafData } from '../../src/content/leaf.ts'
import { uploadBudget } from '../../src/content/upload-budget.ts'
import { waitFor } from '../helpers/wait.ts'
import type { BlockExchange, BlockExchangeInit, BlockUploadedEvent, PeerBannedEvent, PeerViolationEvent } from '../../src/content/exchange/block-exchange.ts'
import type { BlockMessage } from '../../src/content/exchange/wire.ts'
import type { SwarmBlockstore } from '../../src/content/blockstore/interface.ts'
import type { UploadBudget } from '../../src/content/upload-budget.ts'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'

const WAIT_MS = 3_000

interface Block { cid: CID, bytes: Uint8Array }

interface TestNode {
  libp2p: Libp2p
  exchange: BlockExchange
  store: SwarmBlockstore
  /** CIDs this node may serve (stands in for "belongs to a loaded manifest"). */
  allowed: Set<string>
  budget: UploadBudget
  /** When set, takeUpload waits for it (or for the exchange's signal) before taking the budget. */
  hold: PromiseWithResolvers<void> | undefined
  /** takeUpload calls that are waiting on `hold` now. */
  holding: number
  /** takeUpload calls whose signal aborted while holding. */
  abortedHolds: number
  /** Serve altered bytes (a lying peer). */
  corrupt: boolean
  uploaded: BlockUploadedEvent[]
  violations: PeerViolationEvent[]
  banned: PeerBannedEvent[]
}

const libp2ps: Libp2p[] = []
const nodes: TestNode[] = []

async function startLibp2p (): Promise<Libp2p> {
  const libp2p = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // many short-lived connections from 127.0.0.1; no pings from the connection monitor
    connectionManager: { inboundConnectionThreshold: 1000, maxIncomingPendingConnections: 100 },
    connectionMonitor: { enabled: false }
  })
  libp2ps.push(libp2p)
  return libp2p
}

async function startNode (init: BlockExchangeInit = {}): Promise<TestNode> {
  const libp2p = await startLibp2p()
  const store = createMemoryBlockstore()
  await store.open()
  const node: TestNode = {
    libp2p,
    store,
    allowed: new Set(),
    budget: uploadBudget({ saveData: false }),
    hold: undefined,
    holding: 0,
    abortedHolds: 0,
    corrupt: false,
    uploaded: [],
    violations: [],
    banned: [],
    exchange: undefined as unknown as BlockExchange
  }
  node.exchange = blockExchange(init)({
    libp2p,
    getServableBlock: async (cid, options) => {
      if (!node.allowed.has(cid.toString())) return undefined
      const bytes = await node.store.get(cid, options)
      if (bytes == null || !node.corrupt) return bytes
      const altered = bytes.slice()
      altered[0] = altered[0]! ^ 0xff
      return altered
    },
    takeUpload: async (bytes, options) => {
      const hold = node.hold
      if (hold != null) {
        node.holding++
        try {
          const { promise: aborted, reject } = Promise.withResolvers<never>()
          const onAbort = (): void => { node.abortedHolds++; reject(options.signal?.reason) }
          options.signal?.addEventListener('abort', onAbort, { once: true })
          try {
            await Promise.race([hold.promise, aborted])
          } finally {
            options.signal?.removeEventListener('abort', onAbort)
          }
        } finally {
          node.holding--
        }
      }
      await node.budget.take(bytes, options)
    }
  })
  node.exchange.addEventListener('block:uploaded', evt => { node.uploaded.push(evt.detail) })
  node.exchange.addEventListener('peer:violation', evt => { node.violations.push(evt.detail) })
  node.exchange.addEventListener('peer:banned', evt => { node.banned.push(evt.detail) })
  await node.exchange.start()
  nodes.push(node)
  return node
}

async function connect (from: Libp2p, to: Libp2p): Promise<Connection> {
  return from.dial(to.getMultiaddrs(), { signal: AbortSignal.timeout(WAIT_MS) })
}

async function rawBlock (text: string): Promise<Block> {
  const bytes = new TextEncoder().encode(text)
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

/** A unixfs-v0-2015 leaf: a dag-pb node wrapping `text`, under a CIDv0. */
async function dagPbLeaf (text: string): Promise<Block & { data: Uint8Array }> {
  const data = new TextEncoder().encode(text)
  const template = CID.createV1(dagPb.code, await sha256.digest(data)) // only its codec matters
  const bytes = leafBlockFor(template, data)
  return { cid: CID.createV0(await sha256.digest(bytes)), bytes, data }
}

/** Stores blocks on `node`; `allowed` (default true) also lets it serve them. */
async function keep (node: TestNode, blocks: Block[], allowed = true): Promise<void> {
  for (const block of blocks) {
    await node.store.put(block.cid, block.bytes)
    if (allowed) node.allowed.add(block.cid.toString())
  }
}

/** Byte equality whatever the array type (blocks off the wire are Buffers). */
function assertBytes (actual: Uint8Array | undefined, expected: Uint8Array, message?: string): void {
  assert.ok(actual != null, message)
  assert.deepEqual(new Uint8Array(actual.buffer, actual.byteOffset, actual.byteLength), expected, message)
}

async function rejectsNamed (promise: Promise<unknown>, name: string, message?: string): Promise<void> {
  await assert.rejects(promise, (err: any) => {
    assert.equal(err?.name, name, `${message ?? ''} expected ${name}, got ${err?.name}: ${err?.message}`)
    return true
  })
}

function blockStreams (libp2p: Libp2p): Stream[] {
  return libp2p.getConnections().flatMap(c => c.streams).filter(s => s.protocol === BLOCK_PROTOCOL)
}

/** A block-exchange stream opened by hand, to say things the exchange never would. */
async function rawStream (from: Libp2p, to: Libp2p): Promise<{ stream: Stream, lp: ReturnType<typeof lpStream<Stream>> }> {
  const connection = from.getConnections(to.peerId).find(c => c.status === 'open') ?? await connect(from, to)
  const stream = await connection.newStream(BLOCK_PROTOCOL, { signal: AbortSignal.timeout(WAIT_MS) })
  return { stream, lp: lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES }) }
}

/** Resolves when the stream is closed or reset, or throws after `ms`. */
async function streamEnds (stream: Stream, ms = WAIT_MS): Promise<void> {
  await waitFor(`stream ${stream.id} to end`, () => stream.status !== 'open', ms, 10)
}

/** The raw side's next read fails (reset) or hits the end: the responder hung up on us. */
async function readFails (lp: ReturnType<typeof lpStream<Stream>>): Promise<Error> {
  try {
    const bytes = await lp.read({ signal: AbortSignal.timeout(WAIT_MS) })
    assert.fail(`read a message (${bytes.byteLength} bytes) instead of an end`)
  } catch (err: any) {
    assert.notEqual(err?.name, 'TimeoutError', 'the responder did not hang up')
    assert.notEqual(err?.name, 'AbortError', 'the responder did not hang up')
    return err
  }
}

async function readMessage (lp: ReturnType<typeof lpStream<Stream>>): Promise<BlockMessage> {
  return decodeBlockMessage(await lp.read({ signal: AbortSignal.timeout(WAIT_MS) }))
}

/** Releases every held upload after each test, so one failure does not stall the rest. */
function releaseHolds (): void {
  for (const node of nodes) {
    node.hold?.resolve()
    node.hold = undefined
  }
}

afterEach(releaseHolds)

after(async () => {
  releaseHolds()
  await Promise.all(nodes.map(async n => { await n.exchange.stop() }))
  await Promise.all(libp2ps.map(async l => { await l.stop() }))
  await Promise.all(nodes.map(async n => { await n.store.close() }))
})

describe('block exchange between real libp2p nodes', { timeout: 30_000 }, () => {
  let a: TestNode // asks
  let b: TestNode // serves honestly
  const raws: Block[] = []
  const leaves: Array<Block & { data: Uint8Array }> = []

  before(async () => {
    [a, b] = await Promise.all([startNode(), startNode()])
    for (let i = 0; i < 12; i++) raws.push(await rawBlock(`raw block ${i} `.repeat(100 + i)))
    for (let i = 0; i < 4; i++) leaves.push(await dagPbLeaf(`dag-pb leaf ${i} `.repeat(50 + i)))
    await keep(b, [...raws, ...leaves])
    await connect(a.libp2p, b.libp2p)
  })

  it('a requester gets verified raw and dag-pb leaves, all wants pipelined on one stream', { timeout: 10_000 }, async () => {
    const blocks: Block[] = [...raws, ...leaves]
    b.hold = Promise.withResolvers()
    const uploadedBefore = b.uploaded.length
    // the same CID twice at once is one want on the wire, answered to both callers
    const wants = [...blocks.map(async block => a.exchange.want(b.libp2p.peerId, block.cid)), a.exchange.want(b.libp2p.peerId, raws[0]!.cid)]
    await waitFor('every want to be in flight at once', () => a.exchange.inflight(b.libp2p.peerId) === blocks.length, WAIT_MS, 10)
    await waitFor('the responder to hold the first block back', () => b.holding === 1, WAIT_MS, 5)
    await delay(50)
    assert.equal(b.holding, 1, 'the responder serves one block at a time')
    assert.equal(blockStreams(a.libp2p).length, 1, 'one stream carries every want')
    b.hold.resolve()
    b.hold = undefined
    const got = await Promise.all(wants)
    for (const [i, block] of blocks.entries()) {
      assertBytes(got[i], block.bytes)
      assert.equal(await verifyBlock(block.cid, got[i]!), true)
    }
    assertBytes(got.at(-1), raws[0]!.bytes)
    for (const [i, leaf] of leaves.entries()) {
      assert.equal(leaf.cid.version, 0)
      assertBytes(leafData(leaf.cid, got[raws.length + i]!), leaf.data)
    }
    assert.equal(a.exchange.inflight(b.libp2p.peerId), 0)
    const uploaded = b.uploaded.slice(uploadedBefore)
    assert.equal(uploaded.length, blocks.length, 'each block crossed the wire once')
    assert.ok(uploaded.every(e => e.peer.equals(a.libp2p.peerId)))
    assert.equal(uploaded.reduce((sum, e) => sum + e.bytes, 0), blocks.reduce((sum, x) => sum + x.bytes.byteLength, 0))
    // the session stays open for the next wants
    assertBytes(await a.exchange.want(b.libp2p.peerId, leaves[0]!.cid, { priority: 3 }), leaves[0]!.bytes)
    assert.equal(blockStreams(a.libp2p).length, 1)
  })

  it('a peer tells those with a stream to it, unasked, of blocks it comes to hold (HAVE)', async () => {
    const heard: Array<{ peer: string, cid: string }> = []
    const onHave = (evt: CustomEvent<{ peer: PeerId, cid: CID }>): void => { heard.push({ peer: evt.detail.peer.toString(), cid: evt.detail.cid.toString() }) }
    a.exchange.addEventListener('peer:have-block', onHave)
    try {
      // a opens its stream to b before wanting anything, so b can reach it
      await a.exchange.open(b.libp2p.peerId)
      assert.equal(a.exchange.hasSession(b.libp2p.peerId), true)
      await waitFor('b to serve the stream', () => b.exchange.inflight(a.libp2p.peerId) === 0 && b.libp2p.getConnections(a.libp2p.peerId).length > 0, WAIT_MS, 10)
      const fresh = await rawBlock('a block b has just come to hold')
      await keep(b, [fresh])
      await waitFor('b\'s stream handler', async () => { b.exchange.announce(fresh.cid); await delay(20); return heard.length > 0 }, WAIT_MS, 10)
      assert.deepEqual(heard[0], { peer: b.libp2p.peerId.toString(), cid: fresh.cid.toString() })
      // and a can ask for it at once; the stream carries both
      assertBytes(await a.exchange.want(b.libp2p.peerId, fresh.cid), fresh.bytes)
      assert.equal(blockStreams(a.libp2p).length, 1)
      assert.equal(a.exchange.isBanned(b.libp2p.peerId), false, 'a HAVE is no protocol violation')
      assert.equal(b.violations.length, 0)
    } finally {
      a.exchange.removeEventListener('peer:have-block', onHave)
    }
  })

  it('the responder answers the highest priority first, ties in arrival order', async () => {
    const r = await startLibp2p()
    const { stream, lp } = await rawStream(r, b.libp2p)
    const notAllowed = await rawBlock('held, never announced')
    await keep(b, [notAllowed], false)
    const order = [
      { cid: raws[1]!.cid, priority: 1, cancel: false },
      { cid: raws[2]!.cid, priority: 5, cancel: false },
      { cid: raws[3]!.cid, priority: -3, cancel: false },
      { cid: notAllowed.cid, priority: 5, cancel: false },
      { cid: raws[4]!.cid, priority: 0, cancel: false }
    ]
    // one message: every want is queued before the responder picks the first
    await lp.write(encodeBlockMessage({ entries: order }))
    const answers: string[] = []
    for (let i = 0; i < order.length; i++) {
      const m = await readMessage(lp)
      assert.equal(m.blocks.length + m.presences.length, 1)
      answers.push(m.blocks[0]?.cid.toString() ?? `dont-have ${m.presences[0]!.cid.toString()}`)
      if (m.blocks[0] != null) assert.equal(await verifyBlock(m.blocks[0].cid, m.blocks[0].data), true)
      if (m.presences[0] != null) assert.equal(m.presences[0].type, 'dont-have')
    }
    assert.deepEqual(answers, [
      raws[2]!.cid.toString(),
      `dont-have ${notAllowed.cid.toString()}`,
      raws[1]!.cid.toString(),
      raws[4]!.cid.toString(),
      raws[3]!.cid.toString()
    ])
    await stream.close()
    await streamEnds(stream)
    assert.equal(b.violations.length, 0)
  })

  it('a requester that closes its side after its wants still gets every answer', async () => {
    const r = await startLibp2p()
    const { stream, lp } = await rawStream(r, b.libp2p)
    const missing = await rawBlock('nobody has this')
    await lp.write(encodeBlockMessage({ entries: [raws[5]!, missing, raws[6]!].map(x => ({ cid: x.cid, priority: 0, cancel: false })) }))
    await stream.close() // half-close: we are done asking, still listening
    const answers: BlockMessage[] = []
    for (let i = 0; i < 3; i++) answers.push(await readMessage(lp))
    assert.deepEqual(answers.map(m => m.blocks[0]?.cid.toString() ?? `dont-have ${m.presences[0]?.cid.toString()}`), [
      raws[5]!.cid.toString(), `dont-have ${missing.cid.toString()}`, raws[6]!.cid.toString()
    ])
    await streamEnds(stream)
    assert.equal(b.violations.length, 0)
  })

  it('a block held but not in the allowed set is answered DONT_HAVE, whoever asks', async () => {
    const secret = await rawBlock('in the store, in no loaded manifest')
    await keep(b, [secret], false)
    await rejectsNamed(a.exchange.want(b.libp2p.peerId, secret.cid), 'BlockNotAvailableError')
    // the same block once it belongs to a manifest: only the allowed set made the difference
    b.allowed.add(secret.cid.toString())
    assertBytes(await a.exchange.want(b.libp2p.peerId, secret.cid), secret.bytes)
    assert.equal(a.exchange.isBanned(b.libp2p.peerId), false)
  })

  it('a block the responder does not have: BlockNotAvailableError', async () => {
    const missing = await rawBlock('never stored anywhere')
    b.allowed.add(missing.cid.toString()) // in a manifest, but not downloaded yet
    await rejectsNamed(a.exchange.want(b.libp2p.peerId, missing.cid), 'BlockNotAvailableError')
    await rejectsNamed(a.exchange.want(b.libp2p.peerId, (await rawBlock('unknown')).cid, { priority: -5 }), 'BlockNotAvailableError')
    assert.equal(a.exchange.inflight(b.libp2p.peerId), 0)
    assert.equal(a.exchange.canAsk(b.libp2p.peerId), true)
  })

  it('a want aborted by its signal rejects with the reason, and the block is not sent afterwards', async () => {
    const x = raws[7]!
    const y = raws[8]!
    b.hold = Promise.withResolvers()
    const controller = new AbortController()
    const reason = new Error('the page navigated away')
    const want = a.exchange.want(b.libp2p.peerId, x.cid, { signal: controller.signal })
    await waitFor('the responder to hold the block back', () => b.holding === 1, WAIT_MS, 5)
    controller.abort(reason)
    await assert.rejects(want, err => err === reason)
    assert.equal(a.exchange.inflight(b.libp2p.peerId), 0)
    // an already-aborted signal is refused at once
    await assert.rejects(a.exchange.want(b.libp2p.peerId, x.cid, { signal: controller.signal }), err => err === reason)
    // give the cancel time to cross loopback, then let the responder go on
    await delay(150)
    const uploadedBefore = b.uploaded.length
    b.hold.resolve()
    b.hold = undefined
    // the responder answers in order on one stream: once y arrives, x was skipped or sent
    assertBytes(await a.exchange.want(b.libp2p.peerId, y.cid), y.bytes)
    assert.deepEqual(b.uploaded.slice(uploadedBefore).map(e => e.cid.toString()), [y.cid.toString()])
  })

  it('one of two callers giving up does not cancel the want for the other', async () => {
    const x = raws[9]!
    b.hold = Promise.withResolvers()
    const controller = new AbortController()
    const quitter = a.exchange.want(b.libp2p.peerId, x.cid, { signal: controller.signal })
    const stayer = a.exchange.want(b.libp2p.peerId, x.cid, { signal: AbortSignal.timeout(WAIT_MS) })
    await waitFor('the responder to hold the block back', () => b.holding === 1, WAIT_MS, 5)
    controller.abort(new Error('one caller gave up'))
    await assert.rejects(quitter, /one caller gave up/)
    assert.equal(a.exchange.inflight(b.libp2p.peerId), 1)
    await delay(50)
    b.hold.resolve()
    b.hold = undefined
    assertBytes(await stayer, x.bytes)
  })

  it('upload paused: DONT_HAVE; resumed: served, and block:uploaded counts the bytes', async () => {
    const x = await rawBlock('served only while uploads are on')
    await keep(b, [x])
    b.budget.pause()
    try {
      await rejectsNamed(a.exchange.want(b.libp2p.peerId, x.cid), 'BlockNotAvailableError')
      assert.equal(b.uploaded.some(e => e.cid.equals(x.cid)), false)
    } finally {
      b.budget.resume()
    }
    const budgetBefore = b.budget.uploaded()
    const uploadedBefore = b.uploaded.length
    assertBytes(await a.exchange.want(b.libp2p.peerId, x.cid), x.bytes)
    const events = b.uploaded.slice(uploadedBefore)
    assert.equal(events.length, 1)
    assert.ok(events[0]!.cid.equals(x.cid))
    assert.ok(events[0]!.peer.equals(a.libp2p.peerId))
    assert.equal(events[0]!.bytes, x.bytes.byteLength)
    assert.equal(b.budget.uploaded() - budgetBefore, x.bytes.byteLength)
  })

  it('only direct connections are used: canAsk is false without one, and limited (relayed) ones are skipped', async () => {
    const stranger = await startLibp2p()
    assert.equal(a.exchange.canAsk(stranger.peerId), false)
    await rejectsNamed(a.exchange.want(stranger.peerId, raws[0]!.cid), 'BlockNotAvailableError')
    assert.equal(a.exchange.canAsk(b.libp2p.peerId), true)

    // a relayed connection (one with limits), handed over by stub components
    let streamsOpened = 0
    const limited = {
      status: 'open',
      limits: { bytes: 131_072n, seconds: 120 },
      remotePeer: b.libp2p.peerId,
      newStream: async () => { streamsOpened++; throw new Error('must not open a stream on a limited connection') }
    } as unknown as Connection
    const handled: Array<{ protocol: string, options: unknown }> = []
    const stubbed = blockExchange()({
      libp2p: {
        handle: async (protocol: string, _handler: unknown, options: unknown) => { handled.push({ protocol, options }) },
        unhandle: async () => {},
        getConnections: () => [limited],
        hangUp: async () => {}
      } as any,
      getServableBlock: async () => undefined,
      takeUpload: async () => {}
    })
    await stubbed.start()
    assert.equal(handled[0]?.protocol, BLOCK_PROTOCOL)
    assert.equal((handled[0]?.options as { runOnLimitedConnection?: boolean }).runOnLimitedConnection, false, 'not served over limited connections')
    assert.equal(stubbed.canAsk(b.libp2p.peerId), false)
    await rejectsNamed(stubbed.want(b.libp2p.peerId, raws[0]!.cid), 'BlockNotAvailableError')
    assert.equal(streamsOpened, 0)
    await stubbed.stop()
    await rejectsNamed(stubbed.want(b.libp2p.peerId, raws[0]!.cid), 'ExchangeStoppedError')
  })

  it('a bad block that crossed our cancel still gets its sender banned', async () => {
    const d = await startNode()
    const e = await startNode()
    await keep(d, [raws[5]!])
    d.corrupt = true
    d.hold = Promise.withResolvers<void>()
    await connect(e.libp2p, d.libp2p)
    const ac = new AbortController()
    const want = e.exchange.want(d.libp2p.peerId, raws[5]!.cid, { signal: ac.signal })
    await waitFor('d to hold the block back', () => d.holding === 1, WAIT_MS, 10)
    // d sends at once (this tick's microtasks), our cancel has yet to cross the wire
    d.hold.resolve()
    ac.abort()
    await rejectsNamed(want, 'AbortError')
    await waitFor('e to ban d', () => e.banned.some(b => b.peer.equals(d.libp2p.peerId)), WAIT_MS, 10)
    assert.equal(d.uploaded.length, 1, 'd sent the block')
  })

  describe('a responder that sends bytes not matching their CID', () => {
    let c: TestNode

    before(async () => {
      c = await startNode()
      await keep(c, raws.slice(0, 4))
      c.corrupt = true
      await keep(a, [raws[11]!]) // something c could ask a for
      await connect(a.libp2p, c.libp2p)
    })

    it('is banned: wants reject with InvalidBlockError, then PeerBannedError, and it is hung up on', async () => {
      const wants = [a.exchange.want(c.libp2p.peerId, raws[0]!.cid), a.exchange.want(c.libp2p.peerId, raws[1]!.cid)]
      for (const want of wants) await rejectsNamed(want, 'InvalidBlockError')
      await waitFor('a to ban c', () => a.banned.length === 1, WAIT_MS, 10)
      assert.ok(a.banned[0]!.peer.equals(c.libp2p.peerId))
      assert.match(a.banned[0]!.reason, /do not match/)
      assert.equal(a.exchange.isBanned(c.libp2p.peerId), true)
      await waitFor('a to hang up on c', () => a.libp2p.getConnections(c.libp2p.peerId).length === 0, WAIT_MS, 10)
      assert.equal(a.exchange.canAsk(c.libp2p.peerId), false)
      await rejectsNamed(a.exchange.want(c.libp2p.peerId, raws[2]!.cid), 'PeerBannedError')
      // still banned when there is a connection again (c dials back)
      await connect(c.libp2p, a.libp2p)
      assert.equal(a.exchange.canAsk(c.libp2p.peerId), false)
      await rejectsNamed(a.exchange.want(c.libp2p.peerId, raws[3]!.cid), 'PeerBannedError')
      // the honest peer is untouched
      assert.equal(a.exchange.isBanned(b.libp2p.peerId), false)
      assertBytes(await a.exchange.want(b.libp2p.peerId, raws[2]!.cid), raws[2]!.bytes)
    })

    it("the banned peer's own streams are refused", async () => {
      if (a.libp2p.getConnections(c.libp2p.peerId).length === 0) await connect(c.libp2p, a.libp2p)
      const uploadedBefore = a.uploaded.length
      // a accepts the protocol, then resets the stream at once: c's want fails, it does not hang
      await rejectsNamed(c.exchange.want(a.libp2p.peerId, raws[11]!.cid, { signal: AbortSignal.timeout(WAIT_MS) }), 'BlockNotAvailableError')
      const { stream, lp } = await rawStream(c.libp2p, a.libp2p)
      await lp.write(encodeBlockMessage({ entries: [{ cid: raws[11]!.cid, priority: 0, cancel: false }] })).catch(() => {})
      await readFails(lp)
      await streamEnds(stream)
      assert.equal(a.uploaded.length, uploadedBefore, 'nothing was served to the banned peer')
    })
  })

  describe('protocol violations on raw streams', () => {
    let v: TestNode // the responder, strict limits

    before(async () => {
      v = await startNode({ maxOutstandingWantsPerPeer: 4, maxStrikes: 3 })
      await keep(v, raws)
    })

    it('garbage, an oversize length prefix, then too many wants: three strikes and the peer is banned', { timeout: 10_000 }, async () => {
      const r = await startLibp2p()

      // exactly the want limit is fine (and all of it is answered)
      {
        const { stream, lp } = await rawStream(r, v.libp2p)
        await lp.write(encodeBlockMessage({ entries: raws.slice(0, 4).map(x => ({ cid: x.cid, priority: 0, cancel: false })) }))
        for (let i = 0; i < 4; i++) assert.equal((await readMessage(lp)).blocks.length, 1)
        await stream.close()
        assert.equal(v.violations.length, 0)
      }

      // 1: a message that is not the wire format
      {
        const { stream, lp } = await rawStream(r, v.libp2p)
        await lp.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f, 0x07))
        await readFails(lp)
        await streamEnds(stream)
        await waitFor('strike 1', () => v.violations.length === 1, WAIT_MS, 10)
        assert.equal(v.violations[0]!.strikes, 1)
        assert.equal(v.violations[0]!.error.name, 'MalformedMessageError')
        assert.ok(v.violations[0]!.peer.equals(r.peerId))
      }

      // 2: a length prefix announcing more than MAX_MESSAGE_BYTES
      {
        const { stream, lp } = await rawStream(r, v.libp2p)
        const prefix = createWriter().uint32(MAX_MESSAGE_BYTES + 1).finish()
        stream.send(prefix)
        await readFails(lp)
        await streamEnds(stream)
        await waitFor('strike 2', () => v.violations.length === 2, WAIT_MS, 10)
        assert.equal(v.violations[1]!.strikes, 2)
        assert.equal(v.violations[1]!.error.name, 'InvalidDataLengthError')
        assert.equal(v.exchange.isBanned(r.peerId), false)
      }

      // 3: more wants outstanding than the limit (4) allows
      {
        v.hold = Promise.withResolvers()
        const { stream, lp } = await rawStream(r, v.libp2p)
        await lp.write(encodeBlockMessage({ entries: raws.slice(0, 2).map(x => ({ cid: x.cid, priority: 0, cancel: false })) }))
        await waitFor('v to start serving', () => v.holding === 1, WAIT_MS, 5)
        await lp.write(encodeBlockMessage({ entries: raws.slice(2, 5).map(x => ({ cid: x.cid, priority: 0, cancel: false })) }))
        await readFails(lp)
        await streamEnds(stream)
        await waitFor('strike 3', () => v.violations.length === 3, WAIT_MS, 10)
        assert.equal(v.violations[2]!.strikes, 3)
        assert.equal(v.violations[2]!.error.name, 'TooManyWantsError')
        v.hold.resolve()
        v.hold = undefined
      }

      await waitFor('v to ban r', () => v.banned.length === 1, WAIT_MS, 10)
      assert.ok(v.banned[0]!.peer.equals(r.peerId))
      assert.match(v.banned[0]!.reason, /3 protocol violations/)
      assert.equal(v.exchange.isBanned(r.peerId), true)
      await waitFor('v to hang up on r', () => v.libp2p.getConnections(r.peerId).length === 0 && r.getConnections(v.libp2p.peerId).length === 0, WAIT_MS, 10)

      // a banned peer that comes back is refused, however well it behaves
      const uploadedBefore = v.uploaded.length
      const { stream, lp } = await rawStream(r, v.libp2p)
      await lp.write(encodeBlockMessage({ entries: [{ cid: raws[0]!.cid, priority: 0, cancel: false }] })).catch(() => {})
      await readFails(lp)
      await streamEnds(stream)
      assert.equal(v.uploaded.length, uploadedBefore)
      assert.equal(v.violations.length, 3, 'a refused stream is no further strike')
    })

    it('a requester that sends blocks or presences on its want stream is struck', async () => {
      const r = await startLibp2p()
      const before = v.violations.length
      const { stream, lp } = await rawStream(r, v.libp2p)
      await lp.write(encodeBlockMessage({ blocks: [{ cid: raws[0]!.cid, data: raws[0]!.bytes }] }))
      await readFails(lp)
      await streamEnds(stream)
      await waitFor('a strike', () => v.violations.length === before + 1, WAIT_MS, 10)
      const last = v.violations.at(-1)!
      assert.ok(last.peer.equals(r.peerId))
      assert.equal(last.strikes, 1, 'strikes are counted per peer')
      assert.equal(last.error.name, 'MalformedMessageError')
      assert.equal(v.exchange.isBanned(r.peerId), false)
    })

    it('a responder that breaks the protocol is struck by the requester, and the want fails', async () => {
      // a fake responder: answers the first want with a want of its own
      const fake = await startLibp2p()
      await fake.handle(BLOCK_PROTOCOL, async (stream) => {
        const lp = lpStream(stream)
        await lp.read()
        await lp.write(encodeBlockMessage({ entries: [{ cid: raws[0]!.cid, priority: 0, cancel: false }] }))
      })
      await connect(a.libp2p, fake)
      const before = a.violations.length
      await rejectsNamed(a.exchange.want(fake.peerId, raws[0]!.cid, { signal: AbortSignal.timeout(WAIT_MS) }), 'MalformedMessageError')
      assert.equal(a.violations.length, before + 1)
      assert.ok(a.violations.at(-1)!.peer.equals(fake.peerId))
      assert.equal(a.violations.at(-1)!.strikes, 1)
      assert.equal(a.exchange.isBanned(fake.peerId), false)
    })
  })

  describe('stop()', () => {
    let s: TestNode // asks
    let t: TestNode // serves

    before(async () => {
      [s, t] = await Promise.all([startNode(), startNode()])
      await keep(t, raws.slice(0, 4))
      await connect(s.libp2p, t.libp2p)
      assertBytes(await s.exchange.want(t.libp2p.peerId, raws[0]!.cid), raws[0]!.bytes)
    })

    it('of the requester: pending wants reject, new ones are refused, no handler or stream is left, the responder drops the wants', async () => {
      t.hold = Promise.withResolvers()
      const pending = [s.exchange.want(t.libp2p.peerId, raws[1]!.cid), s.exchange.want(t.libp2p.peerId, raws[2]!.cid)]
      await waitFor('t to hold a block back', () => t.holding === 1, WAIT_MS, 5)

      await s.exchange.stop()
      for (const want of pending) {
        await assert.rejects(want, (err: any) => ['ExchangeStoppedError', 'BlockNotAvailableError'].includes(err?.name))
      }
      await rejectsNamed(s.exchange.want(t.libp2p.peerId, raws[0]!.cid), 'ExchangeStoppedError')
      assert.equal(s.exchange.inflight(t.libp2p.peerId), 0)
      assert.equal(s.libp2p.getProtocols().includes(BLOCK_PROTOCOL), false)
      await waitFor("s's block streams to close", () => blockStreams(s.libp2p).length === 0, WAIT_MS, 10)
      // the responder stops serving wants nobody waits for: the held upload is abandoned
      await waitFor("t's serving to end", () => t.holding === 0 && blockStreams(t.libp2p).length === 0, WAIT_MS, 10)
      assert.equal(t.abortedHolds, 1)
      t.hold.resolve()
      t.hold = undefined
      await delay(50)
      assert.equal(t.uploaded.some(e => e.cid.equals(raws[1]!.cid) || e.cid.equals(raws[2]!.cid)), false)

      await s.exchange.start()
      assertBytes(await s.exchange.want(t.libp2p.peerId, raws[1]!.cid, { signal: AbortSignal.timeout(WAIT_MS) }), raws[1]!.bytes)
    })

    it('of the responder: the upload it holds back is aborted, the requester is told, and no stream is left', async () => {
      t.hold = Promise.withResolvers()
      const abortedBefore = t.abortedHolds
      const want = s.exchange.want(t.libp2p.peerId, raws[3]!.cid, { signal: AbortSignal.timeout(WAIT_MS) })
      await waitFor('t to hold a block back', () => t.holding === 1, WAIT_MS, 5)

      await t.exchange.stop()
      assert.equal(t.holding, 0)
      assert.equal(t.abortedHolds, abortedBefore + 1, 'the held upload saw the abort')
      assert.equal(t.libp2p.getProtocols().includes(BLOCK_PROTOCOL), false)
      await rejectsNamed(want, 'BlockNotAvailableError')
      await waitFor('every block stream to close', () => blockStreams(t.libp2p).length === 0 && blockStreams(s.libp2p).length === 0, WAIT_MS, 10)
      assert.equal(t.uploaded.some(e => e.cid.equals(raws[3]!.cid)), false)
      t.hold.resolve()
      t.hold = undefined
      // stopping twice is fine, and so is starting again
      await t.exchange.stop()
      await t.exchange.start()
      assertBytes(await s.exchange.want(t.libp2p.peerId, raws[3]!.cid, { signal: AbortSignal.timeout(WAIT_MS) }), raws[3]!.bytes)
    })
  })
})
