import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { BlockRanges, availability, decodeHaveSummary, encodeHaveSummary } from '../../src/content/availability/index.ts'
import { createSwarmNode } from '../../src/index.ts'
import { startRelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'
import type { Availability, AvailabilityComponents } from '../../src/content/availability/index.ts'
import type { SwarmNode } from '../../src/index.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import type { GossipSub, Message, PublishResult } from '@libp2p/gossipsub'
import type { AbortOptions, PeerId } from '@libp2p/interface'

async function rootOf (text: string): Promise<string> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(text))).toString()
}

async function newPeerId (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

const has = (peers: PeerId[], peer: PeerId): boolean => peers.some(p => p.equals(peer))

function activeTimeouts (): number {
  return process.getActiveResourcesInfo().filter(r => r === 'Timeout').length
}

// ---------------------------------------------------------------------------------------
// an in-memory stand-in for gossipsub: every member hears every other member's messages,
// signed by the publisher, and sees their subscriptions

class FakeBus {
  readonly members: FakePubsub[] = []
}

class FakePubsub extends EventTarget {
  readonly peerId: PeerId
  readonly topics = new Set<string>()
  readonly published: Array<{ topic: string, data: Uint8Array }> = []
  private readonly bus: FakeBus
  /** Set to make publish() throw like gossipsub with no peers and allowPublishToZeroTopicPeers off. */
  throwOnPublish = false

  constructor (bus: FakeBus, peerId: PeerId) {
    super()
    this.bus = bus
    this.peerId = peerId
    bus.members.push(this)
  }

  subscribe (topic: string): void {
    this.topics.add(topic)
    for (const other of this.others()) other.emit('subscription-change', { peerId: this.peerId, subscriptions: [{ topic, subscribe: true }] })
  }

  unsubscribe (topic: string): void {
    this.topics.delete(topic)
    for (const other of this.others()) other.emit('subscription-change', { peerId: this.peerId, subscriptions: [{ topic, subscribe: false }] })
  }

  getTopics (): string[] { return [...this.topics] }

  getSubscribers (topic: string): PeerId[] {
    return this.others().filter(o => o.topics.has(topic)).map(o => o.peerId)
  }

  async publish (topic: string, data: Uint8Array): Promise<PublishResult> {
    if (this.throwOnPublish) throw new Error('PublishError.NoPeersSubscribedToTopic')
    this.published.push({ topic, data })
    const recipients = this.others().filter(o => o.topics.has(topic))
    for (const o of recipients) o.deliver(this.peerId, topic, data)
    return { recipients: recipients.map(o => o.peerId) }
  }

  /** Delivers a message as if `from` had signed it (or unsigned). */
  deliver (from: PeerId, topic: string, data: Uint8Array, type: 'signed' | 'unsigned' = 'signed'): void {
    const msg: Message = type === 'signed'
      ? { type, from, topic, data, sequenceNumber: 1n, signature: new Uint8Array(0), key: from.publicKey! }
      : { type, topic, data }
    queueMicrotask(() => { this.emit('message', msg) })
  }

  private emit (type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail }))
  }

  private others (): FakePubsub[] { return this.bus.members.filter(m => m !== this) }

  asGossipSub (): GossipSub { return this as unknown as GossipSub }
}

describe('availability with an in-memory pubsub', () => {
  const FAST = { siteId: 'stub-site', debounceMs: 10, publishIntervalMs: 60_000 }

  async function pair (init: Partial<Parameters<typeof availability>[0]> = {}, extra: Partial<AvailabilityComponents> = {}): Promise<{ bus: FakeBus, a: Availability, b: Availability, pa: FakePubsub, pb: FakePubsub }> {
    const bus = new FakeBus()
    const pa = new FakePubsub(bus, await newPeerId())
    const pb = new FakePubsub(bus, await newPeerId())
    const a = availability({ ...FAST, ...init })({ peerId: pa.peerId, pubsub: pa.asGossipSub(), ...extra })
    const b = availability({ ...FAST, ...init })({ peerId: pb.peerId, pubsub: pb.asGossipSub() })
    await a.start()
    await b.start()
    return { bus, a, b, pa, pb }
  }

  it('rejects bad options and arguments by name', async () => {
    assert.throws(() => availability({ siteId: '' }), { name: 'InvalidAvailabilityArgumentError' })
    assert.throws(() => availability({ siteId: 's', publishIntervalMs: 0 }), { name: 'InvalidAvailabilityArgumentError' })
    assert.throws(() => availability({ siteId: 's', maxMessageBytes: 10 }), { name: 'InvalidAvailabilityArgumentError' })
    const { a, b } = await pair()
    const root = await rootOf('args')
    assert.throws(() => { a.addLocal('nope', 0, 1) }, { name: 'InvalidAvailabilityArgumentError' })
    assert.throws(() => { a.addLocal(root, 1, 1) }, { name: 'InvalidAvailabilityArgumentError' })
    assert.throws(() => { a.addLocal(root, 0, 0) }, { name: 'InvalidAvailabilityArgumentError' })
    a.addLocal(root, 0, 2)
    assert.throws(() => { a.addLocal(root, 0, 3) }, { name: 'InvalidAvailabilityArgumentError' }, 'a root has one block count')
    assert.throws(() => a.peersWith(root, -1), { name: 'InvalidAvailabilityArgumentError' })
    await a.stop()
    await b.stop()
  })

  it('defaults the topic to swarmsite/<siteId>/have/1 and joins and leaves it', async () => {
    const { a, b, pa } = await pair()
    assert.deepEqual(pa.getTopics(), ['swarmsite/stub-site/have/1'])
    await a.stop()
    assert.deepEqual(pa.getTopics(), [])
    await b.stop()
  })

  it('publishes after local changes; the other side learns, with a peer:have event', async () => {
    const { a, b, pa } = await pair()
    const root = await rootOf('one')
    const events: Array<{ peer: PeerId, roots: string[] }> = []
    b.addEventListener('peer:have', evt => { events.push(evt.detail) })
    for (let i = 0; i < 3; i++) a.addLocal(root, i, 10)
    assert.deepEqual(a.localBlocks(root)?.toJSON(), [[0, 3]])
    await waitFor('b to learn', () => has(b.peersWith(root, 2), pa.peerId), 2000, 5)
    assert.deepEqual(b.peersWith(root, 3), [])
    assert.deepEqual(a.peersWith(root, 0), [], 'never self')
    assert.equal(events.length, 1)
    assert.ok(events[0]!.peer.equals(pa.peerId))
    assert.deepEqual(events[0]!.roots, [root])
    a.removeLocal(root, 2)
    await waitFor('b to see the eviction', () => !has(b.peersWith(root, 2), pa.peerId), 2000, 5)
    assert.ok(has(b.peersWith(root, 1), pa.peerId))
    const last = decodeHaveSummary(pa.published.at(-1)!.data)
    assert.deepEqual(last.files.map(f => [f.root, f.totalBlocks, f.blocks.toJSON()]), [[root, 10, [[0, 2]]]])
    assert.equal(events.length, 1, 'a summary that only takes away raises no event')
    await a.stop()
    await b.stop()
  })

  it('coalesces a burst of changes into one publish', async () => {
    const { a, b, pa } = await pair({ debounceMs: 50 })
    // a's hello goes out once b has subscribed; b's hello makes a answer (an empty summary
    // is sent only once, so the answer is skipped)
    await waitFor('the hello', () => pa.published.length === 1, 2000, 5)
    assert.equal(a.helloDelivered, true, 'the hello reached b: downloads may start listening for answers')
    await delay(100)
    const before = pa.published.length
    const root = await rootOf('burst')
    for (let i = 0; i < 200; i++) a.addLocal(root, i, 200)
    await waitFor('complete file learned', () => has(b.peersWith(root, 199), pa.peerId), 2000, 5)
    assert.equal(pa.published.length, before + 1)
    await a.stop()
    await b.stop()
  })

  it('republishes when another peer subscribes, so a newcomer learns at once', async () => {
    const bus = new FakeBus()
    const pa = new FakePubsub(bus, await newPeerId())
    const a = availability(FAST)({ peerId: pa.peerId, pubsub: pa.asGossipSub() })
    await a.start()
    const root = await rootOf('early')
    a.addLocal(root, 0, 1)
    await delay(50)
    assert.equal(pa.published.length, 0, 'nobody to hear it: nothing sent, nothing thrown')
    const pc = new FakePubsub(bus, await newPeerId())
    const c = availability(FAST)({ peerId: pc.peerId, pubsub: pc.asGossipSub() })
    await c.start()
    await waitFor('newcomer learns', () => has(c.peersWith(root, 0), pa.peerId), 2000, 5)
    await a.stop()
    await c.stop()
  })

  it('answers a hello from a peer it has not heard from', async () => {
    const { a, b, pa, pb } = await pair()
    const root = await rootOf('hello')
    a.addLocal(root, 0, 1)
    await waitFor('b learns', () => has(b.peersWith(root, 0), pa.peerId), 2000, 5)
    const before = pa.published.length
    // a stranger says hello (an empty summary): a answers with its own
    const stranger = await newPeerId()
    pa.deliver(stranger, 'swarmsite/stub-site/have/1', encodeHaveSummary({ seq: 1, files: [] }))
    await waitFor('a answers', () => pa.published.length > before, 2000, 5)
    assert.ok(pb.published.length >= 1)
    await a.stop()
    await b.stop()
  })

  it('a summary replaces the previous one, and stale or bad ones are ignored without throwing', async () => {
    const { a, b, pb } = await pair()
    const topic = 'swarmsite/stub-site/have/1'
    const x = await rootOf('x')
    const y = await rootOf('y')
    const sender = await newPeerId()
    pb.deliver(sender, topic, encodeHaveSummary({ seq: 10, files: [{ root: x, totalBlocks: 4, blocks: new BlockRanges([[0, 4]]) }] }))
    await waitFor('x learned', () => has(b.peersWith(x, 3), sender), 2000, 5)
    pb.deliver(sender, topic, encodeHaveSummary({ seq: 11, files: [{ root: y, totalBlocks: 2, blocks: new BlockRanges([[1, 2]]) }] }))
    await waitFor('y learned', () => has(b.peersWith(y, 1), sender), 2000, 5)
    assert.deepEqual(b.peersWith(x, 3), [], 'the new summary replaced the old one')
    // an older summary arriving late changes nothing
    pb.deliver(sender, topic, encodeHaveSummary({ seq: 10, files: [{ root: x, totalBlocks: 4, blocks: new BlockRanges([[0, 4]]) }] }))
    // garbage, a foreign version, an unsigned message, an oversized one, an out-of-range one
    pb.deliver(sender, topic, new Uint8Array([1, 2, 3, 4, 5]))
    pb.deliver(sender, topic, new Uint8Array([8, 2, 16, 12]))
    pb.deliver(sender, topic, encodeHaveSummary({ seq: 20, files: [{ root: x, totalBlocks: 4, blocks: new BlockRanges([[0, 4]]) }] }), 'unsigned')
    pb.deliver(sender, topic, new Uint8Array(20_000))
    pb.deliver(sender, topic, Uint8Array.from([8, 1, 16, 30, 26, 42, 10, 36, ...CID.parse(x).bytes, 16, 4, 26, 2, 3, 5]))
    // our own message echoed back is not us holding anything
    pb.deliver(pb.peerId, topic, encodeHaveSummary({ seq: 30, files: [{ root: x, totalBlocks: 4, blocks: new BlockRanges([[0, 4]]) }] }))
    // another topic is not ours
    pb.deliver(sender, 'swarmsite/other/have/1', encodeHaveSummary({ seq: 40, files: [{ root: x, totalBlocks: 4, blocks: new BlockRanges([[0, 4]]) }] }))
    await delay(50)
    assert.deepEqual(b.peersWith(x, 3), [])
    assert.ok(has(b.peersWith(y, 1), sender))
    await a.stop()
    await b.stop()
  })

  it('forgets a peer whose summary is not refreshed', async () => {
    const { a, b, pa } = await pair({ peerExpiryMs: 100 })
    const root = await rootOf('expiring')
    a.addLocal(root, 0, 1)
    await waitFor('learned', () => has(b.peersWith(root, 0), pa.peerId), 2000, 5)
    const heard = Date.now()
    await waitFor('forgotten', () => b.peersWith(root, 0).length === 0, 2000, 5)
    assert.ok(Date.now() - heard >= 50)
    await a.stop()
    await b.stop()
  })

  it('removePeer forgets; with forever it also ignores what the peer says later', async () => {
    const { a, b, pb } = await pair()
    const topic = 'swarmsite/stub-site/have/1'
    const root = await rootOf('ban')
    const p1 = await newPeerId()
    const p2 = await newPeerId()
    const summary = (seq: number): Uint8Array => encodeHaveSummary({ seq, files: [{ root, totalBlocks: 1, blocks: new BlockRanges([[0, 1]]) }] })
    pb.deliver(p1, topic, summary(1))
    pb.deliver(p2, topic, summary(1))
    await waitFor('both learned', () => b.peersWith(root, 0).length === 2, 2000, 5)
    b.removePeer(p1)
    b.removePeer(p2, { forever: true })
    assert.deepEqual(b.peersWith(root, 0), [])
    pb.deliver(p1, topic, summary(2))
    pb.deliver(p2, topic, summary(2))
    await waitFor('p1 heard again', () => has(b.peersWith(root, 0), p1), 2000, 5)
    assert.ok(!has(b.peersWith(root, 0), p2), 'a banned peer stays out')
    await a.stop()
    await b.stop()
  })

  it('provides a complete file once, in the background, and withdraws it when incomplete', async () => {
    const provided: string[] = []
    const cancelled: string[] = []
    const { a, b } = await pair({}, {
      provide: async (cid: CID) => { provided.push(cid.toString()) },
      cancelProvide: async (cid: CID) => { cancelled.push(cid.toString()) }
    })
    const root = await rootOf('complete')
    a.addLocal(root, 0, 3)
    a.addLocal(root, 2, 3)
    assert.deepEqual(provided, [])
    a.addLocal(root, 1, 3)
    await waitFor('provided', () => provided.length === 1, 2000, 5)
    a.addLocal(root, 1, 3)
    await delay(20)
    assert.deepEqual(provided, [root])
    a.removeLocal(root, 1)
    assert.deepEqual(cancelled, [root])
    a.addLocal(root, 1, 3)
    await waitFor('provided again after completing again', () => provided.length === 2, 2000, 5)
    await a.stop()
    await b.stop()
  })

  it('does not provide when told not to, and survives a failing or hanging provide', async () => {
    let calls = 0
    const bus = new FakeBus()
    const pa = new FakePubsub(bus, await newPeerId())
    const off = availability({ ...FAST, provideCompleteFiles: false })({ peerId: pa.peerId, pubsub: pa.asGossipSub(), provide: async () => { calls++ } })
    await off.start()
    off.addLocal(await rootOf('off'), 0, 1)
    await delay(20)
    assert.equal(calls, 0)
    await off.stop()

    const failing = availability({ ...FAST, publishIntervalMs: 50 })({
      peerId: pa.peerId,
      pubsub: pa.asGossipSub(),
      provide: async () => { calls++; throw new Error('no DHT peers') }
    })
    await failing.start()
    failing.addLocal(await rootOf('fail'), 0, 1)
    await waitFor('retried on the next period', () => calls >= 2, 2000, 5)
    await failing.stop()

    let aborted = false
    const hanging = availability({ ...FAST, provideTimeoutMs: 50 })({
      peerId: pa.peerId,
      pubsub: pa.asGossipSub(),
      provide: async (_cid: CID, options?: AbortOptions) => new Promise((_resolve, reject) => {
        options?.signal?.addEventListener('abort', () => { aborted = true; reject(options.signal!.reason) })
      })
    })
    await hanging.start()
    hanging.addLocal(await rootOf('hang'), 0, 1)
    await waitFor('provide timed out', () => aborted, 2000, 5)
    await hanging.stop()
  })

  it('findProviders collects DHT providers up to a limit, skipping self and banned peers', async () => {
    const bus = new FakeBus()
    const pa = new FakePubsub(bus, await newPeerId())
    const [p1, p2, p3, banned] = await Promise.all([newPeerId(), newPeerId(), newPeerId(), newPeerId()])
    const a = availability(FAST)({
      peerId: pa.peerId,
      pubsub: pa.asGossipSub(),
      async * findProviders () { yield pa.peerId; yield banned!; yield p1!; yield p1!; yield p2!; yield p3! }
    })
    const root = await rootOf('dht')
    a.removePeer(banned!, { forever: true })
    const found = await a.findProviders(root, { limit: 2 })
    assert.deepEqual(found.map(String), [p1, p2].map(String))
    assert.deepEqual(a.peersWith(root, 12345).map(String), [p1, p2].map(String), 'DHT providers hold every block')
    a.removePeer(p1!)
    assert.deepEqual(a.peersWith(root, 0).map(String), [p2!.toString()])
    // p2's own fresh summary says it holds only block 0 now: that outranks its DHT record
    await a.start()
    pa.deliver(p2!, 'swarmsite/stub-site/have/1', encodeHaveSummary({ seq: 1, files: [{ root, totalBlocks: 10, blocks: new BlockRanges([[0, 1]]) }] }))
    await waitFor('summary heard', () => !has(a.peersWith(root, 5), p2!), 2000, 5)
    assert.deepEqual(a.peersWith(root, 0).map(String), [p2!.toString()], 'listed once')
    await a.stop()
  })

  it('findProviders ends at its deadline with what it found, and rejects when the caller aborts', async () => {
    const bus = new FakeBus()
    const pa = new FakePubsub(bus, await newPeerId())
    const p1 = await newPeerId()
    const a = availability({ ...FAST, findProvidersTimeoutMs: 100 })({
      peerId: pa.peerId,
      pubsub: pa.asGossipSub(),
      async * findProviders (_cid: CID, options?: AbortOptions) {
        yield p1
        await new Promise((_resolve, reject) => { options?.signal?.addEventListener('abort', () => { reject(options.signal!.reason) }) })
      }
    })
    const root = await rootOf('slow dht')
    const started = Date.now()
    assert.deepEqual((await a.findProviders(root)).map(String), [p1.toString()])
    assert.ok(Date.now() - started < 1000)
    await assert.rejects(a.findProviders(root, { signal: AbortSignal.timeout(20) }), { name: 'TimeoutError' })
    const none = availability(FAST)({ peerId: pa.peerId, pubsub: pa.asGossipSub() })
    assert.deepEqual(await none.findProviders(root), [], 'no DHT: nobody')
  })

  it('publishing with no peers, or a pubsub that throws, neither throws nor sends', async () => {
    const bus = new FakeBus()
    const pa = new FakePubsub(bus, await newPeerId())
    const pb = new FakePubsub(bus, await newPeerId())
    pb.subscribe('swarmsite/stub-site/have/1')
    pa.throwOnPublish = true
    const a = availability({ ...FAST, publishIntervalMs: 20 })({ peerId: pa.peerId, pubsub: pa.asGossipSub() })
    await a.start()
    a.addLocal(await rootOf('quiet'), 0, 1)
    await delay(100)
    assert.equal(pa.published.length, 0)
    await a.stop()
  })

  it('sends summaries within maxMessageBytes however much it holds', async () => {
    const { a, b, pa } = await pair({ maxMessageBytes: 1024 })
    const roots = await Promise.all(Array.from({ length: 100 }, async (_, i) => rootOf(`many ${i}`)))
    for (const root of roots) for (let i = 0; i < 20; i += 2) a.addLocal(root, i, 20)
    await waitFor('published', () => pa.published.length > 0 && decodeHaveSummary(pa.published.at(-1)!.data).files.length > 0, 2000, 5)
    const last = pa.published.at(-1)!.data
    assert.ok(last.byteLength <= 1024, `${last.byteLength} bytes`)
    await waitFor('b learned some', () => roots.some(r => has(b.peersWith(r, 0), pa.peerId)), 2000, 5)
    await a.stop()
    await b.stop()
  })

  it('stop leaves no timers behind', async () => {
    const idle = activeTimeouts()
    const { a, b } = await pair({ debounceMs: 1000, publishIntervalMs: 1000 })
    const root = await rootOf('timers')
    a.addLocal(root, 0, 1)
    b.addLocal(root, 0, 2)
    assert.ok(activeTimeouts() > idle, 'running: interval and debounce timers')
    await a.stop()
    await b.stop()
    assert.equal(activeTimeouts(), idle)
    // changes after stop schedule nothing
    a.addLocal(root, 0, 1)
    b.addLocal(root, 1, 2)
    assert.equal(activeTimeouts(), idle)
  })
})

// ---------------------------------------------------------------------------------------

describe('availability over a real relay and three nodes on 127.0.0.1', { timeout: 180_000 }, () => {
  const SITE = 'availability-test'
  let relay: RelayProcess
  const nodes: SwarmNode[] = []
  const have: Availability[] = []
  let root1: string
  let root2: string

  async function startNode (): Promise<void> {
    const node = await createSwarmNode({ bootstrap: [relay.ws], iceServers: [], dhtServerAfterMs: 300 })
    await node.start()
    nodes.push(node)
    const a = availability({ siteId: SITE, debounceMs: 100, publishIntervalMs: 120_000 })({
      peerId: node.peerId,
      pubsub: node.libp2p.services.pubsub,
      provide: async (cid, options) => { await node.provide(cid, options) },
      cancelProvide: async (cid, options) => { await node.libp2p.services.dht.cancelReprovide(cid, options) },
      findProviders: (cid, options) => node.findProviders(cid, options)
    })
    await a.start()
    have.push(a)
  }

  before(async () => {
    root1 = await rootOf('availability file one')
    root2 = await rootOf('availability file two')
    relay = await startRelayProcess()
    await startNode()
    await startNode()
  })

  after(async () => {
    await Promise.all(have.map(async a => { await a.stop() }))
    await Promise.all(nodes.map(async n => { await n.stop() }))
    await relay?.stop()
  })

  it('B hears what A holds through the relay hub, block by block', async () => {
    const [a, b] = have as [Availability, Availability]
    const [na] = nodes as [SwarmNode]
    const events: string[][] = []
    b.addEventListener('peer:have', evt => { if (evt.detail.peer.equals(na.peerId)) events.push(evt.detail.roots) })
    for (let i = 0; i < 3; i++) a.addLocal(root1, i, 5)
    await waitFor('B to learn A holds block 2', () => has(b.peersWith(root1, 2), na.peerId), 20_000)
    assert.deepEqual(b.peersWith(root1, 3), [])
    assert.deepEqual(b.peersWith(root1, 4), [])
    assert.ok(events.some(r => r.includes(root1)))
    assert.equal(nodes[0]!.connections().some(c => c.peerId.equals(nodes[1]!.peerId)), false, 'no direct link needed')
  })

  it('a node that joins after A published learns at once (hello and answer, not the 2 min republish)', async () => {
    const started = Date.now()
    await startNode()
    const c = have[2]!
    await waitFor('C to learn A holds block 0', () => has(c.peersWith(root1, 0), nodes[0]!.peerId), 20_000)
    assert.ok(Date.now() - started < 30_000)
  })

  it('an eviction on A reaches B and C', async () => {
    have[0]!.removeLocal(root1, 1)
    for (const x of [have[1]!, have[2]!]) {
      await waitFor('eviction seen', () => !has(x.peersWith(root1, 1), nodes[0]!.peerId), 20_000)
      assert.ok(has(x.peersWith(root1, 0), nodes[0]!.peerId))
      assert.ok(has(x.peersWith(root1, 2), nodes[0]!.peerId))
    }
  })

  it('a file complete on A is provided on the DHT and found from another node', async () => {
    await waitFor('all nodes in DHT server mode', () => nodes.every(n => n.dhtModeNow === 'server'), 30_000)
    const [a] = have as [Availability]
    for (let i = 0; i < 3; i++) a.addLocal(root2, i, 3)
    // a component on another topic hears no gossip: only the DHT can tell it
    const dhtOnly = availability({ siteId: 'availability-test-dht-only' })({
      peerId: nodes[2]!.peerId,
      pubsub: nodes[2]!.libp2p.services.pubsub,
      findProviders: (cid, options) => nodes[2]!.findProviders(cid, options)
    })
    assert.deepEqual(dhtOnly.peersWith(root2, 0), [])
    const found = await waitFor('A as a provider of root2', async () => {
      const peers = await dhtOnly.findProviders(root2, { signal: AbortSignal.timeout(10_000) })
      return has(peers, nodes[0]!.peerId)
    }, 40_000, 500)
    assert.ok(found)
    for (const i of [0, 1, 2]) assert.ok(has(dhtOnly.peersWith(root2, i), nodes[0]!.peerId), `DHT holder counts for block ${i}`)
    await waitFor('B also hears it by gossip', () => has(have[1]!.peersWith(root2, 2), nodes[0]!.peerId), 20_000)
  })

  it('stop leaves the topic, and nothing is published afterwards', async () => {
    const topic = 'swarmsite/availability-test/have/1'
    const pubsub = nodes[0]!.libp2p.services.pubsub
    let published = 0
    const original = pubsub.publish.bind(pubsub)
    pubsub.publish = async (t: string, data?: Uint8Array) => { if (t === topic) published++; return original(t, data) }
    try {
      for (const a of have) await a.stop()
      for (const node of nodes) assert.ok(!node.libp2p.services.pubsub.getTopics().includes(topic))
      have[0]!.addLocal(root1, 4, 5)
      await delay(500)
      assert.equal(published, 0)
    } finally {
      pubsub.publish = original
    }
  })
})
