// Runs inside a real Chromium page: exposes a swarm node to the test driver as
// `window.swarmsiteTest`. Every method returns plain JSON so Playwright can carry it.
import { enable } from '@libp2p/logger'
import { CID } from 'multiformats/cid'
import { createSwarmNode } from '../../src/index.ts'
import type { SwarmNode, SwarmNodeInit } from '../../src/index.ts'

let node: SwarmNode | undefined
const received = new Map<string, string[]>()
const events: Array<{ type: string, at: number, detail?: string }> = []

function current (): SwarmNode {
  if (node == null) throw new Error('call start() first')
  return node
}

const api = {
  /** Turns on libp2p / swarmsite debug logs (to the page console), e.g. 'swarmsite:*'. */
  enableLogs (namespaces: string): void { enable(namespaces) },
  async start (init: SwarmNodeInit): Promise<{ peerId: string }> {
    node = await createSwarmNode(init)
    for (const type of ['relay:reserved', 'relay:reservation-lost', 'relay:unreachable', 'relay:connected', 'dht:mode', 'dial:retry', 'peer:disconnect'] as const) {
      node.addEventListener(type, (evt: any) => {
        const error = evt.detail?.error
        const detail = error != null ? `${error.name}: ${error.message}` : evt.detail?.peerId?.toString()
        events.push({ type, at: performance.now(), ...(detail != null ? { detail } : {}) })
      })
    }
    await node.start()
    return { peerId: node.peerId.toString() }
  },
  async waitReachable (timeoutMs: number): Promise<{ ms: number, addrs: string[] }> {
    const started = performance.now()
    const addrs = await current().waitUntilReachable({ signal: AbortSignal.timeout(timeoutMs) })
    return { ms: performance.now() - started, addrs: addrs.map(String) }
  },
  async dial (peerId: string, timeoutMs: number): Promise<{ ms: number, transport: string, direct: boolean }> {
    const started = performance.now()
    const info = await current().dial(peerId, { signal: AbortSignal.timeout(timeoutMs) })
    return { ms: performance.now() - started, transport: info.transport, direct: info.direct }
  },
  async provide (cid: string, timeoutMs: number): Promise<{ ms: number }> {
    const started = performance.now()
    await current().provide(CID.parse(cid), { signal: AbortSignal.timeout(timeoutMs) })
    return { ms: performance.now() - started }
  },
  async findProvider (cid: string, provider: string, timeoutMs: number): Promise<{ ms: number, found: boolean }> {
    const started = performance.now()
    for await (const peer of current().findProviders(CID.parse(cid), { signal: AbortSignal.timeout(timeoutMs) })) {
      if (peer.toString() === provider) return { ms: performance.now() - started, found: true }
    }
    return { ms: performance.now() - started, found: false }
  },
  subscribe (topic: string): void {
    const pubsub = current().libp2p.services.pubsub
    received.set(topic, received.get(topic) ?? [])
    pubsub.subscribe(topic)
    pubsub.addEventListener('message', evt => {
      if (evt.detail.topic === topic) received.get(topic)!.push(new TextDecoder().decode(evt.detail.data))
    })
  },
  async publish (topic: string, text: string): Promise<number> {
    const result = await current().libp2p.services.pubsub.publish(topic, new TextEncoder().encode(text))
    return result.recipients.length
  },
  topicPeers (topic: string): number {
    return current().libp2p.services.pubsub.getSubscribers(topic).length
  },
  received (topic: string): string[] { return received.get(topic) ?? [] },
  connections (): Array<{ peerId: string, transport: string, direct: boolean }> {
    return current().connections().map(c => ({ peerId: c.peerId.toString(), transport: c.transport, direct: c.direct }))
  },
  reservations (): string[] { return current().reservations() },
  dhtMode (): string { return current().dhtModeNow },
  events (): Array<{ type: string, at: number, detail?: string }> { return events },
  /** The node itself, for page.evaluate() experiments in a debugger session. */
  node (): SwarmNode | undefined { return node },
  async stop (): Promise<void> { await node?.stop() }
}

declare global {
  interface Window { swarmsiteTest: typeof api }
}
window.swarmsiteTest = api
