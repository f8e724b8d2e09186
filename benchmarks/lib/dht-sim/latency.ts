// A latency model for @libp2p/memory, injected in user space.
//
// @libp2p/memory has a `latency` option, but it is not a latency model: its reader awaits
// `delay(latency)` before each buffer in turn, so k buffers sent together arrive at
// latency, 2×latency … k×latency (a link that carries one buffer per `latency`), every
// link gets the listener's one fixed value, and there is no jitter. So we leave it at 0
// and wrap the transport instead:
//
// - each pair of nodes has a fixed one-way base delay, uniform in [0.4, 1.4) × mean
//   (drawn from a hash of the two peer ids and the seed, the same in both directions);
// - each buffer a connection writes is delivered after base + jitter, the jitter drawn per
//   buffer from an exponential distribution with mean 0.1 × mean, so the one-way delay
//   averages `oneWayMeanMs`;
// - a direction is FIFO, like TCP or an ordered SCTP channel: a buffer never overtakes an
//   earlier one (its delivery time is at least the previous buffer's);
// - the transport handshake (TCP SYN/SYN-ACK) costs one round trip before libp2p's own
//   upgrade starts; noise, multistream-select and yamux then pay their own round trips
//   over the delayed wire;
// - the close (FIN) and reset travel the same queue behind the data.
//
// Bandwidth is unlimited and nothing is lost. The delay is applied by wrapping the raw
// MultiaddrConnection's `sendData`/`sendClose`/`sendReset` (the hooks a transport
// implements for AbstractMultiaddrConnection) before the upgrader sees the connection.
import { memory } from '@libp2p/memory'
import { serviceCapabilities, transportSymbol } from '@libp2p/interface'
import type { AbortOptions, MultiaddrConnection, Transport, Upgrader, UpgraderOptions } from '@libp2p/interface'
import type { MemoryTransportComponents } from '@libp2p/memory'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface LatencyModel {
  /** Mean one-way delay (ms); 0 turns the model off. */
  oneWayMeanMs: number
  /** Seed of the per-pair base delays. */
  seed: number
}

/** Share of the mean one-way delay that is per-buffer jitter (exponential); the rest is the per-pair base. */
const JITTER_SHARE = 0.1
/** The per-pair base is uniform in [BASE_MIN, BASE_MIN + BASE_SPAN) × (1 − JITTER_SHARE) / 0.9 × mean. */
const BASE_MIN = 0.4
const BASE_SPAN = 1.0

/** FNV-1a over a string, for a stable per-pair draw in [0, 1). */
function hashUnit (text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  // a final avalanche so nearby strings spread over the range
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  return (h >>> 0) / 4294967296
}

/** The fixed one-way base delay between two peers (ms), the same whichever way round. */
export function pairBaseDelayMs (model: LatencyModel, a: string, b: string): number {
  if (model.oneWayMeanMs <= 0) return 0
  const key = a < b ? `${model.seed}:${a}:${b}` : `${model.seed}:${b}:${a}`
  // mean of (BASE_MIN + BASE_SPAN·u) is 0.9: scale so base + jitter averages oneWayMeanMs
  return model.oneWayMeanMs * (1 - JITTER_SHARE) / (BASE_MIN + BASE_SPAN / 2) * (BASE_MIN + BASE_SPAN * hashUnit(key))
}

function jitterMs (model: LatencyModel): number {
  return -Math.log(1 - Math.random()) * JITTER_SHARE * model.oneWayMeanMs
}

/** The hooks AbstractMultiaddrConnection leaves to its transport (protected there). */
interface WireHooks {
  sendData: (data: Uint8ArrayList) => { sentBytes: number, canSendMore: boolean }
  sendClose: (options?: AbortOptions) => Promise<void>
  sendReset: (err: Error) => void
}

function remotePeerOf (ma: Multiaddr): string | undefined {
  return ma.getComponents().find(c => c.name === 'p2p')?.value
}

/**
 * Delays everything `maConn` writes by the pair's base delay plus jitter, in order.
 * Must run before the connection carries any data (the upgrader is the first writer).
 */
function delayWrites (maConn: MultiaddrConnection, model: LatencyModel, localPeer: string): void {
  const remotePeer = remotePeerOf(maConn.remoteAddr) ?? ''
  const base = pairBaseDelayMs(model, localPeer, remotePeer)
  const wire = maConn as unknown as WireHooks
  const sendData = wire.sendData.bind(wire)
  const sendClose = wire.sendClose.bind(wire)
  const sendReset = wire.sendReset.bind(wire)
  const queue: Array<{ at: number, run: () => void }> = []
  let lastAt = 0
  let timer: ReturnType<typeof setTimeout> | undefined

  const flush = (): void => {
    timer = undefined
    const now = performance.now()
    // timers fire on whole milliseconds: deliver what is due within half of one
    while (queue.length > 0 && queue[0]!.at <= now + 0.5) queue.shift()!.run()
    arm()
  }
  const arm = (): void => {
    if (timer != null || queue.length === 0) return
    timer = setTimeout(flush, Math.max(0, queue[0]!.at - performance.now()))
  }
  const schedule = (run: () => void): void => {
    const at = Math.max(lastAt, performance.now() + base + jitterMs(model))
    lastAt = at
    queue.push({ at, run })
    arm()
  }

  wire.sendData = (data) => {
    const sentBytes = data.byteLength
    schedule(() => { sendData(data) })
    return { sentBytes, canSendMore: true }
  }
  wire.sendClose = async (options) => {
    await new Promise<void>(resolve => { schedule(resolve) })
    await sendClose(options)
  }
  wire.sendReset = (err) => {
    schedule(() => { sendReset(err) })
  }
  // nothing is dropped when the connection closes or aborts: a reset queued behind the
  // data must still reach the other end (else it waits for a timeout), and a write to
  // a transport that has ended is ignored
}

function delayingUpgrader (upgrader: Upgrader, model: LatencyModel, localPeer: string): Upgrader {
  return {
    upgradeInbound: async (maConn: MultiaddrConnection, opts: UpgraderOptions) => {
      delayWrites(maConn, model, localPeer)
      await upgrader.upgradeInbound(maConn, opts)
    },
    upgradeOutbound: async (maConn: MultiaddrConnection, opts: UpgraderOptions) => {
      delayWrites(maConn, model, localPeer)
      return upgrader.upgradeOutbound(maConn, opts)
    },
    createInboundAbortSignal: (signal) => upgrader.createInboundAbortSignal(signal),
    getStreamMuxers: () => upgrader.getStreamMuxers(),
    getConnectionEncrypters: () => upgrader.getConnectionEncrypters()
  }
}

/** `@libp2p/memory` with the latency model above; with `oneWayMeanMs: 0` it is the plain memory transport. */
export function latencyMemory (model: LatencyModel): (components: MemoryTransportComponents) => Transport {
  const createMemory = memory()
  return (components) => {
    const inner = createMemory(components)
    if (model.oneWayMeanMs <= 0) return inner
    const localPeer = components.peerId.toString()
    return {
      [transportSymbol]: true,
      [Symbol.toStringTag]: '@swarmsite/latency-memory',
      [serviceCapabilities]: ['@libp2p/transport'],
      dial: async (ma, options) => {
        // the transport's own handshake: one round trip before libp2p's upgrade starts
        const rtt = 2 * pairBaseDelayMs(model, localPeer, remotePeerOf(ma) ?? '')
        await new Promise<void>((resolve, reject) => {
          const onAbort = (): void => { clearTimeout(t); reject(options.signal.reason) }
          const t = setTimeout(() => { options.signal.removeEventListener('abort', onAbort); resolve() }, rtt)
          options.signal.addEventListener('abort', onAbort, { once: true })
        })
        return inner.dial(ma, { ...options, upgrader: delayingUpgrader(options.upgrader, model, localPeer) })
      },
      createListener: (options) => inner.createListener({ ...options, upgrader: delayingUpgrader(options.upgrader, model, localPeer) }),
      listenFilter: (addrs) => inner.listenFilter(addrs),
      dialFilter: (addrs) => inner.dialFilter(addrs)
    } as Transport
  }
}
