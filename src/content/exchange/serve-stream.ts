/**
 * The responder's side of one block-exchange stream: reads wants and cancels, answers each want
 * with the block or DONT_HAVE, highest priority first, one block at a time so the upload budget
 * paces what leaves this node. It also tells the requester, unasked, of blocks this node has
 * just come to hold (HAVE presences, `announce`): a linked peer learns at once what it can ask
 * for, without waiting for the next gossip summary. Readers that predate HAVEs ignore them.
 */
import { lpStream } from '@libp2p/utils'
import { defaultLogger } from '@libp2p/logger'
import { MAX_MESSAGE_BYTES } from './constants.ts'
import { MalformedMessageError, MessageTooLargeError, TooManyWantsError } from './errors.ts'
import { WantQueue } from './want-queue.ts'
import { decodeBlockMessage, encodeBlockMessage } from './wire.ts'
import type { Logger, PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

export interface ServeStreamInit {
  stream: Stream
  peer: PeerId
  maxOutstandingWants: number
  /** The block when this node may serve it (it belongs to a loaded manifest and is held), else undefined. */
  getBlock(cid: CID, options: { signal: AbortSignal }): Promise<Uint8Array | undefined>
  /**
   * Resolves when `bytes` may be uploaded; rejects when uploading is off (then DONT_HAVE is
   * sent). `priority` is the want's (the exchange orders grants across peers fairly instead:
   * a requester's claimed priority orders only its own stream's wants, upload-order.ts).
   */
  takeUpload(bytes: number, options: { signal: AbortSignal, priority: number }): Promise<void>
  /** A protocol violation by the peer; the stream is aborted with it. */
  onViolation(err: Error): void
  onBlockSent(cid: CID, bytes: number): void
  signal: AbortSignal
  /** Called once the stream serves, with a function that sends a HAVE for a block on it. */
  onAnnouncer?(announce: (cid: CID) => void): void
  /** The exchange's `swarmsite:exchange:serve` logger; default from `defaultLogger()`. */
  log?: Logger
}

interface QueuedWant {
  cid: CID
  priority: number
  seq: number
}

function isProtocolViolation (err: any): boolean {
  return err instanceof MalformedMessageError || err instanceof TooManyWantsError || err instanceof MessageTooLargeError ||
    err?.name === 'InvalidDataLengthError' || err?.name === 'InvalidDataLengthLengthError' || err?.name === 'StreamBufferError'
}

export async function serveStream (init: ServeStreamInit): Promise<void> {
  const { stream, peer } = init
  const log = init.log ?? defaultLogger().forComponent('swarmsite:exchange:serve')
  const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
  // the order wants are answered in: higher priority first, then arrival
  const queue = new WantQueue<QueuedWant>()
  let serving: QueuedWant | undefined
  let seq = 0
  let ended = false
  let wake: PromiseWithResolvers<void> | undefined
  const controller = new AbortController()
  const signal = AbortSignal.any([init.signal, controller.signal])
  const notify = (): void => { wake?.resolve(); wake = undefined }

  const serveLoop = async (): Promise<void> => {
    while (!signal.aborted) {
      const want = queue.shift()
      if (want == null) {
        if (ended) return // the peer closed its side and everything it asked for is answered
        wake = Promise.withResolvers()
        await wake.promise
        continue
      }
      const key = want.cid.toString()
      serving = want
      try {
        const block = await init.getBlock(want.cid, { signal })
        let sent = false
        if (block != null) {
          try {
            await init.takeUpload(block.byteLength, { signal, priority: want.priority })
            sent = true
          } catch (err: any) {
            if (signal.aborted) throw err
            log.trace('not uploading %s to %p: %s', key, peer, err.message)
          }
        }
        if (serving !== want) continue // cancelled while we waited
        if (sent && block != null) {
          await lp.write(encodeBlockMessage({ blocks: [{ cid: want.cid, data: block }] }), { signal })
          init.onBlockSent(want.cid, block.byteLength)
        } else {
          await lp.write(encodeBlockMessage({ presences: [{ cid: want.cid, type: 'dont-have' }] }), { signal })
        }
      } finally {
        serving = undefined
      }
    }
  }

  // HAVEs are small and go out between blocks; a failed write ends nothing (the read side decides)
  let announcing: Promise<unknown> = Promise.resolve()
  init.onAnnouncer?.((cid) => {
    if (signal.aborted || ended) return
    announcing = announcing.then(async () => lp.write(encodeBlockMessage({ presences: [{ cid, type: 'have' }] }), { signal })).catch(() => {})
  })

  const served = serveLoop().catch(err => {
    if (!signal.aborted) log('serving %p stopped: %s', peer, err.message)
    controller.abort()
  })

  try {
    while (!signal.aborted) {
      let bytes
      try {
        bytes = await lp.read({ signal })
      } catch (err: any) {
        // the peer closed its side: answer what it asked for, then finish (see serveLoop)
        if (err?.name === 'UnexpectedEOFError') { ended = true; break }
        throw err
      }
      const message = decodeBlockMessage(bytes)
      for (const entry of message.entries) {
        const key = entry.cid.toString()
        if (entry.cancel) {
          queue.delete(key)
          if (serving?.cid.equals(entry.cid) === true) serving = undefined
          continue
        }
        if (queue.setPriority(key, entry.priority)) continue
        // a new priority for a want no longer queued (being sent, or sent): it is on its way
        if (entry.reprioritize === true || serving?.cid.equals(entry.cid) === true) continue
        if (queue.size + (serving != null ? 1 : 0) >= init.maxOutstandingWants) {
          throw new TooManyWantsError(`peer ${peer} has more than ${init.maxOutstandingWants} wants outstanding`)
        }
        queue.add(key, { cid: entry.cid, priority: entry.priority, seq: seq++ })
      }
      if (message.blocks.length > 0 || message.presences.length > 0) {
        throw new MalformedMessageError('the requester sent blocks or presences on its want stream')
      }
      notify()
    }
  } catch (err: any) {
    if (isProtocolViolation(err)) {
      log('protocol violation by %p: %s', peer, err.message)
      init.onViolation(err)
      stream.abort(err)
    } else if (!signal.aborted) {
      log.trace('stream from %p ended: %s', peer, err.message)
    }
  } finally {
    // anything but a clean end of the peer's side (a violation, a reset, stop) ends serving too
    if (!ended) controller.abort()
    ended = true
    notify()
    await served
    if (stream.status === 'open') await stream.close().catch(() => { stream.abort(new Error('close failed')) })
  }
}
