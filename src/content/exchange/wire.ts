/**
 * The wire format of `/swarmsite/block/1.0.0`. Each message is an unsigned-varint length prefix
 * followed by this protobuf (proto3), at most MAX_MESSAGE_BYTES long:
 *
 * ```proto
 * message BlockMessage {
 *   message Entry {               // a want, or a cancel of one
 *     bytes cid = 1;              // binary CID
 *     int32 priority = 2;         // higher first; ties in arrival order
 *     bool cancel = 3;            // true: forget an earlier want for cid
 *     bool reprioritize = 4;      // true: only a new priority for a want still queued; never a
 *                                 // new want (the block may be on its way already)
 *   }
 *   message Block {
 *     bytes cid = 1;
 *     bytes data = 2;             // the block's bytes exactly as its CID hashes them
 *   }
 *   enum PresenceType { HAVE = 0; DONT_HAVE = 1; }
 *   message Presence {
 *     bytes cid = 1;
 *     PresenceType type = 2;
 *   }
 *   repeated Entry entries = 1;   // at most MAX_WANTS_PER_MESSAGE
 *   repeated Block blocks = 2;    // senders put one block per message
 *   repeated Presence presences = 3;
 * }
 * ```
 *
 * The requester opens one stream per peer and writes entries; the responder answers each want
 * on the same stream with a block or DONT_HAVE (never both), in priority order. Unknown fields
 * are skipped (room for later versions); anything else malformed is an error.
 *
 * Hand-written on protons-runtime's reader/writer: protons' code generator emits TypeScript
 * namespaces and enums, which Node's type stripping (how this project runs) does not accept.
 */
import { reader as createReader, writer as createWriter } from 'protons-runtime'
import { CID } from 'multiformats/cid'
import { MAX_CID_BYTES, MAX_MESSAGE_BYTES, MAX_PRESENCES_PER_MESSAGE, MAX_WANTS_PER_MESSAGE } from './constants.ts'
import { MalformedMessageError } from './errors.ts'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface WantEntry {
  cid: CID
  priority: number
  cancel: boolean
  /** A new priority for an earlier want, if the responder still has it queued; no want by itself. */
  reprioritize?: boolean
}

export interface BlockEntry {
  cid: CID
  data: Uint8Array
}

export type PresenceType = 'have' | 'dont-have'

export interface PresenceEntry {
  cid: CID
  type: PresenceType
}

export interface BlockMessage {
  entries: WantEntry[]
  blocks: BlockEntry[]
  presences: PresenceEntry[]
}

const WIRE_VARINT = 0
const WIRE_BYTES = 2

export function emptyMessage (): BlockMessage {
  return { entries: [], blocks: [], presences: [] }
}

export function encodeBlockMessage (message: Partial<BlockMessage>): Uint8Array {
  // the same bounds the decoder enforces: never send what every peer refuses
  if ((message.entries?.length ?? 0) > MAX_WANTS_PER_MESSAGE) throw new MalformedMessageError(`more than ${MAX_WANTS_PER_MESSAGE} entries in one message`)
  if ((message.blocks?.length ?? 0) > 1) throw new MalformedMessageError('more than one block in one message')
  if ((message.presences?.length ?? 0) > MAX_PRESENCES_PER_MESSAGE) throw new MalformedMessageError(`more than ${MAX_PRESENCES_PER_MESSAGE} presences in one message`)
  const w = createWriter()
  for (const entry of message.entries ?? []) {
    w.uint32(1 << 3 | WIRE_BYTES).fork()
    w.uint32(1 << 3 | WIRE_BYTES).bytes(entry.cid.bytes)
    if (entry.priority !== 0) w.uint32(2 << 3 | WIRE_VARINT).int32(entry.priority)
    if (entry.cancel) w.uint32(3 << 3 | WIRE_VARINT).bool(true)
    if (entry.reprioritize === true) w.uint32(4 << 3 | WIRE_VARINT).bool(true)
    w.ldelim()
  }
  for (const block of message.blocks ?? []) {
    w.uint32(2 << 3 | WIRE_BYTES).fork()
    w.uint32(1 << 3 | WIRE_BYTES).bytes(block.cid.bytes)
    w.uint32(2 << 3 | WIRE_BYTES).bytes(block.data)
    w.ldelim()
  }
  for (const presence of message.presences ?? []) {
    w.uint32(3 << 3 | WIRE_BYTES).fork()
    w.uint32(1 << 3 | WIRE_BYTES).bytes(presence.cid.bytes)
    if (presence.type === 'dont-have') w.uint32(2 << 3 | WIRE_VARINT).uint32(1)
    w.ldelim()
  }
  const bytes = w.finish()
  if (bytes.byteLength > MAX_MESSAGE_BYTES) {
    throw new MalformedMessageError(`message of ${bytes.byteLength} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte limit`)
  }
  return bytes
}

type Reader = ReturnType<typeof createReader>

function decodeCid (bytes: Uint8Array, where: string): CID {
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_CID_BYTES) {
    throw new MalformedMessageError(`${where}: CID of ${bytes.byteLength} bytes`)
  }
  try {
    return CID.decode(bytes)
  } catch (err: any) {
    throw new MalformedMessageError(`${where}: not a CID (${err.message})`)
  }
}

/** Reads one embedded message's fields, calling `field` for each; skips unknown ones. */
function readEmbedded (r: Reader, field: (tag: number, wireType: number) => boolean): void {
  const length = r.uint32()
  const end = r.pos + length
  if (end > r.len) throw new MalformedMessageError('embedded message runs past the end')
  while (r.pos < end) {
    const key = r.uint32()
    if (!field(key >>> 3, key & 7)) r.skipType(key & 7)
  }
  if (r.pos !== end) throw new MalformedMessageError('embedded message overran its length')
}

function expectWireType (actual: number, expected: number, where: string): void {
  if (actual !== expected) throw new MalformedMessageError(`${where}: wire type ${actual}, expected ${expected}`)
}

/** Decodes one message (without its length prefix); throws MalformedMessageError on anything off. */
export function decodeBlockMessage (input: Uint8Array | Uint8ArrayList): BlockMessage {
  const bytes = input instanceof Uint8Array ? input : input.subarray()
  if (bytes.byteLength > MAX_MESSAGE_BYTES) {
    throw new MalformedMessageError(`message of ${bytes.byteLength} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte limit`)
  }
  const message = emptyMessage()
  const r = createReader(bytes)
  try {
    while (r.pos < r.len) {
      const key = r.uint32()
      const tag = key >>> 3
      const wireType = key & 7
      if (tag === 1) {
        expectWireType(wireType, WIRE_BYTES, 'entry')
        if (message.entries.length >= MAX_WANTS_PER_MESSAGE) throw new MalformedMessageError(`more than ${MAX_WANTS_PER_MESSAGE} entries in one message`)
        let cid: Uint8Array | undefined
        let priority = 0
        let cancel = false
        let reprioritize = false
        readEmbedded(r, (t, wt) => {
          if (t === 1) { expectWireType(wt, WIRE_BYTES, 'entry.cid'); cid = r.bytes(); return true }
          if (t === 2) { expectWireType(wt, WIRE_VARINT, 'entry.priority'); priority = r.int32(); return true }
          if (t === 3) { expectWireType(wt, WIRE_VARINT, 'entry.cancel'); cancel = r.bool(); return true }
          if (t === 4) { expectWireType(wt, WIRE_VARINT, 'entry.reprioritize'); reprioritize = r.bool(); return true }
          return false
        })
        if (cid == null) throw new MalformedMessageError('entry without a CID')
        message.entries.push({ cid: decodeCid(cid, 'entry'), priority, cancel, ...(reprioritize ? { reprioritize } : {}) })
      } else if (tag === 2) {
        expectWireType(wireType, WIRE_BYTES, 'block')
        if (message.blocks.length >= 1) throw new MalformedMessageError('more than one block in one message')
        let cid: Uint8Array | undefined
        let data: Uint8Array | undefined
        readEmbedded(r, (t, wt) => {
          if (t === 1) { expectWireType(wt, WIRE_BYTES, 'block.cid'); cid = r.bytes(); return true }
          if (t === 2) { expectWireType(wt, WIRE_BYTES, 'block.data'); data = r.bytes(); return true }
          return false
        })
        if (cid == null || data == null) throw new MalformedMessageError('block without a CID or data')
        message.blocks.push({ cid: decodeCid(cid, 'block'), data })
      } else if (tag === 3) {
        expectWireType(wireType, WIRE_BYTES, 'presence')
        if (message.presences.length >= MAX_PRESENCES_PER_MESSAGE) throw new MalformedMessageError(`more than ${MAX_PRESENCES_PER_MESSAGE} presences in one message`)
        let cid: Uint8Array | undefined
        let type = 0
        readEmbedded(r, (t, wt) => {
          if (t === 1) { expectWireType(wt, WIRE_BYTES, 'presence.cid'); cid = r.bytes(); return true }
          if (t === 2) { expectWireType(wt, WIRE_VARINT, 'presence.type'); type = r.uint32(); return true }
          return false
        })
        if (cid == null) throw new MalformedMessageError('presence without a CID')
        if (type !== 0 && type !== 1) throw new MalformedMessageError(`presence type ${type}`)
        message.presences.push({ cid: decodeCid(cid, 'presence'), type: type === 0 ? 'have' : 'dont-have' })
      } else {
        r.skipType(wireType)
      }
    }
  } catch (err: any) {
    if (err instanceof MalformedMessageError) throw err
    // protons' reader throws RangeError on truncated varints or lengths past the end
    throw new MalformedMessageError(`undecodable message: ${err.message}`)
  }
  return message
}
