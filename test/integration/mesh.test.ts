import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import * as raw from 'multiformats/codecs/raw'
import { createSwarmNode } from '../../src/index.ts'
import { startRelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'
import type { SwarmNode } from '../../src/index.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'

const TOPIC = 'swarmsite/mesh-test'

describe('mesh: real relay process + three Node nodes on 127.0.0.1', { timeout: 120_000 }, () => {
  let relay: RelayProcess
  const nodes: SwarmNode[] = []

  before(async () => {
    relay = await startRelayProcess()
    for (let i = 0; i < 3; i++) {
      const node = await createSwarmNode({ bootstrap: [relay.ws], iceServers: [], dhtServerAfterMs: 300 })
      await node.start()
      nodes.push(node)
    }
  })

  after(async () => {
    await Promise.all(nodes.map(async n => { await n.stop() }))
    await relay?.stop()
  })

  it('every node takes a reservation on the relay and gets a /webrtc address', async () => {
    for (const node of nodes) {
      const addrs = await node.waitUntilReachable({ signal: AbortSignal.timeout(20_000) })
      assert.ok(addrs.some(a => a.toString().includes(`/p2p/${relay.peerId}/p2p-circuit/webrtc`)), addrs.join())
      assert.deepEqual(node.reservations(), [relay.peerId])
    }
  })

  it('two nodes connect directly over WebRTC, not through the relay', async () => {
    const [a, b] = nodes as [SwarmNode, SwarmNode]
    const info = await a.dial(b.peerId, { signal: AbortSignal.timeout(30_000) })
    assert.equal(info.transport, 'webrtc', `${info.remoteAddr.toString()} ${JSON.stringify(a.connections().map(c => [c.peerId.toString().slice(-6), c.remoteAddr.toString(), c.direct]))}`)
    assert.equal(info.direct, true)
    const seenByB = await waitFor('B to see A', () => b.connections().find(c => c.peerId.equals(a.peerId) && c.transport === 'webrtc'))
    assert.equal(seenByB.direct, true)
  })

  it('the relayed connection that carried the WebRTC signalling is closed once the direct one is verified', async () => {
    const [a, b] = nodes as [SwarmNode, SwarmNode]
    const relayedBetween = (): number =>
      a.connections().filter(c => c.peerId.equals(b.peerId) && !c.direct).length +
      b.connections().filter(c => c.peerId.equals(a.peerId) && !c.direct).length
    await waitFor('no relayed connection left between A and B', () => relayedBetween() === 0, 10_000)
    // the direct connection is untouched, and still carries a stream both ways
    const direct = a.libp2p.getConnections(b.peerId).find(c => c.limits == null)
    assert.ok(direct != null && direct.status === 'open')
    assert.ok(await a.libp2p.services.ping.ping(b.peerId, { signal: AbortSignal.timeout(10_000) }) >= 0)
  })

  it('nodes turn DHT servers once reachable, and a record provided on one is found by another', async () => {
    await waitFor('all nodes in DHT server mode', () => nodes.every(n => n.dhtModeNow === 'server'), 20_000)
    const cid = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('mesh test record')))
    await nodes[0]!.provide(cid, { signal: AbortSignal.timeout(30_000) })
    const found = await waitFor('provider record', async () => {
      for await (const peer of nodes[2]!.findProviders(cid, { signal: AbortSignal.timeout(10_000) })) {
        if (peer.equals(nodes[0]!.peerId)) return true
      }
      return false
    }, 30_000, 500)
    assert.ok(found)
  })

  it('a gossip message reaches every node', async () => {
    const received = nodes.map(() => [] as string[])
    nodes.forEach((node, i) => {
      node.libp2p.services.pubsub.subscribe(TOPIC)
      node.libp2p.services.pubsub.addEventListener('message', evt => {
        if (evt.detail.topic === TOPIC) received[i]!.push(new TextDecoder().decode(evt.detail.data))
      })
    })
    // the relay joins the topic when it sees peers subscribe; wait for a mesh to form
    await waitFor('gossip mesh', () => nodes.every(n => n.libp2p.services.pubsub.getSubscribers(TOPIC).length > 0), 20_000)
    await waitFor('message delivery', async () => {
      await nodes[1]!.libp2p.services.pubsub.publish(TOPIC, new TextEncoder().encode('hello swarm'))
      return received[0]!.includes('hello swarm') && received[2]!.includes('hello swarm')
    }, 20_000, 1000)
    assert.equal(received[1]!.length, 0, 'a node does not receive its own message')
  })

  it('the relay reports connections, reservations and gossip on /health and /metrics', async () => {
    const health = await (await fetch(`${relay.http}/health`)).json()
    assert.equal(health.status, 'ok')
    assert.equal(health.peerId, relay.peerId)
    assert.ok(health.reservations >= 3)
    assert.ok(health.topics.includes(TOPIC))
    const metrics = await (await fetch(`${relay.http}/metrics`)).text()
    assert.match(metrics, /^swarmsite_relay_reservations [3-9]/m)
    assert.match(metrics, /swarmsite_relay_gossip_messages_total\{topic="swarmsite\/mesh-test"\} [1-9]/)
    assert.match(metrics, /swarmsite_relay_dht_provider_records [1-9]/)
    assert.match(metrics, /libp2p_/)
  })

  it('stopping leaves the nodes with no connections and the relay exits cleanly', async () => {
    for (const node of nodes) await node.stop()
    for (const node of nodes) {
      assert.equal(node.status, 'stopped')
      assert.equal(node.libp2p.getConnections().length, 0)
    }
    assert.equal(await relay.stop(), 0)
  })
})
