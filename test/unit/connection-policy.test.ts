import assert from 'node:assert/strict'
import { setTimeout as delay } from 'node:timers/promises'
import { afterEach, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { connectionPolicy } from '../../src/node/connection-policy.ts'
import { waitFor } from '../helpers/wait.ts'
import type { BootstrapAddress } from '../../src/node/bootstrap.ts'
import type { ConnectionPolicy, ConnectionPolicyInit } from '../../src/node/connection-policy.ts'
import type { AbortOptions, Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

async function newPeerId (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

function fakeConnection (remotePeer: PeerId, options: { relayed?: boolean, status?: Connection['status'], remoteAddr?: Multiaddr } = {}): Connection {
  return {
    remotePeer,
    status: options.status ?? 'open',
    limits: options.relayed === true ? { seconds: 120, bytes: 131072n } : undefined,
    remoteAddr: options.remoteAddr ?? multiaddr(`/ip4/127.0.0.1/udp/1/webrtc/p2p/${remotePeer.toString()}`),
    async close () { (this as any).status = 'closed' }
  } as unknown as Connection
}

type DialHandler = (ma: Multiaddr, options: AbortOptions) => Promise<Connection>

/** Stub components: scripted dials, a connection list, a peer store holding given addresses. */
class FakeNode {
  connections: Connection[] = []
  readonly dialled: Multiaddr[] = []
  readonly addresses = new Map<string, Multiaddr[]>()
  handler: DialHandler = async () => { throw new Error('no route') }
  /** How many verifications fail before they start to pass. */
  failVerifications = 0
  readonly verified: Connection[] = []
  /** Peers whose relayed connections the policy asked to close, in order. */
  readonly closedRelayed: PeerId[] = []

  readonly components = {
    dial: async (ma: Multiaddr, options: AbortOptions): Promise<Connection> => {
      this.dialled.push(ma)
      return this.handler(ma, options)
    },
    getConnections: (peerId?: PeerId): Connection[] =>
      peerId == null ? this.connections : this.connections.filter(c => c.remotePeer.equals(peerId)),
    verify: async (connection: Connection): Promise<void> => {
      this.verified.push(connection)
      if (this.failVerifications > 0) {
        this.failVerifications--
        throw new Error('stream reset')
      }
    },
    closeRelayed: (peerId: PeerId): void => {
      // when asked, the connection it verified must be the one in hand
      assert.ok(this.verified.length > 0, 'closeRelayed before any verification')
      this.closedRelayed.push(peerId)
    },
    peerStore: {
      get: async (peerId: PeerId): Promise<any> => {
        const addrs = this.addresses.get(peerId.toString())
        if (addrs == null) throw Object.assign(new Error('Not found'), { name: 'NotFoundError' })
        return { id: peerId, addresses: addrs.map(ma => ({ multiaddr: ma, isCertified: false })) }
      }
    }
  }

  /** Dials succeed with a direct connection to the peer the address names last. */
  connectOnDial (): void {
    this.handler = async (ma) => {
      const target = ma.getComponents().at(-1)!.value!
      const peer = [...this.known].find(p => p.toString() === target)!
      const c = fakeConnection(peer)
      this.connections.push(c)
      return c
    }
  }

  readonly known = new Set<PeerId>()
}

describe('connectionPolicy', { timeout: 20_000 }, () => {
  let relayId: PeerId
  let relay: BootstrapAddress
  let target: PeerId
  let others: PeerId[]
  let node: FakeNode
  let policy: ConnectionPolicy | undefined

  const make = (init: Partial<ConnectionPolicyInit> = {}): ConnectionPolicy => {
    policy = connectionPolicy({
      relays: [relay],
      concurrency: 4,
      attempts: 3,
      dialTimeoutMs: 10_000,
      retryBaseDelayMs: 1,
      retryMaxDelayMs: 4,
      maxConnections: 8,
      maxLifetimeWebRTCDials: 400,
      ...init
    })(node.components)
    return policy
  }

  before(async () => {
    relayId = await newPeerId()
    relay = { peerId: relayId.toString(), multiaddr: multiaddr(`/ip4/127.0.0.1/tcp/9090/ws/p2p/${relayId.toString()}`) }
    target = await newPeerId()
    others = await Promise.all([1, 2, 3].map(newPeerId))
  })

  const fresh = (): void => {
    node = new FakeNode()
    for (const p of [relayId, target, ...others]) node.known.add(p)
    // every node holds its relay connection, a direct WebSockets one
    node.connections.push(fakeConnection(relayId, { remoteAddr: relay.multiaddr }))
  }

  afterEach(() => {
    policy?.stop()
    policy = undefined
  })

  it('returns an existing direct connection without dialling', async () => {
    fresh()
    const existing = fakeConnection(target)
    node.connections.push(existing)
    const p = make()
    assert.equal(await p.dialDirect(target), existing)
    assert.equal(node.dialled.length, 0)
    assert.equal(p.webRTCDials, 0)
  })

  it('does not take a relayed or closing connection to the peer for a direct one', async () => {
    fresh()
    node.connections.push(fakeConnection(target, { relayed: true }), fakeConnection(target, { status: 'closing' }))
    node.connectOnDial()
    const p = make()
    const c = await p.dialDirect(target)
    assert.equal(c.limits, undefined)
    assert.equal(c.status, 'open')
    assert.equal(node.dialled.length, 1)
  })

  it('throws ConnectionLimitError when maxConnections peers are already connected directly', async () => {
    fresh()
    node.connections.push(fakeConnection(others[0]!), fakeConnection(others[1]!), fakeConnection(others[1]!))
    node.connectOnDial()
    const p = make({ maxConnections: 2 })
    await assert.rejects(p.dialDirect(target), (err: any) => err.name === 'ConnectionLimitError')
    assert.equal(node.dialled.length, 0)
    // a peer we already hold is still returned at the limit
    assert.equal((await p.dialDirect(others[0]!)).remotePeer, others[0])
  })

  it('counts neither relayed connections nor the relay connection against maxConnections', async () => {
    fresh()
    node.connections.push(fakeConnection(others[0]!, { relayed: true }), fakeConnection(others[1]!, { relayed: true }))
    node.connectOnDial()
    const p = make({ maxConnections: 1 })
    const c = await p.dialDirect(target)
    assert.ok(c.remotePeer.equals(target))
  })

  it('retries up to `attempts` times, calling onRetry between, then throws DialFailedError', async () => {
    fresh()
    const retries: Array<{ peerId: PeerId, attempt: number, retryInMs: number, error: Error }> = []
    const p = make({ attempts: 3, onRetry: detail => { retries.push(detail) } })
    await assert.rejects(p.dialDirect(target), (err: any) => {
      assert.equal(err.name, 'DialFailedError')
      assert.match(err.message, /after 3 attempts/)
      assert.match(err.cause?.message, /no route/)
      return true
    })
    assert.deepEqual(retries.map(r => r.attempt), [1, 2])
    for (const r of retries) {
      assert.ok(r.peerId.equals(target))
      assert.match(r.error.message, /no route/)
      assert.ok(r.retryInMs >= 0 && r.retryInMs <= 4, String(r.retryInMs))
    }
    // one address (through the relay) per attempt
    assert.equal(node.dialled.length, 3)
    assert.equal(p.webRTCDials, 3)
  })

  it('succeeds on a later attempt', async () => {
    fresh()
    let calls = 0
    const retries: number[] = []
    node.handler = async () => {
      if (++calls < 3) throw new Error('init channel never opened')
      const c = fakeConnection(target)
      node.connections.push(c)
      return c
    }
    const p = make({ attempts: 5, onRetry: ({ attempt }) => { retries.push(attempt) } })
    const c = await p.dialDirect(target)
    assert.ok(c.remotePeer.equals(target))
    assert.deepEqual(retries, [1, 2])
  })

  it('verifies a new connection before returning it; a dead one is closed and the dial retried', async () => {
    fresh()
    node.connectOnDial()
    node.failVerifications = 1
    const retries: string[] = []
    const connection = await make({ onRetry: ({ error }) => retries.push(error.message) }).dialDirect(target)
    assert.equal(node.verified.length, 2)
    assert.equal(node.verified[0]!.status, 'closed', 'the connection that failed verification is closed')
    assert.equal(connection, node.verified[1])
    assert.equal(connection.status, 'open')
    assert.match(retries[0] ?? '', /after verify-connection/)
  })

  it('closes the relayed (signalling) connections to the peer once, after the direct one is verified', async () => {
    fresh()
    node.connectOnDial()
    node.failVerifications = 1
    await make().dialDirect(target)
    assert.equal(node.verified.length, 2)
    assert.equal(node.closedRelayed.length, 1, 'not after the failed verification: its retry still needs the relayed connection')
    assert.ok(node.closedRelayed[0]!.equals(target))
    // an existing direct connection is returned as it is: nothing was dialled, nothing to close
    await make().dialDirect(target)
    assert.equal(node.closedRelayed.length, 1)
  })

  it('enforces maxLifetimeWebRTCDials with ConnectionLimitError', async () => {
    fresh()
    const p = make({ attempts: 1, maxLifetimeWebRTCDials: 2 })
    for (let i = 0; i < 2; i++) {
      await assert.rejects(p.dialDirect(target), (err: any) => err.name === 'DialFailedError')
    }
    assert.equal(p.webRTCDials, 2)
    await assert.rejects(p.dialDirect(target), (err: any) => {
      assert.equal(err.name, 'ConnectionLimitError')
      assert.match(err.message, /lifetime/)
      return true
    })
    assert.equal(node.dialled.length, 2, 'no dial past the limit')
    // the limit holds across peers: it is the node's, not the peer's
    await assert.rejects(p.dialDirect(others[0]!), (err: any) => err.name === 'ConnectionLimitError')
    assert.equal(p.webRTCDials, 2)
  })

  it('shares one dial between concurrent callers for the same peer', async () => {
    fresh()
    let release = (): void => {}
    const released = new Promise<void>(resolve => { release = resolve })
    node.handler = async () => {
      await released
      const c = fakeConnection(target)
      node.connections.push(c)
      return c
    }
    const p = make()
    const calls = [p.dialDirect(target), p.dialDirect(target), p.dialDirect(target)]
    await waitFor('the dial to start', () => node.dialled.length === 1)
    release()
    const [a, b, c] = await Promise.all(calls)
    assert.equal(a, b)
    assert.equal(b, c)
    assert.equal(node.dialled.length, 1)
    assert.equal(p.webRTCDials, 1)
  })

  it('does not accept a relayed connection, nor one to another peer, as the direct one', async () => {
    fresh()
    node.handler = async () => fakeConnection(target, { relayed: true })
    const p = make({ attempts: 2 })
    await assert.rejects(p.dialDirect(target), (err: any) => {
      assert.equal(err.name, 'DialFailedError')
      assert.match(err.message, /relayed/)
      return true
    })
    assert.equal(node.dialled.length, 2)

    fresh()
    node.handler = async () => fakeConnection(relayId)
    const q = make({ attempts: 1 })
    await assert.rejects(q.dialDirect(target), (err: any) => err.name === 'DialFailedError')
  })

  it('dials WebRTC addresses that end in /p2p/<target>, even when the peer store lacks the suffix', async () => {
    fresh()
    const circuitOnly = multiaddr(`/ip4/127.0.0.1/tcp/9090/ws/p2p/${relayId.toString()}/p2p-circuit/webrtc`)
    const otherRelay = await newPeerId()
    const viaOther = multiaddr(`/ip4/10.0.0.2/tcp/9090/ws/p2p/${otherRelay.toString()}/p2p-circuit/webrtc`)
    const complete = multiaddr(`/ip4/10.0.0.3/tcp/9090/ws/p2p/${otherRelay.toString()}/p2p-circuit/webrtc/p2p/${target.toString()}`)
    node.addresses.set(target.toString(), [
      circuitOnly,
      viaOther,
      complete,
      // not WebRTC: never dialled by this policy
      multiaddr(`/ip4/127.0.0.1/tcp/9090/ws/p2p/${relayId.toString()}/p2p-circuit`),
      multiaddr('/ip4/10.0.0.4/tcp/4001')
    ])
    const p = make({ attempts: 1 })
    await assert.rejects(p.dialDirect(target))
    const dialled = node.dialled.map(String)
    assert.ok(dialled.length > 0)
    for (const ma of dialled) {
      assert.ok(ma.endsWith(`/p2p/${target.toString()}`), ma)
      assert.ok(ma.includes('/p2p-circuit/webrtc/'), ma)
    }
    assert.deepEqual(dialled.sort(), [
      `${circuitOnly.toString()}/p2p/${target.toString()}`,
      `${viaOther.toString()}/p2p/${target.toString()}`,
      complete.toString()
    ].sort(), 'each address once: the relay-derived one equals the completed peer-store one')
  })

  it('passes each dial a signal with a deadline', async () => {
    fresh()
    const signals: AbortSignal[] = []
    node.handler = async (_ma, options) => {
      signals.push(options.signal!)
      return new Promise<never>((_resolve, reject) => {
        options.signal!.addEventListener('abort', () => { reject(options.signal!.reason) }, { once: true })
      })
    }
    const p = make({ attempts: 1, dialTimeoutMs: 20 })
    await assert.rejects(p.dialDirect(target), (err: any) => err.name === 'DialFailedError')
    assert.equal(signals.length, 1)
    assert.equal(signals[0]!.aborted, true)
  })

  it('runs at most `concurrency` dials at once', async () => {
    fresh()
    let running = 0
    let most = 0
    const gates: Array<() => void> = []
    node.handler = async (ma) => {
      running++
      most = Math.max(most, running)
      await new Promise<void>(resolve => { gates.push(resolve) })
      running--
      const peer = [target, ...others].find(p => ma.toString().endsWith(p.toString()))!
      const c = fakeConnection(peer)
      node.connections.push(c)
      return c
    }
    const p = make({ concurrency: 2 })
    const calls = [target, ...others].map(async peer => p.dialDirect(peer))
    await waitFor('two dials', () => running === 2)
    await delay(20)
    assert.equal(running, 2, 'the others wait in the queue')
    while (gates.length > 0 || running > 0) {
      gates.shift()?.()
      await delay(1)
    }
    const results = await Promise.all(calls)
    assert.equal(results.length, 4)
    assert.equal(most, 2)
  })

  it("rejects a caller whose signal aborts, without waiting for the dial", async () => {
    fresh()
    node.handler = async (_ma, options) => new Promise<never>((_resolve, reject) => {
      options.signal!.addEventListener('abort', () => { reject(options.signal!.reason) }, { once: true })
    })
    const p = make()
    const controller = new AbortController()
    const call = p.dialDirect(target, { signal: controller.signal })
    await waitFor('the dial to start', () => node.dialled.length === 1)
    controller.abort()
    await assert.rejects(call, (err: any) => err.name === 'AbortError')
  })

  it('stop() aborts dials in flight and refuses new ones', async () => {
    fresh()
    node.handler = async (_ma, options) => new Promise<never>((_resolve, reject) => {
      options.signal!.addEventListener('abort', () => { reject(options.signal!.reason) }, { once: true })
    })
    const p = make()
    const call = p.dialDirect(target)
    await waitFor('the dial to start', () => node.dialled.length === 1)
    p.stop()
    await assert.rejects(call)
    await assert.rejects(p.dialDirect(others[0]!))
    assert.equal(node.dialled.length, 1, 'no retry after stop()')
  })
})
