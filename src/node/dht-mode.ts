import { defaultLogger } from '@libp2p/logger'
import type { DhtMode } from './events.ts'
import type { ComponentLogger } from '@libp2p/interface'

export type DhtModeSetting = 'auto' | DhtMode

export interface DhtModeInit {
  mode: DhtModeSetting
  /** In 'auto', how long the node must have stayed reachable before it serves the DHT. */
  serverAfterMs: number
  onChange(mode: DhtMode): void
}

export interface DhtModeComponents {
  dht: { getMode(): DhtMode, setMode(mode: DhtMode): Promise<void> }
  /** Whether other peers can reach this node directly (it has a /webrtc address). */
  isReachable(): boolean
  /** Subscribes to changes of our own addresses; returns the unsubscribe function. */
  onAddressChange(callback: () => void): () => void
  /** Where this component logs (libp2p's `logger`, so several nodes in one process can be told apart); default `defaultLogger()`. */
  logger?: ComponentLogger
}

export interface DhtModeController {
  start(): void
  stop(): void
  readonly mode: DhtMode
}

/**
 * In 'auto', a node serves the DHT once it has been reachable over WebRTC for a while,
 * and goes back to client mode when it stops being reachable. So the DHT's storage and
 * lookup capacity grows with the swarm instead of resting on the relay, while short-lived
 * or unreachable tabs never become routing holes.
 */
export function dhtModeController (init: DhtModeInit): (components: DhtModeComponents) => DhtModeController {
  return (components) => {
    const log = (components.logger ?? defaultLogger()).forComponent('swarmsite:dht-mode')
    let timer: ReturnType<typeof setTimeout> | undefined
    let running = false
    let unwatch: (() => void) | undefined

    const setMode = (mode: DhtMode): void => {
      if (!running || components.dht.getMode() === mode) return
      log('switching DHT to %s mode', mode)
      components.dht.setMode(mode).then(() => {
        init.onChange(mode)
      }, err => {
        log.error('could not switch DHT to %s mode - %e', mode, err)
      })
    }

    const evaluate = (): void => {
      if (!running) return
      if (components.isReachable()) {
        if (timer == null && components.dht.getMode() === 'client') {
          timer = setTimeout(() => {
            timer = undefined
            if (components.isReachable()) setMode('server')
          }, init.serverAfterMs)
        }
      } else {
        clearTimeout(timer)
        timer = undefined
        setMode('client')
      }
    }

    return {
      get mode () { return components.dht.getMode() },
      start () {
        running = true
        if (init.mode !== 'auto') return
        unwatch = components.onAddressChange(evaluate)
        evaluate()
      },
      stop () {
        running = false
        clearTimeout(timer)
        timer = undefined
        unwatch?.()
        unwatch = undefined
      }
    }
  }
}
