// Two relays that list each other bridge a site's gossip topic and share one DHT: a node that
// knows only relay A hears a message published by a node that knows only relay B, finds its
// provider record, and dials it (WebRTC signalled through relay B's circuit).
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { after, before, describe, it } from 'node:test'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { loadOrCreateKey } from '../../relay/key-file.ts'
import { createSwarmNode } from '../../src/index.ts'
import { freePort } from '../helpers/free-port.ts'
import { startRelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'
import type { SwarmNode } from '../../src/index.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'

const TOPIC = 'swarmsite/bridge-test'

describe('relay tier: two relays bridge gossip and share the DHT', { timeout: 120_000 }, () => {
  let dir: string
  const relays: RelayProcess[] = []
  const nodes: SwarmNode[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-bridge-'))
    const tier = await Promise.all([0, 1].map(async i => {
      const keyFile = join(dir, `relay-${i}.key`)
      const { key } = await loadOrCreateKey(keyFile)
      const port = await freePort()
      return { keyFile, port, ws: `/ip4/127.0.0.1/tcp/${port}/ws/p2p/${peerIdFromPrivateKey(key).toString()}` }
    }))
    for (const r of tier) relays.push(await startRelayProcess({ keyFile: r.keyFile, wsPort: r.port, args: tier.flatMap(t => ['--peer', t.ws]) }))
    await waitFor('the relays connected to each other', async () => {
      const all = await Promise.all(relays.map(async r => (await fetch(`${r.http}/health`)).json() as Promise<{ relayPeers: string[] }>))
      return all.every(h => h.relayPeers.length === 1)
    }, 20_000)
  })

  after(async () => {
    await Promise.allSettled(nodes.map(async n => n.stop()))
    await Promise.allSettled(relays.map(async r => r.stop()))
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('a node on relay A hears a node on relay B, finds its provide, and dials it directly', async () => {
    const [a, b] = await Promise.all(relays.map(async relay => {
      const node = await createSwarmNode({ bootstrap: [relay.ws], iceServers: [], dhtServerAfterMs: 600_000 })
      nodes.push(node)
      await node.start()
      await node.waitUntilReachable({ signal: AbortSignal.timeout(20_000) })
      node.libp2p.services.pubsub.subscribe(TOPIC)
      return node
    }))
    assert.deepEqual(a!.reservations(), [relays[0]!.peerId])
    assert.deepEqual(b!.reservations(), [relays[1]!.peerId])
    const heard: string[] = []
    a!.libp2p.services.pubsub.addEventListener('message', (evt) => {
      if (evt.detail.topic === TOPIC) heard.push(new TextDecoder().decode(evt.detail.data))
    })
    // the relays join the topic when their nodes do, and graft them at their next heartbeat
    await waitFor('the message across the relays', async () => {
      await b!.libp2p.services.pubsub.publish(TOPIC, new TextEncoder().encode('hello from B'))
      return heard.includes('hello from B')
    }, 20_000, 500)
    assert.equal(a!.libp2p.getConnections().filter(c => c.remotePeer.equals(b!.peerId)).length, 0, 'not through a direct link')

    const cid = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('bridge')))
    await b!.provide(cid, { signal: AbortSignal.timeout(20_000) })
    const found: string[] = []
    for await (const p of a!.findProviders(cid, { signal: AbortSignal.timeout(20_000) })) {
      found.push(p.toString())
      if (p.equals(b!.peerId)) break
    }
    assert.ok(found.includes(b!.peerId.toString()), `providers found: ${found.join(', ')}`)

    const info = await a!.dial(b!.peerId, { signal: AbortSignal.timeout(30_000) })
    assert.equal(info.direct, true)
    assert.equal(info.transport, 'webrtc')
  })
})
