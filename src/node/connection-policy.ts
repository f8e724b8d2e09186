import { defaultLogger } from '@libp2p/logger'
import { Queue } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { raceSignal } from 'race-signal'
import { WebRTC } from '@multiformats/multiaddr-matcher'
import { backoffDelay, sleep } from './backoff.ts'
import { isDirect } from './direct.ts'
import { rankRelays } from './relay-rank.ts'
import { ConnectionLimitError, DialFailedError } from './errors.ts'
import type { BootstrapAddress } from './bootstrap.ts'
import type { AbortOptions, ComponentLogger, Connection, PeerId, PeerStore } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface ConnectionPolicyInit {
  relays: BootstrapAddress[]
  concurrency: number
  attempts: number
  dialTimeoutMs: number
  retryBaseDelayMs: number
  retryMaxDelayMs: number
  maxConnections: number
  maxLifetimeWebRTCDials: number
  onRetry?(detail: { peerId: PeerId, attempt: number, retryInMs: number, error: Error }): void
}

export interface ConnectionPolicyComponents {
  dial(ma: Multiaddr, options: AbortOptions & { onProgress?(evt: { type: string }): void }): Promise<Connection>
  getConnections(peerId?: PeerId): Connection[]
  /** Proves a new connection carries data both ways before the dial counts as done. */
  verify(connection: Connection, options: AbortOptions): Promise<void>
  peerStore: Pick<PeerStore, 'get'>
  /** Closes the relayed (signalling) connections to a peer once a direct one is verified. */
  closeRelayed?(peerId: PeerId): void
  /** Where this component logs (libp2p's `logger`, so several nodes in one process can be told apart); default `defaultLogger()`. */
  logger?: ComponentLogger
}

export interface ConnectionPolicy {
  /** Opens (or reuses) a direct WebRTC connection to a peer, within the node's limits. */
  dialDirect(peerId: PeerId, options?: AbortOptions): Promise<Connection>
  /** WebRTC dials started so far; Chromium caps RTCPeerConnections per tab. */
  readonly webRTCDials: number
  stop(): void
}

/**
 * Peer store addresses often lack the trailing /p2p/<peer>; a circuit address without it
 * names the relay as the peer, and libp2p would hand back our relay connection.
 */
function withPeerId (ma: Multiaddr, peerId: PeerId): Multiaddr {
  const last = ma.getComponents().at(-1)
  return last?.name === 'p2p' && last.value === peerId.toString() ? ma : ma.encapsulate(`/p2p/${peerId.toString()}`)
}

/**
 * Our policy for peer dials: a bounded number at once, a deadline and bounded retries
 * with backoff per dial, a cap on open connections and on WebRTC dials over the node's
 * life. The retries also absorb the parallel-dial race in @libp2p/webrtc (patched in
 * patches/, retried here in case a variant of it remains).
 */
export function connectionPolicy (init: ConnectionPolicyInit): (components: ConnectionPolicyComponents) => ConnectionPolicy {
  return (components) => {
    const log = (components.logger ?? defaultLogger()).forComponent('swarmsite:connection-policy')
    const queue = new Queue<Connection, AbortOptions>({ concurrency: init.concurrency })
    const pending = new Map<string, Promise<Connection>>()
    const shutdown = new AbortController()
    // relay connections don't count against maxConnections (libp2p's own limit adds them on top)
    const relayIds = new Set(init.relays.map(r => r.peerId))
    let webRTCDials = 0

    const directConnection = (peerId: PeerId): Connection | undefined =>
      components.getConnections(peerId).find(isDirect)

    const webRTCAddresses = async (peerId: PeerId): Promise<Multiaddr[]> => {
      const known = await components.peerStore.get(peerId).then(
        peer => peer.addresses.map(a => withPeerId(a.multiaddr, peerId)).filter(ma => WebRTC.matches(ma)),
        () => [] as Multiaddr[]
      )
      // any relay can carry the WebRTC signalling if the peer holds a reservation there; the
      // peer reserved on the first live relay in its own order (relay-rank.ts), so try them so
      const viaRelays = rankRelays(peerId.toString(), init.relays).map(r => multiaddr(`${r.multiaddr.toString()}/p2p-circuit/webrtc/p2p/${peerId.toString()}`))
      const seen = new Set<string>()
      return [...known, ...viaRelays].filter(ma => {
        const key = ma.toString()
        if (seen.has(key)) return false
        seen.add(key)
        return true
      })
    }

    const attemptDial = async (peerId: PeerId, signal: AbortSignal): Promise<Connection> => {
      let lastError: Error = new DialFailedError(`No WebRTC address for ${peerId.toString()}`)
      for (let attempt = 1; attempt <= init.attempts; attempt++) {
        const existing = directConnection(peerId)
        if (existing != null) return existing
        for (const ma of await webRTCAddresses(peerId)) {
          if (webRTCDials >= init.maxLifetimeWebRTCDials) {
            throw new ConnectionLimitError(`This node has made ${webRTCDials} WebRTC dials, its lifetime limit; browsers refuse more RTCPeerConnections per page`)
          }
          webRTCDials++
          // the last step reached tells a hung dial (signalling, ICE, encryption) from a refused one
          let lastStep = 'start'
          try {
            const connection = await components.dial(ma, {
              signal: AbortSignal.any([signal, AbortSignal.timeout(init.dialTimeoutMs)]),
              onProgress: (evt: { type: string }) => { lastStep = evt.type }
            })
            if (isDirect(connection) && connection.remotePeer.equals(peerId)) {
              lastStep = 'verify-connection'
              try {
                await components.verify(connection, { signal: AbortSignal.any([signal, AbortSignal.timeout(init.dialTimeoutMs)]) })
                // the relayed connection carried the signalling; left open it costs both
                // pages and the relay until the relay's limit ends it
                components.closeRelayed?.(peerId)
                return connection
              } catch (err) {
                await connection.close().catch(() => {})
                throw err
              }
            }
            lastError = new DialFailedError(`Dial to ${ma.toString()} gave a relayed connection, not a direct one`)
          } catch (err: any) {
            signal.throwIfAborted()
            lastError = new DialFailedError(`${err.name}: ${err.message} (after ${lastStep})`, { cause: err })
            log('dial %a failed after %s - %e', ma, lastStep, err)
          }
        }
        if (attempt < init.attempts) {
          const retryInMs = backoffDelay(attempt, init.retryBaseDelayMs, init.retryMaxDelayMs)
          init.onRetry?.({ peerId, attempt, retryInMs, error: lastError })
          await sleep(retryInMs, signal)
        }
      }
      throw new DialFailedError(`Could not open a direct connection to ${peerId.toString()} after ${init.attempts} attempts: ${lastError.message}`, { cause: lastError })
    }

    return {
      get webRTCDials () { return webRTCDials },
      async dialDirect (peerId, options = {}) {
        const existing = directConnection(peerId)
        if (existing != null) return existing
        const open = new Set(components.getConnections().filter(isDirect).map(c => c.remotePeer.toString()).filter(peer => !relayIds.has(peer)))
        if (open.size >= init.maxConnections) {
          throw new ConnectionLimitError(`Already connected directly to ${open.size} peers, the limit (maxConnections)`)
        }
        const key = peerId.toString()
        let dial = pending.get(key)
        if (dial == null) {
          // one dial per peer at a time; callers asking again share it
          dial = queue.add(async ({ signal }) => attemptDial(peerId, signal!), { signal: shutdown.signal })
            .finally(() => pending.delete(key))
          pending.set(key, dial)
        }
        return raceSignal(dial, options.signal)
      },
      stop () {
        shutdown.abort()
        queue.abort()
        pending.clear()
      }
    }
  }
}
