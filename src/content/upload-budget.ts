/**
 * How fast a node may upload (serve blocks to other visitors): a token bucket whose rate
 * adapts to the node's own downloads.
 *
 * The adaptive rule: serving other visitors must never starve the user's own page loads. A
 * visitor's uplink is often much smaller than its downlink, and on many links (ADSL, cable,
 * mobile) a saturated uplink delays the ACKs and requests of the visitor's own downloads, so
 * they slow down too. So while the node is downloading (anything recorded with
 * `recordDownload` in the last ~1 s), uploads are limited to
 * `max(minWhileDownloadingBytesPerSecond, whileDownloadingShare × measured download rate)`,
 * and never above `maxBytesPerSecond`. The share ties uploads to what the link is actually
 * delivering; the floor keeps a node that downloads slowly (or has just started) serving
 * something, so swarms don't stall when everyone is loading at once. When the node is idle
 * only the hard cap applies. The download rate is the bytes recorded over the last window
 * (1 s) divided by the window, which is conservative at the start of a download (it errs
 * towards the user's own traffic).
 */
import {
  DEFAULT_DOWNLOAD_RATE_WINDOW_MS,
  DEFAULT_UPLOAD_BURST_BYTES,
  DEFAULT_UPLOAD_MAX_BYTES_PER_SECOND,
  DEFAULT_UPLOAD_MIN_WHILE_DOWNLOADING_BYTES_PER_SECOND,
  DEFAULT_UPLOAD_WHILE_DOWNLOADING_SHARE
} from './constants.ts'
import { UploadDisabledError } from './errors.ts'

export interface UploadBudgetInit {
  /** Hard cap, bytes per second; default Infinity (no cap). 0 = never upload. */
  maxBytesPerSecond?: number
  /**
   * true = no uploads at all. Default: the browser's Data Saver setting
   * (`navigator.connection.saveData`, read each time) where there is one, else false.
   */
  saveData?: boolean
  /** Share of the measured download rate that may be uploaded while downloading; default 0.5. */
  whileDownloadingShare?: number
  /** Upload rate allowed while downloading however slow the download, bytes per second; default 64 KiB/s. */
  minWhileDownloadingBytesPerSecond?: number
  /** Bucket size, bytes; default 1 MiB. */
  burstBytes?: number
  /** Window of the download rate measurement, ms; default 1000. */
  downloadWindowMs?: number
  /** Clock in ms; default `performance.now()`. For tests. */
  now?: () => number
}

export type UploadDisabledReason = 'pause' | 'save-data' | 'zero-cap'

export interface UploadBudget {
  /**
   * Resolves when `bytes` may be sent. Waiters are served in order; a take larger than the
   * bucket waits for a full bucket and leaves it in debt. Rejects with UploadDisabledError at
   * once (and pending takes too) when uploads are off (paused, Save-Data, cap 0); with the
   * signal's reason on abort.
   */
  take (bytes: number, options?: { signal?: AbortSignal }): Promise<void>
  /** Reports bytes the node itself downloaded (from peers or the origin), to adapt the rate. */
  recordDownload (bytes: number): void
  /** Stops uploads: pending and new takes reject with UploadDisabledError until `resume()`. */
  pause (): void
  resume (): void
  readonly paused: boolean
  /** false when paused, Save-Data is on, or the cap is 0. */
  readonly enabled: boolean
  /** Why uploads are off (`pause()`, a cap of 0, Save-Data: the first that applies), or undefined when on. */
  readonly disabledBy: UploadDisabledReason | undefined
  setMaxBytesPerSecond (bytesPerSecond: number): void
  /** The rate allowed now, bytes per second: 0 when disabled, Infinity when unlimited. */
  currentBytesPerSecond (): number
  /** Total bytes granted by `take`. */
  uploaded (): number
}

interface Waiter {
  bytes: number
  resolve: () => void
  reject: (err: unknown) => void
  signal: AbortSignal | undefined
  onAbort: () => void
}

/** Bytes downloaded at about `t` (samples closer than this are merged). */
interface Sample { t: number, bytes: number }
const SAMPLE_MERGE_MS = 50

function checkRate (name: string, value: number, allowInfinity: boolean): number {
  if (Number.isNaN(value) || value < 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw new RangeError(`${name} must be a non-negative number, got ${value}`)
  }
  return value
}

function browserSaveData (): boolean {
  const connection = (globalThis as { navigator?: { connection?: { saveData?: unknown } } }).navigator?.connection
  return connection?.saveData === true
}

class TokenBucketUploadBudget implements UploadBudget {
  #max: number
  readonly #saveData: boolean | undefined
  readonly #share: number
  readonly #min: number
  readonly #burst: number
  readonly #window: number
  readonly #now: () => number
  #paused = false
  #tokens: number
  #refilledAt: number
  #uploaded = 0
  readonly #queue: Waiter[] = []
  #timer: ReturnType<typeof setTimeout> | undefined
  readonly #samples: Sample[] = []
  #lastDownloadAt = -Infinity

  constructor (init: UploadBudgetInit) {
    this.#max = checkRate('maxBytesPerSecond', init.maxBytesPerSecond ?? DEFAULT_UPLOAD_MAX_BYTES_PER_SECOND, true)
    this.#saveData = init.saveData
    this.#share = checkRate('whileDownloadingShare', init.whileDownloadingShare ?? DEFAULT_UPLOAD_WHILE_DOWNLOADING_SHARE, false)
    this.#min = checkRate('minWhileDownloadingBytesPerSecond', init.minWhileDownloadingBytesPerSecond ?? DEFAULT_UPLOAD_MIN_WHILE_DOWNLOADING_BYTES_PER_SECOND, true)
    this.#burst = checkRate('burstBytes', init.burstBytes ?? DEFAULT_UPLOAD_BURST_BYTES, false)
    this.#window = checkRate('downloadWindowMs', init.downloadWindowMs ?? DEFAULT_DOWNLOAD_RATE_WINDOW_MS, false)
    if (this.#burst <= 0) throw new RangeError('burstBytes must be positive')
    if (this.#window <= 0) throw new RangeError('downloadWindowMs must be positive')
    this.#now = init.now ?? (() => performance.now())
    this.#tokens = this.#burst
    this.#refilledAt = this.#now()
  }

  get paused (): boolean { return this.#paused }

  get enabled (): boolean {
    return this.disabledBy === undefined
  }

  get disabledBy (): UploadDisabledReason | undefined {
    if (this.#paused) return 'pause'
    if (this.#max <= 0) return 'zero-cap'
    if (this.#saveData ?? browserSaveData()) return 'save-data'
    return undefined
  }

  async take (bytes: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`bytes must be a non-negative number, got ${bytes}`)
    const { signal } = options
    signal?.throwIfAborted()
    if (!this.enabled) throw this.#disabledError()
    this.#refill()
    if (this.#queue.length === 0 && this.#grantable(bytes)) {
      this.#grant(bytes)
      return
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.#queue.indexOf(waiter)
          if (i >= 0) this.#queue.splice(i, 1)
          reject(signal?.reason)
          // a smaller take behind it may fit now; with no waiters left the timer goes
          this.#drain()
        }
      }
      signal?.addEventListener('abort', waiter.onAbort, { once: true })
      this.#queue.push(waiter)
      this.#schedule()
    })
  }

  recordDownload (bytes: number): void {
    if (!Number.isFinite(bytes) || bytes <= 0) return
    const now = this.#now()
    // credit the time before this download at the rate that applied then
    this.#refill(now)
    const last = this.#samples.at(-1)
    if (last != null && now - last.t < SAMPLE_MERGE_MS) last.bytes += bytes
    else this.#samples.push({ t: now, bytes })
    this.#lastDownloadAt = now
    this.#prune(now)
    // the rate changed; a sleeping waiter's wake-up time is rechecked when it fires
  }

  pause (): void {
    this.#refill()
    this.#paused = true
    this.#rejectAll()
  }

  resume (): void {
    this.#refill()
    this.#paused = false
  }

  setMaxBytesPerSecond (bytesPerSecond: number): void {
    checkRate('maxBytesPerSecond', bytesPerSecond, true)
    this.#refill()
    this.#max = bytesPerSecond
    this.#drain()
  }

  currentBytesPerSecond (): number {
    if (!this.enabled) return 0
    return this.#rateAt(this.#now())
  }

  uploaded (): number {
    return this.#uploaded
  }

  #disabledError (): UploadDisabledError {
    const reason = this.disabledBy
    const why = reason === 'pause' ? 'paused' : reason === 'zero-cap' ? 'the upload cap is 0' : 'Save-Data is on'
    return new UploadDisabledError(`uploads are disabled: ${why}`)
  }

  /** Whether the node counts as downloading at `t`. */
  #downloadingAt (t: number): boolean {
    return t - this.#lastDownloadAt < this.#window
  }

  /** The allowed upload rate at `t` (ignores pause/Save-Data). */
  #rateAt (t: number): number {
    if (!this.#downloadingAt(t)) return this.#max
    let recent = 0
    for (const s of this.#samples) if (t - s.t < this.#window) recent += s.bytes
    const downloadRate = recent / (this.#window / 1000)
    return Math.min(this.#max, Math.max(this.#min, this.#share * downloadRate))
  }

  #prune (now: number): void {
    while (this.#samples.length > 0 && now - this.#samples[0]!.t >= this.#window) this.#samples.shift()
  }

  /** Adds the tokens earned since the last refill. */
  #refill (now = this.#now()): void {
    const from = this.#refilledAt
    if (now <= from) return
    this.#refilledAt = now
    // a download that ended in between: its reduced rate until then, the idle rate after
    const downloadEnd = this.#lastDownloadAt + this.#window
    const split = this.#downloadingAt(from) && downloadEnd < now ? downloadEnd : from
    this.#add(this.#rateAt(from), split - from)
    this.#add(this.#rateAt(now), now - split)
    this.#prune(now)
  }

  #add (rate: number, ms: number): void {
    if (ms <= 0) return
    if (rate === Infinity) this.#tokens = this.#burst
    else this.#tokens = Math.min(this.#burst, this.#tokens + rate * ms / 1000)
  }

  /** A take waits for its bytes, or for a full bucket when it is bigger than the bucket. */
  #grantable (bytes: number): boolean {
    return this.#tokens >= Math.min(bytes, this.#burst)
  }

  #grant (bytes: number): void {
    this.#tokens -= bytes
    this.#uploaded += bytes
  }

  /** Grants waiters in order while tokens last, then sleeps until the next could go. */
  #drain (): void {
    if (this.#queue.length > 0 && !this.enabled) {
      this.#rejectAll()
      return
    }
    this.#refill()
    while (this.#queue.length > 0 && this.#grantable(this.#queue[0]!.bytes)) {
      const waiter = this.#queue.shift()!
      waiter.signal?.removeEventListener('abort', waiter.onAbort)
      this.#grant(waiter.bytes)
      waiter.resolve()
    }
    this.#schedule()
  }

  /** One timer at a time, and none without waiters. */
  #schedule (): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    const head = this.#queue[0]
    if (head == null) return
    const now = this.#now()
    const rate = this.#rateAt(now)
    const missing = Math.min(head.bytes, this.#burst) - this.#tokens
    let wait = rate > 0 ? missing / rate * 1000 : Infinity
    // the rate goes up when the download window ends: look again then
    if (this.#downloadingAt(now)) wait = Math.min(wait, this.#lastDownloadAt + this.#window - now)
    if (wait === Infinity) return // no rate and no change coming (cannot happen while enabled)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#drain()
    }, Math.max(1, Math.ceil(wait)))
  }

  #rejectAll (): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    const waiters = this.#queue.splice(0)
    if (waiters.length === 0) return
    const err = this.#disabledError()
    for (const waiter of waiters) {
      waiter.signal?.removeEventListener('abort', waiter.onAbort)
      waiter.reject(err)
    }
  }
}

/** A node's upload budget; see the module comment for the adaptive rule. */
export function uploadBudget (init: UploadBudgetInit = {}): UploadBudget {
  return new TokenBucketUploadBudget(init)
}
