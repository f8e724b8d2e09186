import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { rankRelays } from '../../src/node/relay-rank.ts'

async function ids (n: number): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
}

describe('rankRelays (rendezvous hashing of peer ids)', () => {
  it('gives every peer the same order on every call, a permutation of the list, and leaves the list alone', async () => {
    const relays = (await ids(4)).map(peerId => ({ peerId }))
    const copy = [...relays]
    const [peer] = await ids(1)
    const order = rankRelays(peer!, relays)
    assert.deepEqual(rankRelays(peer!, [...relays].reverse()), order, 'the list order does not matter')
    assert.deepEqual([...order].sort((a, b) => a.peerId.localeCompare(b.peerId)), [...relays].sort((a, b) => a.peerId.localeCompare(b.peerId)))
    assert.deepEqual(relays, copy)
  })

  it('spreads 3000 peers evenly over 3 relays, and a dead relay\'s peers evenly over the other two', async () => {
    const relays = (await ids(3)).map(peerId => ({ peerId }))
    const peers = await ids(3000)
    const first = new Map(relays.map(r => [r.peerId, 0]))
    for (const p of peers) { const r = rankRelays(p, relays)[0]!.peerId; first.set(r, first.get(r)! + 1) }
    for (const [relay, n] of first) assert.ok(n > 850 && n < 1150, `relay ${relay}: ${n} of 3000`)
    // relay 0 dies: its peers take their second choice; nobody else moves
    const dead = relays[0]!.peerId
    const moved = new Map(relays.slice(1).map(r => [r.peerId, 0]))
    for (const p of peers) {
      const order = rankRelays(p, relays)
      const after = rankRelays(p, relays.slice(1))[0]!.peerId
      if (order[0]!.peerId !== dead) assert.equal(after, order[0]!.peerId, 'a peer of a live relay stays')
      else moved.set(after, moved.get(after)! + 1)
    }
    const [a, b] = [...moved.values()]
    assert.ok(Math.abs(a! - b!) < 0.25 * (a! + b!), `the dead relay's peers split ${a}/${b}`)
  })
})
