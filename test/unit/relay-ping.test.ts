import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { NoRelayReservationError } from '../../src/node/errors.ts'
import { relayPing } from '../../src/swarm/relay-ping.ts'

describe('relayPing', () => {
  it('pings the first relay holding a reservation, passing the signal; without one it says so by name', async () => {
    const relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    let reservations: string[] = []
    const calls: Array<{ peer: string, signal: AbortSignal | undefined }> = []
    const node = {
      reservations: () => reservations,
      libp2p: { services: { ping: { ping: async (peer: any, options: { signal?: AbortSignal }) => { calls.push({ peer: peer.toString(), signal: options.signal }); return 17 } } } }
    }
    const ping = relayPing(node as any)
    const signal = new AbortController().signal
    await assert.rejects(ping({ signal }), (err: any) => err instanceof NoRelayReservationError && err.name === 'NoRelayReservationError')
    assert.equal(calls.length, 0)
    reservations = [relay.toString()]
    assert.equal(await ping({ signal }), 17)
    assert.deepEqual(calls, [{ peer: relay.toString(), signal }])
  })
})
