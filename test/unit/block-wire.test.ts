/**
 * Pins the wire format of `/swarmsite/block/1.0.0` (src/content/exchange/wire.ts): what the
 * encoder writes decodes back to the same message, unknown fields are skipped, and every
 * malformed or oversized message is refused with MalformedMessageError. Bad messages are
 * written by hand with protons-runtime's writer, field by field.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { writer as createWriter } from 'protons-runtime'
import { Uint8ArrayList } from 'uint8arraylist'
import { MAX_CID_BYTES, MAX_MESSAGE_BYTES, MAX_PRESENCES_PER_MESSAGE, MAX_WANTS_PER_MESSAGE } from '../../src/content/exchange/constants.ts'
import { MalformedMessageError } from '../../src/content/exchange/errors.ts'
import { decodeBlockMessage, emptyMessage, encodeBlockMessage } from '../../src/content/exchange/wire.ts'
import type { BlockMessage } from '../../src/content/exchange/wire.ts'

type Writer = ReturnType<typeof createWriter>

// wire types
const VARINT = 0
const FIXED64 = 1
const BYTES = 2
const FIXED32 = 5

const key = (field: number, wireType: number): number => field << 3 | wireType

async function cidOf (text: string): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(text)))
}

const cidA = await cidOf('a')
const cidB = await cidOf('b')
const cidC = await cidOf('c')

/** Writes an embedded message under `field`, its body written by `body`. */
function embedded (w: Writer, field: number, body: (w: Writer) => void): Writer {
  w.uint32(key(field, BYTES)).fork()
  body(w)
  return w.ldelim()
}

function message (body: (w: Writer) => void): Uint8Array {
  const w = createWriter()
  body(w)
  return w.finish()
}

function assertMalformed (bytes: Uint8Array | Uint8ArrayList, pattern?: RegExp): void {
  assert.throws(() => decodeBlockMessage(bytes), (err: any) => {
    assert.ok(err instanceof MalformedMessageError, `expected MalformedMessageError, got ${err?.name}: ${err?.message}`)
    assert.equal(err.name, 'MalformedMessageError')
    assert.equal(err.code, 'ERR_MALFORMED_BLOCK_MESSAGE')
    if (pattern != null) assert.match(err.message, pattern)
    return true
  })
}

/** Compares decoded messages by CID string, so CID instances need not be identical. */
function plain (m: BlockMessage): unknown {
  return {
    entries: m.entries.map(e => ({ cid: e.cid.toString(), priority: e.priority, cancel: e.cancel })),
    blocks: m.blocks.map(b => ({ cid: b.cid.toString(), data: Array.from(b.data) })),
    presences: m.presences.map(p => ({ cid: p.cid.toString(), type: p.type }))
  }
}

describe('block wire format: round trips', () => {
  it('an empty message is zero bytes and decodes to an empty message', () => {
    const bytes = encodeBlockMessage({})
    assert.equal(bytes.byteLength, 0)
    assert.deepEqual(plain(decodeBlockMessage(bytes)), plain(emptyMessage()))
  })

  it('wants with priorities (zero, positive, negative, extremes) and cancels', () => {
    const m: BlockMessage = {
      entries: [
        { cid: cidA, priority: 0, cancel: false },
        { cid: cidB, priority: 7, cancel: false },
        { cid: cidC, priority: -3, cancel: false },
        { cid: cidA, priority: 0, cancel: true },
        { cid: cidB, priority: 2 ** 31 - 1, cancel: false },
        { cid: cidC, priority: -(2 ** 31), cancel: true }
      ],
      blocks: [],
      presences: []
    }
    const decoded = decodeBlockMessage(encodeBlockMessage(m))
    assert.deepEqual(plain(decoded), plain(m))
    assert.ok(decoded.entries[0]!.cid.equals(cidA))
    assert.equal(decoded.entries[2]!.priority, -3)
    assert.equal(decoded.entries[3]!.cancel, true)
  })

  it('a priority update (reprioritize) survives the round trip; plain wants carry no such flag', () => {
    const decoded = decodeBlockMessage(encodeBlockMessage({ entries: [{ cid: cidA, priority: 9, cancel: false, reprioritize: true }, { cid: cidB, priority: 1, cancel: false }] }))
    assert.equal(decoded.entries[0]!.reprioritize, true)
    assert.equal(decoded.entries[0]!.priority, 9)
    assert.equal(decoded.entries[1]!.reprioritize, undefined)
  })

  it('a want with priority 0 and no cancel writes only its CID (proto3 defaults are omitted)', () => {
    const bytes = encodeBlockMessage({ entries: [{ cid: cidA, priority: 0, cancel: false }] })
    const expected = message(w => embedded(w, 1, w => w.uint32(key(1, BYTES)).bytes(cidA.bytes)))
    assert.deepEqual(bytes, expected)
  })

  it('one block, its data byte for byte (including an empty block)', () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff)
    for (const block of [data, new Uint8Array(0)]) {
      const decoded = decodeBlockMessage(encodeBlockMessage({ blocks: [{ cid: cidA, data: block }] }))
      assert.equal(decoded.blocks.length, 1)
      assert.ok(decoded.blocks[0]!.cid.equals(cidA))
      assert.deepEqual(decoded.blocks[0]!.data, block)
      assert.deepEqual(decoded.entries, [])
      assert.deepEqual(decoded.presences, [])
    }
  })

  it('presences, have and dont-have', () => {
    const m: BlockMessage = {
      entries: [],
      blocks: [],
      presences: [{ cid: cidA, type: 'have' }, { cid: cidB, type: 'dont-have' }, { cid: cidC, type: 'dont-have' }]
    }
    assert.deepEqual(plain(decodeBlockMessage(encodeBlockMessage(m))), plain(m))
  })

  it('entries, a block and presences together, and from a Uint8ArrayList in pieces', () => {
    const m: BlockMessage = {
      entries: [{ cid: cidA, priority: -1, cancel: false }],
      blocks: [{ cid: cidB, data: new TextEncoder().encode('b') }],
      presences: [{ cid: cidC, type: 'dont-have' }]
    }
    const bytes = encodeBlockMessage(m)
    assert.deepEqual(plain(decodeBlockMessage(bytes)), plain(m))
    const list = new Uint8ArrayList(bytes.subarray(0, 5), bytes.subarray(5, 17), bytes.subarray(17))
    assert.deepEqual(plain(decodeBlockMessage(list)), plain(m))
  })

  it('exactly MAX_WANTS_PER_MESSAGE entries and MAX_PRESENCES_PER_MESSAGE presences are fine', () => {
    const m: BlockMessage = {
      entries: Array.from({ length: MAX_WANTS_PER_MESSAGE }, (_, i) => ({ cid: cidA, priority: i, cancel: false })),
      blocks: [],
      presences: Array.from({ length: MAX_PRESENCES_PER_MESSAGE }, () => ({ cid: cidB, type: 'have' as const }))
    }
    const decoded = decodeBlockMessage(encodeBlockMessage(m))
    assert.equal(decoded.entries.length, MAX_WANTS_PER_MESSAGE)
    assert.equal(decoded.presences.length, MAX_PRESENCES_PER_MESSAGE)
  })

  it('a block that fills a message up to MAX_MESSAGE_BYTES exactly', () => {
    // framing: block key (1) + length varint (3) + cid key (1) + cid length (1) + cid + data key (1) + data length varint (3)
    const framing = 1 + 3 + 1 + 1 + cidA.bytes.byteLength + 1 + 3
    const data = new Uint8Array(MAX_MESSAGE_BYTES - framing)
    const bytes = encodeBlockMessage({ blocks: [{ cid: cidA, data }] })
    assert.equal(bytes.byteLength, MAX_MESSAGE_BYTES)
    assert.equal(decodeBlockMessage(bytes).blocks[0]!.data.byteLength, data.byteLength)
  })
})

describe('block wire format: unknown fields are skipped', () => {
  /** Unknown fields of every skippable wire type under `field`. */
  const unknowns = (w: Writer, field: number): void => {
    w.uint32(key(field, VARINT)).uint64(12345678901234n)
    w.uint32(key(field + 1, FIXED64)).fixed64(7n)
    w.uint32(key(field + 2, BYTES)).bytes(new Uint8Array([1, 2, 3]))
    w.uint32(key(field + 3, FIXED32)).fixed32(9)
  }

  it('at the top level, before and after known fields', () => {
    const bytes = message(w => {
      unknowns(w, 4)
      embedded(w, 1, w => { w.uint32(key(1, BYTES)).bytes(cidA.bytes); w.uint32(key(2, VARINT)).int32(5) })
      unknowns(w, 100)
      embedded(w, 3, w => { w.uint32(key(1, BYTES)).bytes(cidB.bytes) })
      embedded(w, 99, w => { w.uint32(key(1, BYTES)).bytes(cidC.bytes) }) // an unknown embedded message
    })
    const decoded = decodeBlockMessage(bytes)
    assert.deepEqual(plain(decoded), plain({
      entries: [{ cid: cidA, priority: 5, cancel: false }],
      blocks: [],
      presences: [{ cid: cidB, type: 'have' }]
    }))
  })

  it('inside entries, blocks and presences', () => {
    const bytes = message(w => {
      embedded(w, 1, w => { unknowns(w, 4); w.uint32(key(1, BYTES)).bytes(cidA.bytes); unknowns(w, 20); w.uint32(key(3, VARINT)).bool(true) })
      embedded(w, 2, w => { w.uint32(key(2, BYTES)).bytes(new Uint8Array([42])); unknowns(w, 3); w.uint32(key(1, BYTES)).bytes(cidB.bytes) })
      embedded(w, 3, w => { unknowns(w, 3); w.uint32(key(2, VARINT)).uint32(1); w.uint32(key(1, BYTES)).bytes(cidC.bytes) })
    })
    assert.deepEqual(plain(decodeBlockMessage(bytes)), plain({
      entries: [{ cid: cidA, priority: 0, cancel: true }],
      blocks: [{ cid: cidB, data: new Uint8Array([42]) }],
      presences: [{ cid: cidC, type: 'dont-have' }]
    }))
  })

  it('a repeated scalar field takes the last value, as protobuf says', () => {
    const bytes = message(w => embedded(w, 1, w => {
      w.uint32(key(1, BYTES)).bytes(cidA.bytes)
      w.uint32(key(2, VARINT)).int32(1)
      w.uint32(key(2, VARINT)).int32(-9)
    }))
    assert.equal(decodeBlockMessage(bytes).entries[0]!.priority, -9)
  })
})

describe('block wire format: malformed messages are refused', () => {
  it('truncated bytes: every strict prefix of a one-entry, one-block or one-presence message', () => {
    const messages = [
      encodeBlockMessage({ entries: [{ cid: cidA, priority: -2, cancel: true }] }),
      encodeBlockMessage({ blocks: [{ cid: cidA, data: new Uint8Array(300).fill(1) }] }),
      encodeBlockMessage({ presences: [{ cid: cidA, type: 'dont-have' }] })
    ]
    for (const bytes of messages) {
      for (let n = 1; n < bytes.byteLength; n++) assertMalformed(bytes.subarray(0, n))
    }
  })

  it('a truncated varint and a length past the end at the top level', () => {
    assertMalformed(Uint8Array.of(0x80)) // key varint never ends
    assertMalformed(Uint8Array.of(key(1, BYTES), 0x80, 0x80)) // length varint never ends
    assertMalformed(message(w => w.uint32(key(4, BYTES)).uint32(10).uint32(1))) // unknown bytes field past the end
    assertMalformed(message(w => w.uint32(key(4, FIXED64)).fixed32(1))) // fixed64 cut short
  })

  it('an embedded field that runs past its own message', () => {
    // the entry says it is 3 bytes long, but its CID field claims more, inside the outer buffer
    const bytes = Uint8Array.of(key(1, BYTES), 3, key(1, BYTES), cidA.bytes.byteLength, ...cidA.bytes)
    assertMalformed(bytes, /overran its length/)
  })

  it('wrong wire types, for every known field', () => {
    const cases: Array<[string, Uint8Array]> = [
      ['entry as varint', message(w => w.uint32(key(1, VARINT)).uint32(1))],
      ['block as fixed32', message(w => w.uint32(key(2, FIXED32)).fixed32(1))],
      ['presence as fixed64', message(w => w.uint32(key(3, FIXED64)).fixed64(1n))],
      ['entry.cid as varint', message(w => embedded(w, 1, w => w.uint32(key(1, VARINT)).uint32(1)))],
      ['entry.priority as bytes', message(w => embedded(w, 1, w => { w.uint32(key(1, BYTES)).bytes(cidA.bytes); w.uint32(key(2, BYTES)).bytes(Uint8Array.of(1)) }))],
      ['entry.cancel as fixed32', message(w => embedded(w, 1, w => { w.uint32(key(1, BYTES)).bytes(cidA.bytes); w.uint32(key(3, FIXED32)).fixed32(1) }))],
      ['block.cid as varint', message(w => embedded(w, 2, w => { w.uint32(key(1, VARINT)).uint32(1); w.uint32(key(2, BYTES)).bytes(Uint8Array.of(1)) }))],
      ['block.data as varint', message(w => embedded(w, 2, w => { w.uint32(key(1, BYTES)).bytes(cidA.bytes); w.uint32(key(2, VARINT)).uint32(1) }))],
      ['presence.cid as fixed64', message(w => embedded(w, 3, w => w.uint32(key(1, FIXED64)).fixed64(1n)))],
      ['presence.type as bytes', message(w => embedded(w, 3, w => { w.uint32(key(1, BYTES)).bytes(cidA.bytes); w.uint32(key(2, BYTES)).bytes(Uint8Array.of(1)) }))]
    ]
    for (const [what, bytes] of cases) {
      assert.throws(() => decodeBlockMessage(bytes), MalformedMessageError, what)
      assertMalformed(bytes, /wire type/)
    }
  })

  it('invalid wire types 6 and 7, and an unterminated group, in unknown fields', () => {
    assertMalformed(message(w => w.uint32(key(9, 6)).uint32(0)))
    assertMalformed(message(w => w.uint32(key(9, 7)).uint32(0)))
    assertMalformed(message(w => embedded(w, 1, w => { w.uint32(key(1, BYTES)).bytes(cidA.bytes); w.uint32(key(9, 7)) })))
    assertMalformed(message(w => w.uint32(key(9, 3)).uint32(key(1, VARINT)).uint32(5))) // group start, no end
    assertMalformed(new Uint8Array(1_000_000).fill(key(9, 3))) // groups nested a million deep: no stack overflow escapes
  })

  it('an entry, block or presence without a CID; a block without data', () => {
    assertMalformed(message(w => embedded(w, 1, w => w.uint32(key(2, VARINT)).int32(3))), /entry without a CID/)
    assertMalformed(message(w => embedded(w, 1, () => {})), /entry without a CID/)
    assertMalformed(message(w => embedded(w, 2, w => w.uint32(key(2, BYTES)).bytes(Uint8Array.of(1)))), /block without/)
    assertMalformed(message(w => embedded(w, 2, w => w.uint32(key(1, BYTES)).bytes(cidA.bytes))), /block without/)
    assertMalformed(message(w => embedded(w, 3, w => w.uint32(key(2, VARINT)).uint32(1))), /presence without a CID/)
  })

  it('garbage and empty CIDs', () => {
    const garbage = [Uint8Array.of(0xff, 0xff, 0xff), Uint8Array.of(1, 0x55, 0x12, 0x20, 1, 2, 3), new Uint8Array(36).fill(0xaa)]
    for (const cid of garbage) {
      assertMalformed(message(w => embedded(w, 1, w => w.uint32(key(1, BYTES)).bytes(cid))), /not a CID/)
      assertMalformed(message(w => embedded(w, 2, w => { w.uint32(key(1, BYTES)).bytes(cid); w.uint32(key(2, BYTES)).bytes(Uint8Array.of(1)) })), /not a CID/)
      assertMalformed(message(w => embedded(w, 3, w => w.uint32(key(1, BYTES)).bytes(cid))), /not a CID/)
    }
    assertMalformed(message(w => embedded(w, 1, w => w.uint32(key(1, BYTES)).bytes(new Uint8Array(0)))), /CID of 0 bytes/)
  })

  it(`a CID over MAX_CID_BYTES (${MAX_CID_BYTES})`, () => {
    // a well-formed CIDv1 with an identity multihash, just too long
    const digest = new Uint8Array(MAX_CID_BYTES)
    const long = Uint8Array.of(0x01, 0x55, 0x00, 0x80, 0x01, ...digest)
    assert.equal(CID.decode(long).bytes.byteLength, long.byteLength) // a real CID...
    assert.ok(long.byteLength > MAX_CID_BYTES) // ...that is too long
    assertMalformed(message(w => embedded(w, 1, w => w.uint32(key(1, BYTES)).bytes(long))), new RegExp(`CID of ${long.byteLength} bytes`))
    assertMalformed(message(w => embedded(w, 3, w => w.uint32(key(1, BYTES)).bytes(long))), /CID of/)
  })

  it(`more than MAX_WANTS_PER_MESSAGE (${MAX_WANTS_PER_MESSAGE}) entries, or MAX_PRESENCES_PER_MESSAGE presences`, () => {
    const entries = message(w => {
      for (let i = 0; i <= MAX_WANTS_PER_MESSAGE; i++) embedded(w, 1, w => w.uint32(key(1, BYTES)).bytes(cidA.bytes))
    })
    assertMalformed(entries, /entries in one message/)
    const presences = message(w => {
      for (let i = 0; i <= MAX_PRESENCES_PER_MESSAGE; i++) embedded(w, 3, w => w.uint32(key(1, BYTES)).bytes(cidA.bytes))
    })
    assertMalformed(presences, /presences in one message/)
  })

  it('two blocks in one message', () => {
    const bytes = message(w => {
      for (const cid of [cidA, cidB]) embedded(w, 2, w => { w.uint32(key(1, BYTES)).bytes(cid.bytes); w.uint32(key(2, BYTES)).bytes(Uint8Array.of(1)) })
    })
    assertMalformed(bytes, /more than one block/)
  })

  it('presence types other than HAVE (0) and DONT_HAVE (1)', () => {
    for (const type of [2, 7, 2 ** 31]) {
      assertMalformed(message(w => embedded(w, 3, w => { w.uint32(key(1, BYTES)).bytes(cidA.bytes); w.uint32(key(2, VARINT)).uint32(type) })), new RegExp(`presence type ${type}`))
    }
  })

  it(`a message over MAX_MESSAGE_BYTES (${MAX_MESSAGE_BYTES}): the encoder and the decoder both refuse`, () => {
    const data = new Uint8Array(MAX_MESSAGE_BYTES)
    assert.throws(() => encodeBlockMessage({ blocks: [{ cid: cidA, data }] }), (err: any) => err instanceof MalformedMessageError && /exceeds/.test(err.message))
    // a well-formed message, one byte too long: refused before any parsing
    const tooLong = message(w => embedded(w, 2, w => { w.uint32(key(1, BYTES)).bytes(cidA.bytes); w.uint32(key(2, BYTES)).bytes(data) }))
    assert.ok(tooLong.byteLength > MAX_MESSAGE_BYTES)
    assertMalformed(tooLong, /exceeds/)
    assertMalformed(new Uint8Array(MAX_MESSAGE_BYTES + 1), /exceeds/)
    assertMalformed(new Uint8ArrayList(new Uint8Array(MAX_MESSAGE_BYTES), new Uint8Array(1)), /exceeds/)
  })

  it('errors from the decoder are only ever MalformedMessageError (random bytes)', () => {
    // a cheap fuzz: a deterministic stream of random-ish buffers, some built on a valid message
    let seed = 12345
    const rand = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed }
    const valid = encodeBlockMessage({ entries: [{ cid: cidA, priority: 3, cancel: false }], presences: [{ cid: cidB, type: 'have' }] })
    for (let i = 0; i < 2000; i++) {
      const bytes = i % 2 === 0 ? Uint8Array.from({ length: rand() % 64 }, () => rand() & 0xff) : valid.slice()
      if (i % 2 === 1) bytes[rand() % bytes.length] = rand() & 0xff
      try {
        decodeBlockMessage(bytes)
      } catch (err: any) {
        assert.ok(err instanceof MalformedMessageError, `${err?.name}: ${err?.message} for ${Array.from(bytes)}`)
      }
    }
  })
})
