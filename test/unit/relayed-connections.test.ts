import assert from 'node:assert/strict'
import { afterEach, before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { TypedEventEmitter } from 'main-event'
import { relayedConnectionCloser, relayedConnectionsToClose } from '../../src/node/relayed-connections.ts'
import { waitFor } from '../helpers/wait.ts'
import type { RelayedConnectionCloser, RelayedConnectionCloserInit } from '../../src/node/relayed-connections.ts'
import type { Connection, Libp2pEvents, PeerId } from '@libp2p/interface'

let ids = 0

function fakeConnection (remotePeer: PeerId, options: { relayed?: boolean, openedAt?: number, streams?: Array<{ protocol: string, status?: string }>, closeFails?: boolean } = {}): Connection & { closed: 'no' | 'closed' | 'aborted' } {
  const c = {
    id: `c${++ids}`,
    remotePeer,
    status: 'open',
    limits: options.relayed === true ? { seconds: 120, bytes: 131072n } : undefined,
    timeline: { open: options.openedAt ?? Date.now() },
    streams: (options.streams ?? []).map(s => ({ status: 'open', ...s })),
    closed: 'no',
    async close () {
      if (options.closeFails === true) throw new Error('close timed out')
      c.status = 'closed'
      c.closed = 'closed'
    },
    abort () {
      c.status = 'closed'
      c.closed = 'aborted'
    }
  }
  return c as unknown as Connection & { closed: 'no' | 'closed' | 'aborted' }
}

describe('relayedConnectionsToClose', () => {
  let peer: PeerId
  before(async () => { peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')) })

  it('picks relayed connections to a peer that has a direct connection open', () => {
    const relayed = fakeConnection(peer, { relayed: true })
    const direct = fakeConnection(peer)
    assert.deepEqual(relayedConnectionsToClose([relayed, direct], Date.now(), 60_000), [relayed])
  })

  it('never picks a direct connection, nor a relayed one while no direct connection is open and it is young', () => {
    const relayed = fakeConnection(peer, { relayed: true, openedAt: 1_000 })
    const direct = fakeConnection(peer)
    assert.deepEqual(relayedConnectionsToClose([direct], 2_000, 60_000), [])
    assert.deepEqual(relayedConnectionsToClose([relayed], 2_000, 60_000), [])
    ;(direct as any).status = 'closing'
    assert.deepEqual(relayedConnectionsToClose([relayed, direct], 2_000, 60_000), [])
  })

  it('picks a relayed connection with no direct counterpart once it has been open idleMs', () => {
    const relayed = fakeConnection(peer, { relayed: true, openedAt: 1_000 })
    assert.deepEqual(relayedConnectionsToClose([relayed], 1_000 + 59_999, 60_000), [])
    assert.deepEqual(relayedConnectionsToClose([relayed], 1_000 + 60_000, 60_000), [relayed])
  })

  it('keeps a relayed connection carrying signalling or a stream still negotiating; pings and identify do not count', () => {
    const direct = fakeConnection(peer)
    const signalling = fakeConnection(peer, { relayed: true, streams: [{ protocol: '/webrtc-signaling/0.0.1' }] })
    const negotiating = fakeConnection(peer, { relayed: true, streams: [{ protocol: '' }] })
    const housekeeping = fakeConnection(peer, { relayed: true, streams: [{ protocol: '/ipfs/ping/1.0.0' }, { protocol: '/ipfs/id/1.0.0' }, { protocol: '/webrtc-signaling/0.0.1', status: 'closed' }] })
    assert.deepEqual(relayedConnectionsToClose([direct, signalling, negotiating, housekeeping], Date.now(), 60_000), [housekeeping])
  })
})

describe('relayedConnectionCloser', { timeout: 20_000 }, () => {
  let peer: PeerId
  let other: PeerId
  let connections: Connection[]
  let events: TypedEventEmitter<Libp2pEvents>
  let closer: RelayedConnectionCloser | undefined

  before(async () => {
    peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  })

  const make = (init: Partial<RelayedConnectionCloserInit> = {}): RelayedConnectionCloser => {
    connections = []
    events = new TypedEventEmitter<Libp2pEvents>()
    closer = relayedConnectionCloser({ idleMs: 60_000, afterDirectMs: 20, closeTimeoutMs: 1000, ...init })({
      getConnections: (peerId?: PeerId) => peerId == null ? connections : connections.filter(c => c.remotePeer.equals(peerId)),
      events
    })
    closer.start()
    return closer
  }

  const open = (c: Connection): void => {
    connections.push(c)
    events.safeDispatchEvent('connection:open', { detail: c })
  }

  afterEach(() => {
    closer?.stop()
    closer = undefined
  })

  it('closeRelayed closes the peer\'s relayed connections at once when a direct one is open, and no one else\'s', () => {
    const c = make()
    const relayed = fakeConnection(peer, { relayed: true })
    const othersRelayed = fakeConnection(other, { relayed: true })
    connections.push(relayed, othersRelayed, fakeConnection(peer), fakeConnection(other))
    assert.equal(c.closeRelayed(peer), 1)
    assert.equal(relayed.closed, 'closed')
    assert.equal(othersRelayed.closed, 'no')
  })

  it('closes the relayed connection afterDirectMs after a direct connection to the peer opens', async () => {
    make({ afterDirectMs: 30 })
    const relayed = fakeConnection(peer, { relayed: true })
    open(relayed)
    open(fakeConnection(peer))
    assert.equal(relayed.closed, 'no', 'not at once: the dialler may still be verifying')
    await waitFor('relayed connection closed', () => relayed.closed !== 'no', 2000, 5)
    assert.equal(relayed.closed, 'closed')
  })

  it('closes an unused relayed connection with no direct counterpart after idleMs, and one still signalling only once it is done', async () => {
    make({ idleMs: 40 })
    const idle = fakeConnection(peer, { relayed: true })
    const busy = fakeConnection(other, { relayed: true, streams: [{ protocol: '/webrtc-signaling/0.0.1' }] })
    open(idle)
    open(busy)
    await waitFor('idle relayed connection closed', () => idle.closed !== 'no', 2000, 5)
    assert.equal(busy.closed, 'no')
    ;(busy.streams[0] as any).status = 'closed'
    await waitFor('busy relayed connection closed once its handshake ended', () => busy.closed !== 'no', 2000, 5)
  })

  it('aborts a relayed connection whose graceful close fails', async () => {
    const c = make()
    const stuck = fakeConnection(peer, { relayed: true, closeFails: true })
    connections.push(stuck, fakeConnection(peer))
    c.closeRelayed(peer)
    await waitFor('stuck connection aborted', () => stuck.closed === 'aborted', 2000, 5)
  })

  it('stop() cancels pending checks: nothing is closed afterwards', async () => {
    const c = make({ afterDirectMs: 20, idleMs: 20 })
    const relayed = fakeConnection(peer, { relayed: true })
    open(relayed)
    open(fakeConnection(peer))
    c.stop()
    await new Promise(resolve => setTimeout(resolve, 80))
    assert.equal(relayed.closed, 'no')
  })
})
