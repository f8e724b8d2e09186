/**
 * Feeds the RTT book (src/content/locality/rtt-book.ts): pings each direct link to another
 * node (visitors and relays) soon after it opens, then a few more times, a while apart, so
 * that the node's coordinate learns from every peer it talks to and the ranking's RTT (the
 * least of a peer's samples) leaves out a busy moment. The cost is bounded: at most
 * `samplesPerPeer` pings per peer, `concurrency` at once, one look every `intervalMs`; the
 * connection monitor's ping on every link, both ways, all the time, was most of an idle
 * page's CPU (src/node/constants.ts).
 *
 * `pickPings` is the policy, pure (fake clock in tests); `rttSampler` the loop around it.
 */
import {
  DEFAULT_RTT_PING_CONCURRENCY,
  DEFAULT_RTT_PING_GAP_MS,
  DEFAULT_RTT_PING_TIMEOUT_MS,
  DEFAULT_RTT_SAMPLE_INTERVAL_MS,
  DEFAULT_RTT_SAMPLES_PER_PEER
} from './constants.ts'
import type { RttBook } from '../content/locality/rtt-book.ts'
import type { Logger, PeerId } from '@libp2p/interface'

export interface PingPickInput {
  now: number
  /** Direct links now, by peer key, oldest first. */
  linked: readonly string[]
  inflight: ReadonlySet<string>
  samples: (key: string) => number
  /** When each peer was last pinged (sent). */
  lastPingAt: ReadonlyMap<string, number>
  samplesPerPeer: number
  gapMs: number
  concurrency: number
}

/** Peers to ping now: never pinged first (a new link), then the fewest samples, each at most every `gapMs`. */
export function pickPings (input: PingPickInput): string[] {
  const slots = input.concurrency - input.inflight.size
  if (slots <= 0) return []
  const due = input.linked.filter(key => {
    if (input.inflight.has(key) || input.samples(key) >= input.samplesPerPeer) return false
    const last = input.lastPingAt.get(key)
    return last == null || input.now - last >= input.gapMs
  })
  due.sort((a, b) => Number(input.lastPingAt.has(a)) - Number(input.lastPingAt.has(b)) || input.samples(a) - input.samples(b))
  return due.slice(0, slots)
}

export interface RttSamplerComponents {
  book: RttBook
  /** Peers we hold a direct link with now, oldest first. */
  linked(): PeerId[]
  /** One ping round trip, ms. */
  ping(peer: PeerId, options: { signal: AbortSignal }): Promise<number>
  log: Logger
}

export interface RttSamplerInit {
  intervalMs?: number
  samplesPerPeer?: number
  gapMs?: number
  concurrency?: number
  timeoutMs?: number
}

export interface RttSampler {
  start(): void
  stop(): void
  /** A link opened (or changed): look at once rather than at the next tick. */
  poke(): void
}

export function rttSampler (components: RttSamplerComponents, init: RttSamplerInit = {}): RttSampler {
  const intervalMs = init.intervalMs ?? DEFAULT_RTT_SAMPLE_INTERVAL_MS
  const samplesPerPeer = init.samplesPerPeer ?? DEFAULT_RTT_SAMPLES_PER_PEER
  const gapMs = init.gapMs ?? DEFAULT_RTT_PING_GAP_MS
  const concurrency = init.concurrency ?? DEFAULT_RTT_PING_CONCURRENCY
  const timeoutMs = init.timeoutMs ?? DEFAULT_RTT_PING_TIMEOUT_MS
  const inflight = new Set<string>()
  const lastPingAt = new Map<string, number>()
  let controller: AbortController | undefined
  let timer: ReturnType<typeof setInterval> | undefined
  let poked = false

  const look = (): void => {
    poked = false
    if (controller == null) return
    const peers = components.linked()
    const byKey = new Map(peers.map(p => [p.toString(), p]))
    // forget the ping times of links that closed (a new link to them starts over)
    for (const key of lastPingAt.keys()) if (!byKey.has(key)) lastPingAt.delete(key)
    const now = performance.now()
    for (const key of pickPings({ now, linked: [...byKey.keys()], inflight, samples: components.book.sampleCount, lastPingAt, samplesPerPeer, gapMs, concurrency })) {
      const peer = byKey.get(key)!
      inflight.add(key)
      lastPingAt.set(key, now)
      const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)])
      components.ping(peer, { signal }).then(rtt => {
        components.book.observe(key, rtt)
      }, (err: any) => {
        components.log.trace('ping of %p for its RTT failed: %s', peer, err?.message)
      }).finally(() => {
        inflight.delete(key)
      })
    }
  }

  return {
    start () {
      if (controller != null) return
      controller = new AbortController()
      timer = setInterval(look, intervalMs)
    },
    stop () {
      clearInterval(timer)
      timer = undefined
      controller?.abort()
      controller = undefined
      inflight.clear()
    },
    poke () {
      if (controller == null || poked) return
      poked = true
      // after the connect event's other listeners (identify, the exchange) had their turn
      setTimeout(look, 0)
    }
  }
}
