import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { writer } from 'protons-runtime'
import { BlockRanges } from '../../src/content/availability/block-ranges.ts'
import { decodeHaveSummary, encodeHaveSummary, fitHaveSummary, haveSummaryLength } from '../../src/content/availability/have-summary.ts'
import type { HaveSummary } from '../../src/content/availability/have-summary.ts'

async function root (text: string): Promise<string> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(text))).toString()
}

/** A summary's header (version 1, seq 7), then whatever `more` writes. */
function rawWith (more: (w: ReturnType<typeof writer>) => void): Uint8Array {
  const w = writer()
  w.uint32(8); w.uint32(1); w.uint32(16); w.uint64Number(7)
  more(w)
  return w.finish()
}

function coordinateField (w: ReturnType<typeof writer>, values: [number, number, number, number]): void {
  w.uint32(42); w.fork()
  values.forEach((v, i) => { w.uint32(((i + 1) << 3) | 5); w.float(v) })
  w.ldelim()
}

describe('have summary: coordinate and region', () => {
  it('round-trips the sender\'s coordinate and region hint, and counts them in its length', async () => {
    const summary: HaveSummary = {
      seq: 9,
      files: [{ root: await root('a'), totalBlocks: 8, blocks: new BlockRanges([[0, 3]]) }],
      coordinate: { x: 12.5, y: -40.25, height: 3.5, error: 0.375 },
      region: 'eu-west'
    }
    const bytes = encodeHaveSummary(summary)
    assert.equal(bytes.byteLength, haveSummaryLength(summary))
    const decoded = decodeHaveSummary(bytes)
    assert.deepEqual(decoded.coordinate, summary.coordinate)
    assert.equal(decoded.region, 'eu-west')
    assert.deepEqual(decoded.files[0]!.blocks.toJSON(), [[0, 3]])
    // added in place: the same summary without them is a prefix (old readers skip fields 5 and 6)
    const plain = encodeHaveSummary({ seq: 9, files: summary.files })
    assert.deepEqual(bytes.subarray(0, plain.byteLength), plain)
    const bare = decodeHaveSummary(plain)
    assert.equal(bare.coordinate, undefined)
    assert.equal(bare.region, undefined)
    // coarsening keeps them and stays within the budget
    const many = await Promise.all(Array.from({ length: 300 }, async (_, i) => ({ root: await root(`f${i}`), totalBlocks: 9, blocks: new BlockRanges([[1, 2], [4, 5]]) })))
    const fitted = fitHaveSummary({ ...summary, files: many }, 1024)
    assert.ok(haveSummaryLength(fitted) <= 1024)
    assert.deepEqual(decodeHaveSummary(encodeHaveSummary(fitted, { maxBytes: 1024 })).coordinate, summary.coordinate)
  })

  it('ignores a coordinate that is NaN, infinite, out of bounds or malformed, and keeps the rest of the message', async () => {
    const a = await root('kept')
    const file = (w: ReturnType<typeof writer>): void => { w.uint32(26); w.fork(); w.uint32(10); w.bytes(CID.parse(a).bytes); w.uint32(16); w.uint32(4); w.ldelim() }
    const bad: Array<[string, (w: ReturnType<typeof writer>) => void]> = [
      ['NaN', w => { coordinateField(w, [Number.NaN, 0, 1, 0.5]) }],
      ['Infinity', w => { coordinateField(w, [0, Number.POSITIVE_INFINITY, 1, 0.5]) }],
      ['huge', w => { coordinateField(w, [3e6, 0, 1, 0.5]) }],
      ['negative height', w => { coordinateField(w, [0, 0, -5, 0.5]) }],
      ['negative error', w => { coordinateField(w, [0, 0, 1, -0.5]) }],
      ['missing field', w => { w.uint32(42); w.fork(); w.uint32(13); w.float(1); w.ldelim() }],
      ['varint in place of a float', w => { w.uint32(42); w.fork(); w.uint32(8); w.uint32(3); w.uint32(21); w.float(1); w.uint32(29); w.float(1); w.uint32(37); w.float(1); w.ldelim() }],
      ['wrong wire type', w => { w.uint32(40); w.uint32(5) }]
    ]
    for (const [name, write] of bad) {
      const decoded = decodeHaveSummary(rawWith(w => { file(w); write(w); w.uint32(50); w.string('us') }))
      assert.equal(decoded.coordinate, undefined, name)
      assert.equal(decoded.region, 'us', name)
      assert.equal(decoded.files.length, 1, name)
    }
    // a coordinate whose length runs past the message is malformed, as any such field
    const w = writer()
    w.uint32(8); w.uint32(1); w.uint32(16); w.uint64Number(7); w.uint32(42); w.uint32(40); w.uint32(13); w.float(1)
    assert.throws(() => decodeHaveSummary(w.finish()), { name: 'HaveSummaryDecodeError', reason: 'malformed' })
  })

  it('ignores a region that is not a short label', () => {
    for (const region of ['EU', 'eu west', 'eu_west', '-eu', 'eu-', 'ünï', 'x'.repeat(33), '']) {
      const decoded = decodeHaveSummary(rawWith(w => { w.uint32(50); w.string(region) }))
      assert.equal(decoded.region, undefined, JSON.stringify(region))
      assert.equal(decoded.seq, 7)
    }
    const long = rawWith(w => { w.uint32(50); w.bytes(new Uint8Array(5000).fill(97)) })
    assert.equal(decodeHaveSummary(long).region, undefined)
  })

  it('refuses to send a bad coordinate or region', () => {
    assert.throws(() => encodeHaveSummary({ seq: 1, files: [], coordinate: { x: Number.NaN, y: 0, height: 1, error: 1 } }), { name: 'InvalidAvailabilityArgumentError' })
    assert.throws(() => encodeHaveSummary({ seq: 1, files: [], region: 'Not a label' }), { name: 'InvalidAvailabilityArgumentError' })
  })
})
