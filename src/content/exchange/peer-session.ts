/**
 * The requester's side of the exchange with one peer: a single stream carries our wants and
 * cancels out and the peer's blocks and DONT_HAVEs back. Every block is checked against its CID
 * here, before anyone else sees it.
 */
import { lpStream } from '@libp2p/utils'
import { defaultLogger } from '@libp2p/logger'
import { raceSignal } from 'race-signal'
import { verifyBlock } from '../blockstore/verify.ts'
import { DEFAULT_MAX_INFLIGHT_PER_PEER, MAX_MESSAGE_BYTES } from './constants.ts'
import { BlockNotAvailableError, InvalidBlockError, MalformedMessageError } from './errors.ts'
import { decodeBlockMessage, encodeBlockMessage } from './wire.ts'
import type { Logger, PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

export interface PeerSessionInit {
  peer: PeerId
  stream: Stream
  /** The peer sent bytes that don't match their CID. */
  onInvalidBlock(cid: CID): void
  /** The peer broke the protocol (malformed message, unsolicited data). */
  onViolation(err: Error): void
  /** The session is over (stream closed either way). */
  onClose(): void
  /** The peer told us, unasked, that it now holds `cid` (a HAVE presence). */
  onHave?(cid: CID): void
  /** The exchange's `swarmsite:exchange:session` logger; default from `defaultLogger()`. */
  log?: Logger
}

interface Pending {
  cid: CID
  promise: Promise<Uint8Array>
  resolve(block: Uint8Array): void
  reject(err: Error): void
  /** Waiting callers; the want is cancelled on the wire when the last one gives up. */
  waiters: number
  /** The priority the peer last heard for it. */
  priority: number
}

export interface PeerSession {
  readonly peer: PeerId
  readonly closed: boolean
  /** Wants in flight with this peer. */
  inflight(): number
  /** The verified block; rejects with BlockNotAvailableError, InvalidBlockError or the signal's reason. */
  want(cid: CID, options: { priority?: number, signal?: AbortSignal }): Promise<Uint8Array>
  close(err?: Error): void
}

/** Cancelled wants remembered per session, to check a block that crossed our cancel. */
const CANCELLED_KEPT = 64

export function peerSession (init: PeerSessionInit): PeerSession {
  const { peer, stream } = init
  const log = init.log ?? defaultLogger().forComponent('swarmsite:exchange:session')
  // room for every block we may have in flight, so a fast peer never overflows our buffer
  const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES, maxBufferSize: MAX_MESSAGE_BYTES * (DEFAULT_MAX_INFLIGHT_PER_PEER * 2 + 2) })
  const pending = new Map<string, Pending>()
  /**
   * Wants we cancelled lately (oldest first, at most CANCELLED_KEPT): the peer may have sent the
   * block before our cancel reached it. Such a block is still checked, so a liar is banned at its
   * first bad block even when a faster source made us cancel (the fault suite saw one escape);
   * blocks nobody wanted are dropped unhashed, as before.
   */
  const cancelled = new Set<string>()
  let closed = false

  const failAll = (err: Error): void => {
    for (const p of pending.values()) p.reject(err)
    pending.clear()
  }

  const close = (err?: Error): void => {
    if (closed) return
    closed = true
    const abandoned = pending.size
    failAll(err ?? new BlockNotAvailableError(`stream to ${peer} closed`))
    if (err != null) stream.abort(err)
    // a half-close asks the responder to answer what it has queued; a reset makes it drop our wants
    else if (abandoned > 0) stream.abort(new BlockNotAvailableError(`gave up on ${abandoned} wants to ${peer}`))
    else if (stream.status === 'open') stream.close().catch(() => {})
    init.onClose()
  }

  const send = (entries: Array<{ cid: CID, priority: number, cancel: boolean, reprioritize?: boolean }>): void => {
    lp.write(encodeBlockMessage({ entries })).catch(err => {
      log.trace('writing to %p failed: %s', peer, err.message)
      close()
    })
  }

  const readLoop = async (): Promise<void> => {
    try {
      while (!closed) {
        const message = decodeBlockMessage(await lp.read())
        if (message.entries.length > 0) throw new MalformedMessageError('the responder sent wants on our stream')
        for (const block of message.blocks) {
          const key = block.cid.toString()
          const p = pending.get(key)
          if (p == null && !cancelled.delete(key)) continue // answered twice, or never wanted: drop unhashed
          if (!await verifyBlock(block.cid, block.data)) {
            log('%p sent a block that does not match %s', peer, key)
            init.onInvalidBlock(block.cid)
            close(new InvalidBlockError(`${peer} sent bytes that do not match ${key}`))
            return
          }
          if (p == null) continue // a cancelled want, answered honestly: drop, never store
          pending.delete(key)
          p.resolve(block.data)
        }
        for (const presence of message.presences) {
          const key = presence.cid.toString()
          if (presence.type === 'have') { init.onHave?.(presence.cid); continue }
          const p = pending.get(key)
          if (p == null) continue
          pending.delete(key)
          p.reject(new BlockNotAvailableError(`${peer} does not have ${key}`))
        }
      }
    } catch (err: any) {
      if (closed) return
      if (err?.name === 'UnexpectedEOFError') { close(); return }
      if (err instanceof MalformedMessageError || err?.name === 'InvalidDataLengthError' || err?.name === 'InvalidDataLengthLengthError') {
        log('%p broke the protocol: %s', peer, err.message)
        init.onViolation(err)
        close(err)
        return
      }
      log.trace('reading from %p failed: %s', peer, err.message)
      close()
    }
  }
  void readLoop()
  stream.addEventListener('close', () => { close() }, { once: true })

  return {
    peer,
    get closed () { return closed },
    inflight: () => pending.size,
    async want (cid, options) {
      if (closed) throw new BlockNotAvailableError(`stream to ${peer} is closed`)
      options.signal?.throwIfAborted()
      const key = cid.toString()
      let p = pending.get(key)
      const priority = options.priority ?? 0
      if (p == null) {
        const { promise, resolve, reject } = Promise.withResolvers<Uint8Array>()
        promise.catch(() => {}) // callers that gave up don't leave an unhandled rejection
        p = { cid, promise, resolve, reject, waiters: 0, priority }
        pending.set(key, p)
        send([{ cid, priority, cancel: false }])
      } else if (priority > p.priority) {
        // wanted sooner now (the reader reached it): the responder moves it up its queue
        p.priority = priority
        send([{ cid, priority, cancel: false, reprioritize: true }])
      }
      const entry = p
      entry.waiters++
      const signal = options.signal
      if (signal == null) return entry.promise
      try {
        return await raceSignal(entry.promise, signal)
      } finally {
        entry.waiters--
        if (signal.aborted && entry.waiters === 0 && pending.get(key) === entry) {
          pending.delete(key)
          if (!closed) {
            send([{ cid, priority: 0, cancel: true }])
            cancelled.add(key)
            if (cancelled.size > CANCELLED_KEPT) cancelled.delete(cancelled.values().next().value!)
          }
        }
      }
    },
    close
  }
}
