/**
 * The gatekeeper of the have topic, run as gossipsub's topic validator on pages and on the relay
 * (the hub that forwards every summary): a summary that is unsigned or does not decode is
 * rejected (never delivered, never forwarded); a sender publishing faster than any honest
 * node can (its claims are coalesced to one summary per `claimDebounceMs`, 20/s at most) has the
 * excess ignored; and a sender that keeps doing either is scored out: `score(peer)` turns
 * strongly negative, which the node's gossipsub adds to the peer's score (appSpecificScore),
 * below the graylist threshold, so every RPC from it is then dropped unread.
 *
 * Rates are per originator (gossipsub signs every message, so `from` is authentic), two token
 * buckets: the soft one says what is passed on, the hard one what is misbehaviour. State is
 * bounded (least recently heard senders are forgotten first). Pure: the clock is injected.
 */
import {
  DEFAULT_HAVE_GUARD_BURST,
  DEFAULT_HAVE_GUARD_FLAG_MS,
  DEFAULT_HAVE_GUARD_HARD_BURST,
  DEFAULT_HAVE_GUARD_HARD_RATE,
  DEFAULT_HAVE_GUARD_MAX_PEERS,
  DEFAULT_HAVE_GUARD_MAX_STRIKES,
  DEFAULT_HAVE_GUARD_PENALTY,
  DEFAULT_HAVE_GUARD_RATE,
  DEFAULT_HAVE_MAX_MESSAGE_BYTES
} from '../constants.ts'
import { decodeHaveSummary } from './have-summary.ts'

/** gossipsub's TopicValidatorResult values (its enum's strings; not imported, so the content core needs no gossipsub). */
export type SummaryVerdict = 'accept' | 'ignore' | 'reject'

export interface SummaryGuardInit {
  /** Largest summary accepted, bytes; default 16 KiB (the availability default). */
  maxMessageBytes?: number
  /** Summaries per second per sender passed on (soft bucket refill); default 10. */
  ratePerSecond?: number
  /** Soft bucket size; default 50. */
  burst?: number
  /** Summaries per second per sender beyond which the excess is misbehaviour; default 30. */
  hardRatePerSecond?: number
  /** Hard bucket size; default 60. */
  hardBurst?: number
  /** Strikes (a rejected summary; `hardBurst / 3` summaries over the hard rate) before the sender is scored out; default 3. */
  maxStrikes?: number
  /** What `score` gives a scored-out sender; default -1000 (gossipsub graylists below -80). */
  penalty?: number
  /** How long a sender stays scored out, ms; default 10 min. */
  flagMs?: number
  /** Most senders tracked; default 1024. */
  maxPeers?: number
  /** Clock, ms; default Date.now. */
  now?: () => number
}

export interface SummaryGuardStats {
  accepted: number
  /** Over the soft rate: not delivered, not forwarded, no strike by itself. */
  ignored: number
  /** Unsigned or undecodable. */
  rejected: number
  /** Senders scored out now. */
  flagged: number
}

export interface SummaryGuard {
  /** The verdict on one message of the have topic (`from` undefined: unsigned). */
  check(from: string | undefined, data: Uint8Array): SummaryVerdict
  /** A gossipsub topic validator built on `check`. */
  readonly validator: (propagationSource: unknown, message: { type: string, from?: { toString(): string }, data: Uint8Array }) => any
  /** The app-specific score for `peer`: 0, or `penalty` while it is scored out. */
  readonly score: (peer: string) => number
  isFlagged(peer: string): boolean
  stats(): SummaryGuardStats
}

interface Sender {
  soft: number
  hard: number
  at: number
  strikes: number
  /** Over-hard-rate summaries since the last strike. */
  over: number
  flaggedUntil: number
}

export function summaryGuard (init: SummaryGuardInit = {}): SummaryGuard {
  const maxBytes = init.maxMessageBytes ?? DEFAULT_HAVE_MAX_MESSAGE_BYTES
  const rate = init.ratePerSecond ?? DEFAULT_HAVE_GUARD_RATE
  const burst = init.burst ?? DEFAULT_HAVE_GUARD_BURST
  const hardRate = init.hardRatePerSecond ?? DEFAULT_HAVE_GUARD_HARD_RATE
  const hardBurst = init.hardBurst ?? DEFAULT_HAVE_GUARD_HARD_BURST
  const maxStrikes = init.maxStrikes ?? DEFAULT_HAVE_GUARD_MAX_STRIKES
  const penalty = init.penalty ?? DEFAULT_HAVE_GUARD_PENALTY
  const flagMs = init.flagMs ?? DEFAULT_HAVE_GUARD_FLAG_MS
  const maxPeers = init.maxPeers ?? DEFAULT_HAVE_GUARD_MAX_PEERS
  const now = init.now ?? Date.now
  const overPerStrike = Math.max(1, Math.floor(hardBurst / 3))
  const senders = new Map<string, Sender>()
  const counts = { accepted: 0, ignored: 0, rejected: 0 }

  const sender = (id: string, t: number): Sender => {
    let s = senders.get(id)
    if (s == null) {
      s = { soft: burst, hard: hardBurst, at: t, strikes: 0, over: 0, flaggedUntil: 0 }
      if (senders.size >= maxPeers) {
        // forget the least recently heard sender that is not scored out (Map keeps insertion order)
        for (const [k, v] of senders) { if (v.flaggedUntil <= t) { senders.delete(k); break } }
        if (senders.size >= maxPeers) senders.delete(senders.keys().next().value!)
      }
    } else {
      senders.delete(id)
      const elapsed = Math.max(0, t - s.at) / 1000
      s.soft = Math.min(burst, s.soft + elapsed * rate)
      s.hard = Math.min(hardBurst, s.hard + elapsed * hardRate)
      s.at = t
    }
    senders.set(id, s)
    return s
  }

  const strike = (s: Sender, t: number): void => {
    s.strikes++
    if (s.strikes >= maxStrikes) { s.flaggedUntil = t + flagMs; s.strikes = 0 }
  }

  const check = (from: string | undefined, data: Uint8Array): SummaryVerdict => {
    if (from == null) { counts.rejected++; return 'reject' }
    const t = now()
    const s = sender(from, t)
    if (s.flaggedUntil > t) { counts.ignored++; return 'ignore' }
    let valid = true
    try { decodeHaveSummary(data, { maxBytes }) } catch { valid = false }
    if (!valid) { strike(s, t); counts.rejected++; return 'reject' }
    if (s.hard >= 1) s.hard -= 1
    else if (++s.over >= overPerStrike) { s.over = 0; strike(s, t) }
    if (s.soft < 1) { counts.ignored++; return 'ignore' }
    s.soft -= 1
    counts.accepted++
    return 'accept'
  }

  return {
    check,
    validator: (_source, message) => check(message.type === 'signed' ? message.from?.toString() : undefined, message.data),
    score: (peer) => {
      const s = senders.get(peer)
      return s != null && s.flaggedUntil > now() ? penalty : 0
    },
    isFlagged: (peer) => (senders.get(peer)?.flaggedUntil ?? 0) > now(),
    stats: () => {
      const t = now()
      let flagged = 0
      for (const s of senders.values()) if (s.flaggedUntil > t) flagged++
      return { ...counts, flagged }
    }
  }
}
