/**
 * Many quiet visitors in one Node process, for the relay capacity benchmark:
 * `node clients.ts '<json config>'`. Each is a real swarm node (createSwarmNode: WebSockets,
 * noise, yamux, a circuit-relay reservation, identify, ping, kad-dht client, gossipsub with the
 * page's settings) that joins a site topic and publishes a have summary every 30 s, as an idle
 * tab that loaded a site does; no content core, no WebRTC dials. Commands on stdin (JSON lines):
 * { id, cmd: 'add', n } starts n more (→ per-client ms to reachable, failures);
 * { id, cmd: 'ping', sample } pings the relay from that many clients, 20 ms apart (→ RTTs);
 * { id, cmd: 'probe', marker } publishes a marker from one client;
 * { id, cmd: 'heard', marker } → how many clients received it; { id, cmd: 'stop' }.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { peerIdFromString } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { BlockRanges, encodeHaveSummary, haveTopic } from '../../../src/content/availability/index.ts'
import { createSwarmNode } from '../../../src/index.ts'
import type { SwarmNode } from '../../../src/index.ts'

interface Config { relay: string, siteId: string, publishIntervalMs: number }
const config = JSON.parse(process.argv[2] ?? '{}') as Config
const out = (m: unknown): void => { process.stdout.write(JSON.stringify(m) + '\n') }
const topic = haveTopic(config.siteId)
const relayId = peerIdFromString(config.relay.split('/p2p/').at(-1)!)
const root = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(config.siteId))).toString()
const lag = monitorEventLoopDelay({ resolution: 20 })
lag.enable()

interface Client { node: SwarmNode, timer?: ReturnType<typeof setInterval>, heard: Set<string>, seq: number }
const clients: Client[] = []

async function addClient (): Promise<number> {
  const started = performance.now()
  const node = await createSwarmNode({ bootstrap: [config.relay], iceServers: [], dhtMode: 'client' })
  const client: Client = { node, heard: new Set(), seq: 0 }
  clients.push(client)
  await node.start()
  await node.waitUntilReachable({ signal: AbortSignal.timeout(60_000) })
  const ms = performance.now() - started
  const pubsub = node.libp2p.services.pubsub
  pubsub.subscribe(topic)
  pubsub.addEventListener('message', (evt) => {
    const text = new TextDecoder().decode(evt.detail.data)
    if (text.startsWith('probe:')) client.heard.add(text)
  })
  const publish = (): void => {
    const summary = { seq: ++client.seq, files: [{ root, totalBlocks: 64, blocks: new BlockRanges([[0, 64]]) }] }
    pubsub.publish(topic, encodeHaveSummary(summary)).catch(() => {})
  }
  // a random phase, as tabs that opened at different times
  setTimeout(() => { publish(); client.timer = setInterval(publish, config.publishIntervalMs) }, Math.random() * config.publishIntervalMs).unref()
  return ms
}

out({ ready: true })
for await (const line of createInterface({ input: process.stdin })) {
  const msg = JSON.parse(line) as { id: number, cmd: string, n?: number, sample?: number, marker?: string }
  try {
    if (msg.cmd === 'add') {
      const latencies: number[] = []
      let failures = 0
      const errors: string[] = []
      // 25 at a time: a crowd arriving, not a synchronised burst
      for (let done = 0; done < msg.n!; done += 25) {
        const batch = await Promise.allSettled(Array.from({ length: Math.min(25, msg.n! - done) }, addClient))
        for (const r of batch) {
          if (r.status === 'fulfilled') latencies.push(r.value)
          else { failures++; if (errors.length < 3) errors.push(String(r.reason?.message ?? r.reason)) }
        }
      }
      out({ id: msg.id, ok: true, latencies, failures, errors, clients: clients.length, memory: process.memoryUsage().rss })
    } else if (msg.cmd === 'ping') {
      const rtts: number[] = []
      let failures = 0
      const pick = [...clients].sort(() => Math.random() - 0.5).slice(0, msg.sample)
      lag.reset()
      await Promise.all(pick.map(async (c, i) => {
        await new Promise(resolve => setTimeout(resolve, i * 20))
        try { rtts.push(await c.node.libp2p.services.ping.ping(relayId, { signal: AbortSignal.timeout(10_000) })) } catch { failures++ }
      }))
      out({ id: msg.id, ok: true, rtts, failures, loopLagP99Ms: lag.percentile(99) / 1e6 })
    } else if (msg.cmd === 'mem') {
      out({ id: msg.id, ok: true, rss: process.memoryUsage().rss })
    } else if (msg.cmd === 'probe') {
      const c = clients[Math.floor(Math.random() * clients.length)]!
      await c.node.libp2p.services.pubsub.publish(topic, new TextEncoder().encode(`probe:${msg.marker!}`))
      c.heard.add(`probe:${msg.marker!}`)
      out({ id: msg.id, ok: true })
    } else if (msg.cmd === 'heard') {
      out({ id: msg.id, ok: true, heard: clients.filter(c => c.heard.has(`probe:${msg.marker!}`)).length, clients: clients.length })
    } else if (msg.cmd === 'stop') {
      for (const c of clients) clearInterval(c.timer)
      await Promise.allSettled(clients.map(async c => c.node.stop()))
      out({ id: msg.id, ok: true })
      break
    }
  } catch (err: any) {
    out({ id: msg.id, ok: false, error: String(err?.message ?? err) })
  }
}
process.exit(0)
