import { defaultLogger } from '@libp2p/logger'
import { backoffDelay, sleep } from './backoff.ts'
import type { BootstrapAddress } from './bootstrap.ts'
import type { RelayUnreachableDetail } from './events.ts'
import type { ComponentLogger, Connection, Libp2pEvents, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { TypedEventTarget } from 'main-event'

export interface RelayKeeperInit {
  relays: BootstrapAddress[]
  dialTimeoutMs: number
  retryBaseDelayMs: number
  retryMaxDelayMs: number
  onConnected(relay: Multiaddr): void
  onUnreachable(detail: RelayUnreachableDetail): void
}

export interface RelayKeeperComponents {
  dial(ma: Multiaddr, options: { signal: AbortSignal }): Promise<Connection>
  getConnections(peerId?: PeerId): Connection[]
  events: TypedEventTarget<Libp2pEvents>
  /** Where this component logs (libp2p's `logger`, so several nodes in one process can be told apart); default `defaultLogger()`. */
  logger?: ComponentLogger
}

export interface RelayKeeper {
  start(): void
  stop(): Promise<void>
}

/**
 * Keeps a connection open to every bootstrap relay: dials each, and when a dial fails
 * or an open connection drops, retries with capped exponential backoff for as long as
 * the node runs (connections that keep dropping soon after opening back off too).
 * Failures are reported through `onUnreachable`, never thrown.
 */
export function relayKeeper (init: RelayKeeperInit): (components: RelayKeeperComponents) => RelayKeeper {
  return (components) => {
    const log = (components.logger ?? defaultLogger()).forComponent('swarmsite:relay-keeper')
    let controller: AbortController | undefined
    let loops: Array<Promise<void>> = []

    const waitForDisconnect = async (relay: BootstrapAddress, signal: AbortSignal): Promise<void> => {
      await new Promise<void>((resolve) => {
        const stillConnected = (): boolean => components.getConnections().some(c => c.remotePeer.toString() === relay.peerId && c.status === 'open')
        const onDisconnect = (evt: CustomEvent<PeerId>): void => {
          if (evt.detail.toString() === relay.peerId && !stillConnected()) done()
        }
        const done = (): void => {
          components.events.removeEventListener('peer:disconnect', onDisconnect)
          signal.removeEventListener('abort', done)
          resolve()
        }
        if (!stillConnected() || signal.aborted) { resolve(); return }
        components.events.addEventListener('peer:disconnect', onDisconnect)
        signal.addEventListener('abort', done, { once: true })
      })
    }

    const keep = async (relay: BootstrapAddress, signal: AbortSignal): Promise<void> => {
      let attempt = 0
      let drops = 0
      while (!signal.aborted) {
        try {
          await components.dial(relay.multiaddr, { signal: AbortSignal.any([signal, AbortSignal.timeout(init.dialTimeoutMs)]) })
          attempt = 0
          log('connected to relay %a', relay.multiaddr)
          init.onConnected(relay.multiaddr)
          const connectedAt = Date.now()
          await waitForDisconnect(relay, signal)
          if (signal.aborted) return
          // a relay that drops us at once (full, restarting) must not be redialled in a tight loop
          drops = Date.now() - connectedAt >= init.retryMaxDelayMs ? 1 : drops + 1
          const redialInMs = backoffDelay(drops, init.retryBaseDelayMs, init.retryMaxDelayMs)
          log('lost relay %a, reconnecting in %d ms', relay.multiaddr, redialInMs)
          await sleep(redialInMs, signal).catch(() => {})
        } catch (err: any) {
          if (signal.aborted) return
          attempt++
          const retryInMs = backoffDelay(attempt, init.retryBaseDelayMs, init.retryMaxDelayMs)
          log('relay %a unreachable (attempt %d), retrying in %d ms - %e', relay.multiaddr, attempt, retryInMs, err)
          init.onUnreachable({ relay: relay.multiaddr, attempt, retryInMs, error: err })
          await sleep(retryInMs, signal).catch(() => {})
        }
      }
    }

    return {
      start () {
        controller = new AbortController()
        const { signal } = controller
        loops = init.relays.map(async relay => { await keep(relay, signal) })
      },
      async stop () {
        controller?.abort()
        await Promise.allSettled(loops)
        loops = []
      }
    }
  }
}
