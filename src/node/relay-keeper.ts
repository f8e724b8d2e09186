import { defaultLogger } from '@libp2p/logger'
import { backoffDelay, sleep } from './backoff.ts'
import type { BootstrapAddress } from './bootstrap.ts'
import type { RelayUnreachableDetail } from './events.ts'
import type { ComponentLogger, Connection, Libp2pEvents, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { TypedEventTarget } from 'main-event'

export interface RelayKeeperInit {
  /** The relays in the order this node prefers them (see relay-rank.ts): the first free one is taken. */
  relays: BootstrapAddress[]
  /** How many relays to hold a connection to at once (count); default all of them. */
  hold?: number
  /**
   * Before moving on from a relay that dropped us, wait a random time up to this (ms; default 0):
   * when a relay dies, all its visitors would otherwise land on their next relays in one burst.
   */
  failoverJitterMs?: number
  dialTimeoutMs: number
  retryBaseDelayMs: number
  retryMaxDelayMs: number
  onConnected(relay: Multiaddr): void
  onUnreachable(detail: RelayUnreachableDetail): void
  random?(): number
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
  /** Peer ids of the relays the keeper holds (or is dialling) now. */
  held(): string[]
}

interface RelayState {
  relay: BootstrapAddress
  /** Failed dials in a row. */
  attempt: number
  /** Connections in a row that the relay dropped soon after they opened. */
  drops: number
  /** Not dialled again before this time (Date.now()). */
  notBefore: number
  held: boolean
}

/**
 * Holds connections to `hold` of the bootstrap relays (every one by default), taking them in
 * the node's order of preference. A relay that can't be dialled, or drops us, is set aside
 * for a capped exponential backoff, and its slot moves at once to the next relay in the order
 * that is not held or resting; with no other relay left, it waits out the backoff and redials
 * (connections that keep dropping soon after opening back off too). Failures are reported
 * through `onUnreachable`, never thrown. A slot that moved down the order stays there until
 * that relay fails in turn: moving back would cost every visitor of a recovered relay a
 * reconnect and a new reservation, for balance only.
 */
export function relayKeeper (init: RelayKeeperInit): (components: RelayKeeperComponents) => RelayKeeper {
  return (components) => {
    const log = (components.logger ?? defaultLogger()).forComponent('swarmsite:relay-keeper')
    const random = init.random ?? Math.random
    const slots = Math.max(1, Math.min(init.hold ?? init.relays.length, init.relays.length))
    const states: RelayState[] = init.relays.map(relay => ({ relay, attempt: 0, drops: 0, notBefore: 0, held: false }))
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

    /** The first relay in our order that no slot holds and that is not resting; or how long until one is. */
    const pick = (): RelayState | number => {
      const now = Date.now()
      const free = states.filter(s => !s.held)
      const ready = free.find(s => s.notBefore <= now)
      if (ready != null) return ready
      return Math.max(1, Math.min(...free.map(s => s.notBefore)) - now)
    }

    const holdOne = async (state: RelayState, signal: AbortSignal): Promise<void> => {
      const { relay } = state
      try {
        await components.dial(relay.multiaddr, { signal: AbortSignal.any([signal, AbortSignal.timeout(init.dialTimeoutMs)]) })
      } catch (err: any) {
        if (signal.aborted) return
        state.attempt++
        const retryInMs = backoffDelay(state.attempt, init.retryBaseDelayMs, init.retryMaxDelayMs, random)
        state.notBefore = Date.now() + retryInMs
        log('relay %a unreachable (attempt %d), retrying in %d ms - %e', relay.multiaddr, state.attempt, retryInMs, err)
        init.onUnreachable({ relay: relay.multiaddr, attempt: state.attempt, retryInMs, error: err })
        return
      }
      state.attempt = 0
      log('connected to relay %a', relay.multiaddr)
      init.onConnected(relay.multiaddr)
      const connectedAt = Date.now()
      await waitForDisconnect(relay, signal)
      if (signal.aborted) return
      // a relay that drops us at once (full, restarting) must not be redialled in a tight loop
      state.drops = Date.now() - connectedAt >= init.retryMaxDelayMs ? 1 : state.drops + 1
      const redialInMs = backoffDelay(state.drops, init.retryBaseDelayMs, init.retryMaxDelayMs, random)
      state.notBefore = Date.now() + redialInMs
      log('lost relay %a; it rests %d ms', relay.multiaddr, redialInMs)
      const jitterMs = (init.failoverJitterMs ?? 0) * random()
      if (jitterMs > 0) await sleep(jitterMs, signal).catch(() => {})
    }

    const keep = async (signal: AbortSignal): Promise<void> => {
      while (!signal.aborted) {
        const next = pick()
        if (typeof next === 'number') {
          await sleep(next, signal).catch(() => {})
          continue
        }
        next.held = true
        try {
          await holdOne(next, signal)
        } finally {
          next.held = false
        }
      }
    }

    return {
      start () {
        controller = new AbortController()
        const { signal } = controller
        // each slot marks its relay held before the next slot starts picking (keep runs synchronously until its dial)
        loops = Array.from({ length: slots }, async () => { await keep(signal) })
      },
      async stop () {
        controller?.abort()
        await Promise.allSettled(loops)
        loops = []
        for (const s of states) Object.assign(s, { attempt: 0, drops: 0, notBefore: 0, held: false })
      },
      held: () => states.filter(s => s.held).map(s => s.relay.peerId)
    }
  }
}
