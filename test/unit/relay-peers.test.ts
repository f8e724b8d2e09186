import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { directPeersOf, parseRelayPeers } from '../../relay/relay-peers.ts'

describe('relay peers (--peer)', () => {
  it('parses the tier list, skipping the relay itself, and names the others as gossipsub direct peers', async () => {
    const [self, a, b] = await Promise.all([0, 1, 2].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    const list = [self!, a!, b!].map((id, i) => `/ip4/10.0.0.${i + 1}/tcp/9091/p2p/${id.toString()}`)
    const peers = parseRelayPeers(list, self)
    assert.deepEqual(peers.map(p => p.peerId), [a!.toString(), b!.toString()])
    const direct = directPeersOf(peers)
    assert.ok(direct[0]!.id.equals(a!))
    assert.equal(direct[1]!.addrs[0]!.toString(), list[2])
    assert.deepEqual(parseRelayPeers(undefined), [])
  })

  it('refuses an address without the relay\'s peer id, as a RelayConfigError naming --peer', () => {
    assert.throws(() => parseRelayPeers(['/ip4/10.0.0.1/tcp/9091']), (err: Error) => err.name === 'RelayConfigError' && /--peer/.test(err.message) && /\/p2p\//.test(err.message))
  })
})
