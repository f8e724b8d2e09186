// DHT operations timed one at a time on a simulated network: provide, findProviders of a
// CID a random node provides, findPeer of a random node. Hops come from the query's own
// events: a peer from the querier's routing table is hop 1, a peer first named in the
// answer of a hop-d peer is hop d + 1; a lookup's hops are those of the peer whose answer
// held the result (0 when the querier already had it).
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import type { SimNode } from './network.ts'
import type { QueryEvent } from '@libp2p/kad-dht'
import type { PeerId } from '@libp2p/interface'

export interface LookupSample {
  ok: boolean
  /** Until the result arrived (the lookup stops there), or until it failed (ms). */
  ms: number
  /** See above; absent when the lookup failed. */
  hops?: number
  /** DHT requests the lookup sent (SEND_QUERY events). */
  rpcs: number
  error?: string
}

export interface ProvideSample {
  ok: boolean
  ms: number
  /** Peers that were sent the provider record (ADD_PROVIDER). */
  storedOn: number
  error?: string
}

/** A CID for fresh random bytes: nobody has it until someone provides it. */
export async function randomCid (random: () => number): Promise<CID> {
  const bytes = new Uint8Array(32)
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256)
  return CID.createV1(raw.code, await sha256.digest(bytes))
}

/** Tracks the hop at which each peer entered a query. */
class HopTracker {
  private readonly hop = new Map<string, number>()
  private readonly self: string
  rpcs = 0

  constructor (self: PeerId) { this.self = self.toString() }

  /** Records the event; returns the hop of the peer that sent it (0 for ourselves). */
  see (event: QueryEvent): number | undefined {
    if (event.name === 'SEND_QUERY') this.rpcs++
    if (event.name !== 'PEER_RESPONSE' && event.name !== 'PROVIDER' && event.name !== 'FINAL_PEER') return undefined
    const from = event.from.toString()
    const hop = from === this.self ? 0 : (this.hop.get(from) ?? 1)
    if (event.name === 'PEER_RESPONSE') {
      for (const peer of event.closer) {
        const id = peer.id.toString()
        if (!this.hop.has(id)) this.hop.set(id, hop + 1)
      }
    }
    return hop
  }
}

function errorText (err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}

export async function timeProvide (node: SimNode, cid: CID, timeoutMs: number): Promise<ProvideSample> {
  const started = performance.now()
  let storedOn = 0
  try {
    for await (const event of node.services.dht.provide(cid, { signal: AbortSignal.timeout(timeoutMs) })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'ADD_PROVIDER') storedOn++
    }
    return { ok: storedOn > 0, ms: performance.now() - started, storedOn }
  } catch (err) {
    return { ok: false, ms: performance.now() - started, storedOn, error: errorText(err) }
  }
}

/** findProviders until `provider` turns up. */
export async function timeFindProviders (querier: SimNode, cid: CID, provider: PeerId, timeoutMs: number): Promise<LookupSample> {
  const started = performance.now()
  const hops = new HopTracker(querier.peerId)
  try {
    for await (const event of querier.services.dht.findProviders(cid, { signal: AbortSignal.timeout(timeoutMs) })) {
      const hop = hops.see(event)
      if (event.name === 'PROVIDER' && event.providers.some(p => p.id.equals(provider))) {
        return { ok: true, ms: performance.now() - started, hops: hop, rpcs: hops.rpcs }
      }
    }
    return { ok: false, ms: performance.now() - started, rpcs: hops.rpcs, error: 'query ended without the provider' }
  } catch (err) {
    return { ok: false, ms: performance.now() - started, rpcs: hops.rpcs, error: errorText(err) }
  }
}

/** findPeer over the network (useCache: false, so the peer store does not answer). */
export async function timeFindPeer (querier: SimNode, target: PeerId, timeoutMs: number): Promise<LookupSample> {
  const started = performance.now()
  const hops = new HopTracker(querier.peerId)
  try {
    for await (const event of querier.services.dht.findPeer(target, { signal: AbortSignal.timeout(timeoutMs), useCache: false })) {
      const hop = hops.see(event)
      if (event.name === 'FINAL_PEER' && event.peer.id.equals(target)) {
        return { ok: true, ms: performance.now() - started, hops: hop, rpcs: hops.rpcs }
      }
    }
    return { ok: false, ms: performance.now() - started, rpcs: hops.rpcs, error: 'query ended without the peer' }
  } catch (err) {
    return { ok: false, ms: performance.now() - started, rpcs: hops.rpcs, error: errorText(err) }
  }
}

/** Runs `jobs` with at most `concurrency` in flight; results in job order. */
export async function pool<T> (jobs: Array<() => Promise<T>>, concurrency: number): Promise<T[]> {
  const results = new Array<T>(jobs.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++
      results[i] = await jobs[i]!()
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, worker))
  return results
}
