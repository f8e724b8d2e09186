/**
 * Measures round trips over this visitor's own access link while it uploads, for the upload
 * budget's congestion rule (`upload-congestion.ts`).
 *
 * The rule needs round trips that cross the same uplink queue the uploads fill; a ping to the
 * node's relay does (it leaves through the same modem), costs ~100 bytes, and needs no
 * cooperation from the peers being served. When it pings:
 * - every `intervalMs` while the node uploads (a grant within `activeWindowMs`), one ping at a
 *   time, the first at once when uploads start: the queue is emptiest then;
 * - while idle, once per `idleIntervalMs` (a minute; Infinity = never): a round trip taken
 *   with a quiet uplink keeps the base delay honest, which the pings taken during an upload,
 *   with the queue already filling, cannot give;
 * - every `retryMs` until a first ping succeeds (e.g. while no relay is reserved yet).
 * A failed or timed-out ping is no sample: a lost relay must not read as a full queue. Nor is
 * a ping answered while the event loop was busy (a task posted right after it waited more
 * than `maxTaskDelayMs`): then the round trip measured this thread's CPU, not the link. What
 * this thread cannot see still counts: a relay or a browser network process starved of CPU
 * delays the answer too. In the benchmark's 20 tabs on 2 cores (round trips to the relay of
 * up to 2 s over loopback) most of the delay was of that kind, and tabs backed off; on real
 * visitors' machines the relay runs elsewhere.
 */
import { defaultLogger } from '@libp2p/logger'
import {
  DEFAULT_PROBE_ACTIVE_WINDOW_MS,
  DEFAULT_PROBE_IDLE_INTERVAL_MS,
  DEFAULT_PROBE_INTERVAL_MS,
  DEFAULT_PROBE_MAX_TASK_DELAY_MS,
  DEFAULT_PROBE_RETRY_MS,
  DEFAULT_PROBE_TIMEOUT_MS
} from './constants.ts'
import { taskDelay } from './task-delay.ts'
import type { UploadBudget } from './upload-budget.ts'
import type { ComponentLogger, Logger } from '@libp2p/interface'

export interface CongestionProbeInit {
  /** Ping interval while uploading, ms; default 500. */
  intervalMs?: number
  /** The node counts as uploading this long after its last grant, ms; default 3000. */
  activeWindowMs?: number
  /** Ping interval while idle, ms; default 60 000; Infinity = no pings while idle. */
  idleIntervalMs?: number
  /** Retry interval until a first ping succeeds, ms; default 1000. */
  retryMs?: number
  /** A ping is given up after this long, ms; default 10 000. */
  timeoutMs?: number
  /** A ping answered while the event loop lagged more than this is no sample, ms; default 25; Infinity = keep all. */
  maxTaskDelayMs?: number
}

export interface CongestionProbeComponents {
  /** One round trip over this node's access link, resolving with its ms (e.g. a libp2p ping to the relay). */
  ping (options: { signal: AbortSignal }): Promise<number>
  /** Where samples go, and whose grants say the node uploads. */
  budget: Pick<UploadBudget, 'recordRoundTrip' | 'onUpload'>
  /** How long a task posted now waits, ms; default a MessageChannel round (`task-delay.ts`). */
  taskDelay?: () => Promise<number>
  logger?: ComponentLogger
}

export interface CongestionProbeStats {
  /** Pings sent in all. */
  pings: number
  /** Pings that gave a sample. */
  samples: number
  /** Pings that failed or timed out. */
  failures: number
  /** Pings answered while the event loop was busy (more than `maxTaskDelayMs`): no sample. */
  busy: number
  /** The event-loop delay measured after the latest answered ping, ms. */
  lastTaskDelayMs: number | undefined
  /** The latest sample, ms. */
  lastRoundTripMs: number | undefined
  /** Whether the node counts as uploading now (the probe pings every interval). */
  active: boolean
}

export interface CongestionProbe {
  /** Starts probing (one ping at once, for the base delay); idempotent. */
  start (): void
  /** Stops probing: aborts a ping in flight, clears its timer, unsubscribes; idempotent. */
  stop (): void
  readonly isStarted: boolean
  stats (): CongestionProbeStats
}

function checkMs (name: string, value: number, allowInfinity = false): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw new RangeError(`${name} must be a positive number of ms, got ${value}`)
  }
  return value
}

type ResolvedInit = Required<CongestionProbeInit>

function resolveInit (init: CongestionProbeInit): ResolvedInit {
  return {
    intervalMs: checkMs('intervalMs', init.intervalMs ?? DEFAULT_PROBE_INTERVAL_MS),
    activeWindowMs: checkMs('activeWindowMs', init.activeWindowMs ?? DEFAULT_PROBE_ACTIVE_WINDOW_MS),
    idleIntervalMs: checkMs('idleIntervalMs', init.idleIntervalMs ?? DEFAULT_PROBE_IDLE_INTERVAL_MS, true),
    retryMs: checkMs('retryMs', init.retryMs ?? DEFAULT_PROBE_RETRY_MS),
    timeoutMs: checkMs('timeoutMs', init.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS),
    maxTaskDelayMs: checkMs('maxTaskDelayMs', init.maxTaskDelayMs ?? DEFAULT_PROBE_MAX_TASK_DELAY_MS, true)
  }
}

class RelayCongestionProbe implements CongestionProbe {
  readonly #interval: number
  readonly #activeWindow: number
  readonly #idleInterval: number
  readonly #retry: number
  readonly #timeout: number
  readonly #maxTaskDelay: number
  readonly #taskDelay: () => Promise<number>
  readonly #components: CongestionProbeComponents
  readonly #log: Logger
  #started = false
  #unsubscribe: (() => void) | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  /** When the timer fires (performance.now() ms), while one is set. */
  #nextAt: number | undefined
  #inflight: AbortController | undefined
  #lastUploadAt = -Infinity
  #pings = 0
  #samples = 0
  #failures = 0
  #busy = 0
  #lastRoundTrip: number | undefined
  #lastTaskDelay: number | undefined

  constructor (init: ResolvedInit, components: CongestionProbeComponents) {
    this.#interval = init.intervalMs
    this.#activeWindow = init.activeWindowMs
    this.#idleInterval = init.idleIntervalMs
    this.#retry = init.retryMs
    this.#timeout = init.timeoutMs
    this.#maxTaskDelay = init.maxTaskDelayMs
    this.#taskDelay = components.taskDelay ?? taskDelay
    this.#components = components
    this.#log = (components.logger ?? defaultLogger()).forComponent('swarmsite:upload:probe')
  }

  get isStarted (): boolean { return this.#started }

  start (): void {
    if (this.#started) return
    this.#started = true
    this.#unsubscribe = this.#components.budget.onUpload(() => { this.#onUpload() })
    this.#schedule(0)
  }

  stop (): void {
    if (!this.#started) return
    this.#started = false
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
    this.#clearTimer()
    this.#inflight?.abort(new Error('the congestion probe stopped'))
    this.#inflight = undefined
  }

  stats (): CongestionProbeStats {
    return { pings: this.#pings, samples: this.#samples, failures: this.#failures, busy: this.#busy, lastRoundTripMs: this.#lastRoundTrip, lastTaskDelayMs: this.#lastTaskDelay, active: this.#active() }
  }

  #active (): boolean {
    return performance.now() - this.#lastUploadAt < this.#activeWindow
  }

  #onUpload (): void {
    const wasActive = this.#active()
    this.#lastUploadAt = performance.now()
    if (!this.#started || wasActive || this.#inflight !== undefined) return
    // uploads (re)start: measure now, before the queue fills, unless a ping is due sooner anyway
    if (this.#nextAt === undefined || this.#nextAt > this.#lastUploadAt) this.#schedule(0)
  }

  #schedule (ms: number): void {
    this.#clearTimer()
    if (!this.#started || ms === Infinity) return
    this.#nextAt = performance.now() + ms
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#nextAt = undefined
      void this.#ping()
    }, ms)
  }

  #clearTimer (): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#nextAt = undefined
  }

  async #ping (): Promise<void> {
    const controller = new AbortController()
    this.#inflight = controller
    const began = performance.now()
    this.#pings++
    try {
      const ms = await this.#components.ping({ signal: AbortSignal.any([controller.signal, AbortSignal.timeout(this.#timeout)]) })
      if (controller.signal.aborted) return
      // the answer waited in the event loop about as long as a task posted now will
      const lag = this.#maxTaskDelay === Infinity ? 0 : await this.#taskDelay()
      if (controller.signal.aborted) return
      this.#lastTaskDelay = lag
      if (lag > this.#maxTaskDelay) {
        this.#busy++
        this.#log.trace('round trip of %d ms dropped: the event loop lagged %d ms', ms, Math.round(lag))
      } else {
        this.#components.budget.recordRoundTrip(ms) // throws RangeError on a bad value: a failure below
        this.#samples++
        this.#lastRoundTrip = ms
      }
    } catch (err: any) {
      if (controller.signal.aborted) return
      this.#failures++
      this.#log('ping failed after %d ms: %s', Math.round(performance.now() - began), err?.message ?? err)
    } finally {
      if (this.#inflight === controller) this.#inflight = undefined
    }
    if (!this.#started) return
    if (this.#active()) this.#schedule(Math.max(0, this.#interval - (performance.now() - began)))
    else this.#schedule(this.#samples === 0 ? this.#retry : this.#idleInterval)
  }
}

/** A probe feeding `components.budget` with round trips; see the module comment. */
export function congestionProbe (init: CongestionProbeInit = {}): (components: CongestionProbeComponents) => CongestionProbe {
  const options = resolveInit(init) // bad options throw here, not when the components arrive
  return (components) => new RelayCongestionProbe(options, components)
}
