import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import { afterEach, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'
import { relayKeeper } from '../../src/node/relay-keeper.ts'
import { waitFor } from '../helpers/wait.ts'
import type { BootstrapAddress } from '../../src/node/bootstrap.ts'
import type { RelayUnreachableDetail } from '../../src/node/events.ts'
import type { RelayKeeper, RelayKeeperInit } from '../../src/node/relay-keeper.ts'
import type { Connection, Libp2pEvents, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const BASE_MS = 5
const MAX_MS = 1_000

type DialOutcome = 'fail' | 'connect' | 'hang'

/** Rejects if `promise` takes longer than `ms`; clears its own timer either way. */
async function within<T> (ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`${what} took longer than ${ms} ms`)) }, ms)
    })])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Stub libp2p side of the keeper: a scripted dial per relay, a connection list that
 * holds a relay once its dial succeeds, and a real typed event target.
 */
class FakeNetwork {
  readonly events = new TypedEventEmitter<Libp2pEvents>()
  readonly dials: Array<{ ma: Multiaddr, signal: AbortSignal }> = []
  private readonly open = new Map<string, number>()
  private readonly scripts = new Map<string, DialOutcome[]>()
  /** What a dial does once its script is used up. */
  fallback: DialOutcome = 'hang'
  /** When false, a successful dial leaves no open connection behind (the relay drops us at once). */
  keepsConnections = true

  script (relay: BootstrapAddress, ...outcomes: DialOutcome[]): void {
    this.scripts.set(relay.peerId, outcomes)
  }

  dialsTo (relay: BootstrapAddress): number {
    return this.dials.filter(d => d.ma.equals(relay.multiaddr)).length
  }

  readonly dial = async (ma: Multiaddr, options: { signal: AbortSignal }): Promise<Connection> => {
    this.dials.push({ ma, signal: options.signal })
    options.signal.throwIfAborted()
    const peer = ma.getComponents().findLast(c => c.name === 'p2p')!.value!
    const outcome = this.scripts.get(peer)?.shift() ?? this.fallback
    if (outcome === 'fail') throw new Error(`connection refused by ${peer}`)
    if (outcome === 'hang') {
      return new Promise<never>((_resolve, reject) => {
        options.signal.addEventListener('abort', () => { reject(options.signal.reason) }, { once: true })
      })
    }
    if (this.keepsConnections) this.open.set(peer, (this.open.get(peer) ?? 0) + 1)
    return this.connection(peer)
  }

  readonly getConnections = (peerId?: PeerId): Connection[] => {
    const all = [...this.open].flatMap(([peer, n]) => Array.from({ length: n }, () => this.connection(peer)))
    return peerId == null ? all : all.filter(c => c.remotePeer.toString() === peerId.toString())
  }

  /** Closes one connection to `relay` and announces the disconnect when none is left, as libp2p does. */
  drop (relay: BootstrapAddress, peerId: PeerId, options: { announce?: boolean } = {}): void {
    const left = Math.max(0, (this.open.get(relay.peerId) ?? 0) - 1)
    if (left === 0) this.open.delete(relay.peerId)
    else this.open.set(relay.peerId, left)
    if (options.announce ?? left === 0) this.events.safeDispatchEvent('peer:disconnect', { detail: peerId })
  }

  private connection (peer: string): Connection {
    return { remotePeer: { toString: () => peer, equals: (other: any) => other?.toString() === peer }, status: 'open' } as unknown as Connection
  }
}

interface Relay extends BootstrapAddress { id: PeerId }

async function makeRelay (port: number): Promise<Relay> {
  const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  return { id, peerId: id.toString(), multiaddr: multiaddr(`/ip4/127.0.0.1/tcp/${port}/ws/p2p/${id.toString()}`) }
}

describe('relayKeeper', { timeout: 20_000 }, () => {
  let relayA: Relay
  let relayB: Relay
  let keeper: RelayKeeper | undefined
  let net: FakeNetwork
  let connected: Multiaddr[]
  let unreachable: RelayUnreachableDetail[]

  const start = (relays: Relay[], init: Partial<RelayKeeperInit> = {}): RelayKeeper => {
    keeper = relayKeeper({
      relays,
      dialTimeoutMs: 10_000,
      retryBaseDelayMs: BASE_MS,
      retryMaxDelayMs: MAX_MS,
      onConnected: relay => { connected.push(relay) },
      onUnreachable: detail => { unreachable.push(detail) },
      ...init
    })({ dial: net.dial, getConnections: net.getConnections, events: net.events })
    keeper.start()
    return keeper
  }

  before(async () => {
    relayA = await makeRelay(9090)
    relayB = await makeRelay(9190)
  })

  afterEach(async () => {
    await keeper?.stop()
    keeper = undefined
  })

  const setup = (): void => {
    net = new FakeNetwork()
    connected = []
    unreachable = []
  }

  it('reports each failed dial with attempt 1, 2, 3 and a growing delay, then connects', async () => {
    setup()
    net.script(relayA, 'fail', 'fail', 'fail', 'connect')
    start([relayA])
    await waitFor('the relay connection', () => connected.length === 1)
    assert.deepEqual(unreachable.map(u => u.attempt), [1, 2, 3])
    for (const [i, u] of unreachable.entries()) {
      const ceiling = BASE_MS * 2 ** i
      assert.ok(u.retryInMs >= ceiling / 2 && u.retryInMs <= ceiling, `attempt ${u.attempt}: ${u.retryInMs} ms not in [${ceiling / 2}, ${ceiling}]`)
      assert.ok(u.relay.equals(relayA.multiaddr))
      assert.match(u.error.message, /connection refused/)
    }
    assert.ok(unreachable[0]!.retryInMs <= unreachable[1]!.retryInMs && unreachable[1]!.retryInMs <= unreachable[2]!.retryInMs, unreachable.map(u => u.retryInMs).join())
    assert.ok(unreachable[0]!.retryInMs < unreachable[2]!.retryInMs)
    assert.ok(connected[0]!.equals(relayA.multiaddr))
    assert.equal(net.dialsTo(relayA), 4)
  })

  it('never waits longer than retryMaxDelayMs between dials', async () => {
    setup()
    net.script(relayA, 'fail', 'fail', 'fail', 'fail', 'fail', 'connect')
    start([relayA], { retryMaxDelayMs: 12 })
    await waitFor('the relay connection', () => connected.length === 1)
    assert.deepEqual(unreachable.map(u => u.attempt), [1, 2, 3, 4, 5])
    for (const u of unreachable) assert.ok(u.retryInMs <= 12, `${u.retryInMs} ms`)
    assert.deepEqual(unreachable.slice(2).map(u => u.retryInMs >= 6), [true, true, true])
  })

  it('gives each dial a signal that aborts on its deadline', async () => {
    setup()
    net.script(relayA, 'hang', 'connect')
    start([relayA], { dialTimeoutMs: 20 })
    await waitFor('the relay connection', () => connected.length === 1)
    assert.equal(unreachable.length, 1, 'the dial that hung was reported once')
    assert.equal(unreachable[0]!.attempt, 1)
    assert.equal(net.dials[0]!.signal.aborted, true)
  })

  it('redials after the relay disconnects, counting attempts from 1 again', async () => {
    setup()
    net.script(relayA, 'fail', 'fail', 'connect', 'fail', 'connect')
    start([relayA])
    await waitFor('the first connection', () => connected.length === 1)
    assert.equal(net.dialsTo(relayA), 3)
    // while connected, nothing is redialled
    await delay(BASE_MS * 4)
    assert.equal(net.dialsTo(relayA), 3)
    net.drop(relayA, relayA.id)
    await waitFor('the second connection', () => connected.length === 2)
    assert.equal(net.dialsTo(relayA), 5)
    assert.deepEqual(unreachable.map(u => u.attempt), [1, 2, 1])
  })

  it('ignores a disconnect of another peer, or of one of several connections to the relay', async () => {
    setup()
    net.script(relayA, 'connect', 'connect')
    start([relayA])
    await waitFor('the relay connection', () => connected.length === 1)
    const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    net.events.safeDispatchEvent('peer:disconnect', { detail: stranger })
    // a second connection to the relay, opened by someone else; losing one of the two is no disconnect
    await net.dial(relayA.multiaddr, { signal: new AbortController().signal })
    assert.equal(net.getConnections(relayA.id).length, 2)
    net.drop(relayA, relayA.id, { announce: true })
    await delay(BASE_MS * 4)
    assert.equal(net.dialsTo(relayA), 2, 'only the extra dial of this test, no redial by the keeper')
    assert.equal(connected.length, 1)
  })

  it('backs off when the relay drops every connection as soon as it opens', async () => {
    setup()
    net.keepsConnections = false
    net.fallback = 'connect'
    start([relayA], { retryBaseDelayMs: 60_000, retryMaxDelayMs: 120_000 })
    await waitFor('the first connection', () => connected.length >= 1)
    await delay(50)
    assert.equal(net.dialsTo(relayA), 1, 'no redial loop: the next dial waits for the backoff')
  })

  it('keeps every relay on its own: one reachable, one not', async () => {
    setup()
    net.script(relayA, 'connect')
    net.script(relayB, 'fail', 'fail', 'connect')
    start([relayA, relayB])
    await waitFor('both connections', () => connected.length === 2)
    assert.deepEqual(connected.map(String).sort(), [relayA.multiaddr, relayB.multiaddr].map(String).sort())
    assert.ok(unreachable.every(u => u.relay.equals(relayB.multiaddr)))
    assert.deepEqual(unreachable.map(u => u.attempt), [1, 2])
  })

  describe('a relay tier: holding some of the relays', () => {
    let relayC: Relay
    before(async () => { relayC = await makeRelay(9290) })

    it('holds only the first relay of its order, and no other while it stays', async () => {
      setup()
      net.fallback = 'connect'
      const k = start([relayB, relayA, relayC], { hold: 1 })
      await waitFor('the relay connection', () => connected.length === 1)
      await delay(BASE_MS * 4)
      assert.deepEqual(connected.map(String), [String(relayB.multiaddr)])
      assert.equal(net.dials.length, 1)
      assert.deepEqual(k.held(), [relayB.peerId])
    })

    it('moves at once to the next relay of its order when its relay dies, and skips one that is unreachable', async () => {
      setup()
      net.script(relayA, 'connect')
      net.script(relayB, 'fail')
      net.fallback = 'connect'
      const k = start([relayA, relayB, relayC], { hold: 1, retryBaseDelayMs: 60_000, retryMaxDelayMs: 120_000 })
      await waitFor('the first relay', () => connected.length === 1)
      net.drop(relayA, relayA.id)
      // B refuses, and A and B now rest for a minute: C without waiting
      await waitFor('the third relay', () => connected.length === 2)
      assert.deepEqual(connected.map(String), [relayA, relayC].map(r => String(r.multiaddr)))
      assert.deepEqual(unreachable.map(u => String(u.relay)), [String(relayB.multiaddr)])
      assert.deepEqual(k.held(), [relayC.peerId])
    })

    it('waits out the backoff of the relays it lost when every one is down, then takes the first that answers', async () => {
      setup()
      net.script(relayA, 'fail', 'fail', 'connect')
      net.script(relayB, 'fail', 'fail', 'fail', 'fail', 'fail')
      start([relayA, relayB], { hold: 1 })
      await waitFor('a relay', () => connected.length === 1)
      assert.deepEqual(connected.map(String), [String(relayA.multiaddr)])
      assert.ok(unreachable.length >= 3, `${unreachable.length} failures reported`)
    })

    it('with two slots, holds two relays and refills a slot from the rest', async () => {
      setup()
      net.fallback = 'connect'
      const k = start([relayC, relayA, relayB], { hold: 2, retryBaseDelayMs: 60_000, retryMaxDelayMs: 120_000 })
      await waitFor('two relays', () => connected.length === 2)
      assert.deepEqual(k.held().sort(), [relayC.peerId, relayA.peerId].sort())
      net.drop(relayC, relayC.id)
      await waitFor('the spare relay', () => connected.length === 3)
      assert.deepEqual(k.held().sort(), [relayA.peerId, relayB.peerId].sort())
    })

    it('spreads its move over failoverJitterMs', async () => {
      setup()
      net.fallback = 'connect'
      start([relayA, relayB], { hold: 1, failoverJitterMs: 10_000, random: () => 0.5, retryBaseDelayMs: 60_000, retryMaxDelayMs: 120_000 })
      await waitFor('the first relay', () => connected.length === 1)
      net.drop(relayA, relayA.id)
      await delay(100)
      assert.equal(connected.length, 1, 'still waiting its 5 s of jitter')
    })
  })

  describe('stop()', () => {
    const timeouts = (): number => process.getActiveResourcesInfo().filter(r => r === 'Timeout').length

    it('ends a loop waiting out a long backoff promptly, leaving no timer', async () => {
      setup()
      const before = timeouts()
      net.fallback = 'fail'
      const k = start([relayA, relayB], { retryBaseDelayMs: 60_000, retryMaxDelayMs: 120_000 })
      await waitFor('both relays reported unreachable', () => unreachable.length === 2)
      await within(2_000, 'stop()', k.stop())
      keeper = undefined
      assert.equal(timeouts(), before)
      const dials = net.dials.length
      await delay(20)
      assert.equal(net.dials.length, dials, 'no dial after stop()')
      assert.equal(unreachable.length, 2, 'stopping is not reported as unreachable')
    })

    it('aborts a dial in flight', async () => {
      setup()
      net.fallback = 'hang'
      const k = start([relayA])
      await waitFor('the dial', () => net.dials.length === 1)
      await within(2_000, 'stop()', k.stop())
      keeper = undefined
      assert.equal(net.dials[0]!.signal.aborted, true)
      assert.equal(unreachable.length, 0)
    })

    it('ends a loop holding a connection and removes its disconnect listener', async () => {
      setup()
      net.script(relayA, 'connect')
      const k = start([relayA])
      await waitFor('the relay connection', () => connected.length === 1)
      assert.equal(getEventListeners(net.events, 'peer:disconnect').length, 1)
      await within(2_000, 'stop()', k.stop())
      keeper = undefined
      assert.equal(getEventListeners(net.events, 'peer:disconnect').length, 0)
      net.drop(relayA, relayA.id)
      await delay(20)
      assert.equal(net.dialsTo(relayA), 1, 'no redial after stop()')
    })

    it('can be started again after stop()', async () => {
      setup()
      net.fallback = 'connect'
      const k = start([relayA])
      await waitFor('the relay connection', () => connected.length === 1)
      await k.stop()
      net.drop(relayA, relayA.id, { announce: false })
      k.start()
      await waitFor('the relay connection again', () => connected.length === 2)
    })
  })
})
