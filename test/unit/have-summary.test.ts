import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { writer } from 'protons-runtime'
import { BlockRanges } from '../../src/content/availability/block-ranges.ts'
import {
  HAVE_SUMMARY_VERSION,
  decodeHaveSummary,
  encodeHaveSummary,
  fitHaveSummary,
  haveSummaryLength,
  haveTopic, isHaveTopic } from '../../src/content/availability/have-summary.ts'
import type { FileHave, HaveSummary } from '../../src/content/availability/have-summary.ts'

async function rootOf (text: string, codec = raw.code): Promise<CID> {
  return CID.createV1(codec, await sha256.digest(new TextEncoder().encode(text)))
}

async function roots (n: number, prefix = 'file'): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, async (_, i) => (await rootOf(`${prefix} ${i}`)).toString()))
}

function file (root: string, totalBlocks: number, ranges: Array<[number, number]>): FileHave {
  return { root, totalBlocks, blocks: new BlockRanges(ranges) }
}

/** Every block `fitted` claims is in `original`. */
function assertNoOverclaim (original: HaveSummary, fitted: HaveSummary): void {
  const byRoot = new Map(original.files.map(f => [f.root, f]))
  for (const f of fitted.files) {
    const o = byRoot.get(f.root)
    assert.ok(o != null, `fitted summary invents file ${f.root}`)
    assert.equal(f.totalBlocks, o.totalBlocks)
    assert.ok(o.blocks.covers(f.blocks), `fitted ${f.blocks.toString()} is not within ${o.blocks.toString()}`)
  }
}

/** Builds raw protobuf bytes for malformed-input tests. */
interface RawFile { root?: Uint8Array, blocks?: number, ranges?: number[], unpacked?: boolean, extra?: boolean }
function rawSummary (fields: { version?: number, seq?: number, files?: RawFile[], extra?: boolean }): Uint8Array {
  const w = writer()
  if (fields.version != null) { w.uint32(8); w.uint32(fields.version) }
  if (fields.seq != null) { w.uint32(16); w.uint64Number(fields.seq) }
  for (const f of fields.files ?? []) {
    w.uint32(26)
    w.fork()
    if (f.root != null) { w.uint32(10); w.bytes(f.root) }
    if (f.blocks != null) { w.uint32(16); w.uint32(f.blocks) }
    if (f.ranges != null && f.unpacked === true) {
      for (const v of f.ranges) { w.uint32(24); w.uint32(v) }
    } else if (f.ranges != null) {
      w.uint32(26); w.fork()
      for (const v of f.ranges) w.uint32(v)
      w.ldelim()
    }
    if (f.extra === true) { w.uint32(90); w.string('from the future') }
    w.ldelim()
  }
  if (fields.extra === true) { w.uint32(800); w.uint32(7) }
  return w.finish()
}

describe('have summary', () => {
  it('names the topic after the site', () => {
    assert.equal(haveTopic('bsite'), 'swarmsite/bsite/have/1')
    assert.equal(HAVE_SUMMARY_VERSION, 1)
  })

  it('carries the files a peer downloads and the blocks it fetches from the origin, and old readers skip them', async () => {
    const [a, b] = await roots(2, 'download')
    const summary: HaveSummary = {
      seq: 42,
      files: [file(a!, 10, [[0, 2]])],
      downloads: [
        { root: a!, totalBlocks: 10, fetching: new BlockRanges([[3, 5], [7, 8]]) },
        { root: b!, totalBlocks: 64, fetching: new BlockRanges() }
      ]
    }
    const bytes = encodeHaveSummary(summary)
    assert.equal(bytes.byteLength, haveSummaryLength(summary), 'haveSummaryLength counts the downloads')
    const decoded = decodeHaveSummary(bytes)
    assert.equal(decoded.downloads?.length, 2)
    assert.deepEqual(decoded.downloads![0]!.fetching.toJSON(), [[3, 5], [7, 8]])
    assert.equal(decoded.downloads![1]!.fetching.isEmpty, true)
    assert.equal(decoded.downloads![1]!.totalBlocks, 64)
    assert.deepEqual(decoded.files[0]!.blocks.toJSON(), [[0, 2]])
    // a summary with nothing held still says who downloads what (and decodes without a files entry)
    const only = decodeHaveSummary(encodeHaveSummary({ seq: 1, files: [], downloads: [{ root: b!, totalBlocks: 64, fetching: new BlockRanges([[0, 1]]) }] }))
    assert.equal(only.files.length, 0)
    assert.deepEqual(only.downloads![0]!.fetching.toJSON(), [[0, 1]])
    // bad input is refused with a reason, as for files
    assert.throws(() => encodeHaveSummary({ seq: 1, files: [], downloads: [{ root: b!, totalBlocks: 2, fetching: new BlockRanges([[0, 3]]) }] }), { name: 'InvalidAvailabilityArgumentError' })
    const w = writer()
    w.uint32(8); w.uint32(1); w.uint32(16); w.uint64Number(1)
    w.uint32(34); w.fork(); w.uint32(10); w.bytes(CID.parse(b!).bytes); w.uint32(16); w.uint32(4); w.uint32(26); w.fork(); w.uint32(2); w.uint32(5); w.ldelim(); w.ldelim()
    assert.throws(() => decodeHaveSummary(w.finish()), { name: 'HaveSummaryDecodeError', reason: 'bad-ranges' })
    // coarsening keeps the downloads first
    const fitted = fitHaveSummary({ ...summary, files: [file(a!, 10, [[0, 2]]), ...(await roots(400, 'filler')).map(r => file(r, 9, [[1, 2], [4, 5]]))] }, 1024)
    assert.equal(fitted.downloads?.length, 2)
    assert.ok(haveSummaryLength(fitted) <= 1024)
  })

  it('round-trips files, ranges, complete files and seq', async () => {
    const [a, b, c] = await roots(3)
    const v0 = CID.createV0(await sha256.digest(new TextEncoder().encode('v0 root'))).toString()
    const summary: HaveSummary = {
      seq: Date.now(),
      files: [
        file(a!, 10, [[0, 10]]),
        file(b!, 1000, [[0, 3], [10, 11], [500, 999]]),
        file(c!, 1, [[0, 1]]),
        file(v0, 4, [[1, 3]])
      ]
    }
    const bytes = encodeHaveSummary(summary)
    assert.equal(bytes.byteLength, haveSummaryLength(summary), 'haveSummaryLength is exact')
    const decoded = decodeHaveSummary(bytes)
    assert.equal(decoded.seq, summary.seq)
    assert.equal(decoded.files.length, 4)
    for (const [i, f] of decoded.files.entries()) {
      assert.equal(f.root, summary.files[i]!.root)
      assert.equal(f.totalBlocks, summary.files[i]!.totalBlocks)
      assert.deepEqual(f.blocks.toJSON(), summary.files[i]!.blocks.toJSON())
    }
    assert.ok(decoded.files[3]!.root.startsWith('Qm'), 'a CIDv0 root comes back in its canonical base58 form')
  })

  it('is compact: a complete file costs its binary CID plus a few bytes', async () => {
    const [a] = await roots(1)
    const bytes = encodeHaveSummary({ seq: 1, files: [file(a!, 500, [[0, 500]])] })
    // header 4 + entry (2 + 2 + 36 + 3)
    assert.ok(bytes.byteLength <= 50, `${bytes.byteLength} bytes`)
  })

  it('leaves out files with no blocks, and encodes an empty summary', async () => {
    const [a] = await roots(1)
    const decoded = decodeHaveSummary(encodeHaveSummary({ seq: 3, files: [file(a!, 5, [])] }))
    assert.deepEqual(decoded, { seq: 3, files: [] })
  })

  it('normalises a root given in another base to the canonical string', async () => {
    const cid = await rootOf('other base')
    const decoded = decodeHaveSummary(encodeHaveSummary({ seq: 1, files: [file(cid.toString(await import('multiformats/bases/base58').then(m => m.base58btc)), 2, [[0, 1]])] }))
    assert.equal(decoded.files[0]!.root, cid.toString())
  })

  it('refuses to encode a bad root, block count or seq', async () => {
    const [a] = await roots(1)
    assert.throws(() => encodeHaveSummary({ seq: 1, files: [file('not a cid', 2, [[0, 1]])] }), { name: 'InvalidAvailabilityArgumentError' })
    assert.throws(() => encodeHaveSummary({ seq: 1, files: [file(a!, 2, [[0, 3]])] }), { name: 'InvalidAvailabilityArgumentError' })
    assert.throws(() => encodeHaveSummary({ seq: 1, files: [file(a!, 0, [[0, 1]])] }), { name: 'InvalidAvailabilityArgumentError' })
    assert.throws(() => encodeHaveSummary({ seq: -1, files: [] }), { name: 'InvalidAvailabilityArgumentError' })
  })

  describe('coarsening under maxBytes', () => {
    it('leaves a summary that fits alone', async () => {
      const rs = await roots(5)
      const summary: HaveSummary = { seq: 1, files: rs.map((r, i) => file(r, 100, [[0, 10 + i]])) }
      assert.equal(fitHaveSummary(summary, 16_384).files.length, 5)
    })

    it('keeps complete files first, then the partial files with the fewest ranges', async () => {
      const complete = await roots(100, 'complete')
      const partial = await roots(100, 'partial')
      const summary: HaveSummary = {
        seq: 1,
        files: [
          // interleave so order in the input does not decide
          ...partial.map((r, i) => file(r, 1000, Array.from({ length: 1 + (i % 20) }, (_, k) => [k * 10, k * 10 + 5] as [number, number]))),
          ...complete.map(r => file(r, 1000, [[0, 1000]]))
        ]
      }
      const maxBytes = 6000
      assert.ok(haveSummaryLength(summary) > maxBytes)
      const bytes = encodeHaveSummary(summary, { maxBytes })
      assert.ok(bytes.byteLength <= maxBytes, `${bytes.byteLength} > ${maxBytes}`)
      const decoded = decodeHaveSummary(bytes)
      assertNoOverclaim(summary, decoded)
      const kept = new Set(decoded.files.map(f => f.root))
      for (const r of complete) assert.ok(kept.has(r), 'every complete file fits and is kept')
      const keptPartial = decoded.files.filter(f => !f.blocks.isComplete(f.totalBlocks))
      assert.ok(keptPartial.length > 0 && keptPartial.length < 100)
      // no kept partial file has more ranges than a whole partial file that was dropped
      const dropped = summary.files.filter(f => !kept.has(f.root))
      const maxKeptWhole = Math.max(...keptPartial.filter(f => summary.files.find(o => o.root === f.root)!.blocks.equals(f.blocks)).map(f => f.blocks.rangeCount))
      const minDropped = Math.min(...dropped.map(f => f.blocks.rangeCount))
      assert.ok(maxKeptWhole <= minDropped, `kept a file with ${maxKeptWhole} ranges but dropped one with ${minDropped}`)
    })

    it('truncates a file with too many ranges to its longest ranges', async () => {
      const [a] = await roots(1)
      // 4000 ranges of length 1, and three long ones
      const ranges: Array<[number, number]> = Array.from({ length: 4000 }, (_, k) => [k * 2, k * 2 + 1])
      ranges.push([10_000, 10_500], [20_000, 20_300], [30_000, 30_100])
      const summary: HaveSummary = { seq: 9, files: [file(a!, 40_000, ranges)] }
      const maxBytes = 512
      const bytes = encodeHaveSummary(summary, { maxBytes })
      assert.ok(bytes.byteLength <= maxBytes, `${bytes.byteLength} bytes`)
      const decoded = decodeHaveSummary(bytes)
      assertNoOverclaim(summary, decoded)
      const blocks = decoded.files[0]!.blocks
      for (const i of [10_000, 10_499, 20_000, 30_099]) assert.ok(blocks.has(i), `long range holding ${i} kept`)
      assert.ok(blocks.rangeCount > 3 && blocks.rangeCount < 4003)
    })

    it('stays within the 16 KiB default for a huge summary and never claims more', async () => {
      const rs = await roots(600)
      const summary: HaveSummary = {
        seq: Date.now(),
        files: rs.map((r, i) => i % 3 === 0
          ? file(r, 50, [[0, 50]])
          : file(r, 5000, Array.from({ length: 1 + (i % 40) }, (_, k) => [k * 100, k * 100 + 1 + (i % 7)] as [number, number])))
      }
      const bytes = encodeHaveSummary(summary)
      assert.ok(bytes.byteLength <= 16_384, `${bytes.byteLength} bytes`)
      const decoded = decodeHaveSummary(bytes)
      assertNoOverclaim(summary, decoded)
      assert.equal(decoded.files.filter(f => f.blocks.isComplete(f.totalBlocks)).length, 200, 'all complete files kept')
    })
  })

  describe('decoding malformed input', () => {
    const reasonOf = (bytes: Uint8Array, limits = {}): string => {
      try {
        decodeHaveSummary(bytes, limits)
      } catch (err: any) {
        assert.equal(err.name, 'HaveSummaryDecodeError')
        return err.reason
      }
      assert.fail('decoded without error')
    }

    it('garbage and truncated messages are malformed, never another error', async () => {
      const [a] = await roots(1)
      const good = encodeHaveSummary({ seq: 5, files: [file(a!, 10, [[0, 3], [5, 6]])] })
      assert.equal(reasonOf(new Uint8Array([0xff, 0xff, 0xff])), 'malformed')
      assert.equal(reasonOf(new Uint8Array([0x0f])), 'malformed', 'wire type 7')
      // a cut at a field boundary is a shorter valid summary; anywhere else a decode error
      let valid = 0
      for (let cut = 1; cut < good.byteLength; cut++) {
        try {
          const partial = decodeHaveSummary(good.subarray(0, cut))
          assert.equal(partial.files.length, 0, `cut at ${cut} decoded a file`)
          valid++
        } catch (err: any) {
          assert.equal(err.name, 'HaveSummaryDecodeError', `cut at ${cut}: ${err.stack}`)
        }
      }
      assert.equal(valid, 2, 'after the version field and after the seq field')
      let seed = 7
      for (let n = 0; n < 2000; n++) {
        const bytes = new Uint8Array(1 + (n % 64)).map(() => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed & 0xff })
        try { decodeHaveSummary(bytes) } catch (err: any) { assert.equal(err.name, 'HaveSummaryDecodeError', `${err.stack}`) }
      }
    })

    it('a wrong or missing version is unsupported', () => {
      assert.equal(reasonOf(rawSummary({ version: 2, seq: 1 })), 'unsupported-version')
      assert.equal(reasonOf(rawSummary({ seq: 1 })), 'unsupported-version')
      assert.equal(reasonOf(new Uint8Array(0)), 'unsupported-version')
    })

    it('an oversized message is refused before decoding', () => {
      assert.equal(reasonOf(new Uint8Array(16_385)), 'oversized')
      assert.equal(reasonOf(rawSummary({ version: 1, seq: 1 }), { maxBytes: 2 }), 'oversized')
    })

    it('roots must be distinct binary CIDs', async () => {
      const root = (await rootOf('x')).bytes
      assert.equal(reasonOf(rawSummary({ version: 1, files: [{ root: new Uint8Array([1, 2, 3]), blocks: 1 }] })), 'bad-root')
      assert.equal(reasonOf(rawSummary({ version: 1, files: [{ blocks: 1 }] })), 'bad-root')
      assert.equal(reasonOf(rawSummary({ version: 1, files: [{ root: new Uint8Array([...root, 0]), blocks: 1 }] })), 'bad-root', 'trailing bytes')
      assert.equal(reasonOf(rawSummary({ version: 1, files: [{ root, blocks: 1 }, { root, blocks: 1 }] })), 'duplicate-root')
    })

    it('block counts and indices must be in range', async () => {
      const root = (await rootOf('y')).bytes
      assert.equal(reasonOf(rawSummary({ version: 1, files: [{ root, blocks: 0 }] })), 'bad-total')
      assert.equal(reasonOf(rawSummary({ version: 1, files: [{ root, blocks: 2 ** 21 }] })), 'bad-total')
      assert.equal(reasonOf(rawSummary({ version: 1, files: [{ root, blocks: 10, ranges: [5, 6] }] })), 'bad-ranges', 'end past blocks')
      assert.equal(reasonOf(rawSummary({ version: 1, files: [{ root, blocks: 10, ranges: [0, 2, 0, 2] }] })), 'bad-ranges', 'touching')
      assert.equal(reasonOf(rawSummary({ version: 1, files: [{ root, blocks: 10, ranges: [0, 0] }] })), 'bad-ranges', 'empty range')
      assert.equal(reasonOf(rawSummary({ version: 1, files: [{ root, blocks: 10, ranges: [1] }] })), 'bad-ranges', 'odd count')
      assert.equal(reasonOf(rawSummary({ version: 1, files: [{ root, blocks: 10, ranges: [0xffff_ffff, 1] }] })), 'bad-ranges', 'huge start')
    })

    it('too many files or ranges are refused', async () => {
      const rs = await Promise.all([0, 1, 2].map(async i => (await rootOf(`z${i}`)).bytes))
      const three = rawSummary({ version: 1, files: rs.map(root => ({ root, blocks: 100, ranges: [0, 1, 1, 1, 1, 1] })) })
      assert.equal(reasonOf(three, { maxFiles: 2 }), 'too-many-files')
      assert.equal(reasonOf(three, { maxRanges: 8 }), 'too-many-ranges', 'over all files')
      assert.equal(reasonOf(three, { maxRanges: 2 }), 'too-many-ranges', 'within one file')
      assert.equal(decodeHaveSummary(three, { maxFiles: 3, maxRanges: 9 }).files.length, 3)
    })

    it('skips unknown fields and accepts unpacked ranges', async () => {
      const root = (await rootOf('w')).bytes
      const decoded = decodeHaveSummary(rawSummary({ version: 1, seq: 4, extra: true, files: [{ root, blocks: 10, ranges: [2, 3], unpacked: true, extra: true }] }))
      assert.equal(decoded.seq, 4)
      assert.deepEqual(decoded.files[0]!.blocks.toJSON(), [[2, 5]])
    })

    it('a dag-pb (CIDv1) root is accepted like any CID', async () => {
      const root = await rootOf('pb', dagPb.code)
      const decoded = decodeHaveSummary(rawSummary({ version: 1, files: [{ root: root.bytes, blocks: 3 }] }))
      assert.equal(decoded.files[0]!.root, root.toString())
      assert.ok(decoded.files[0]!.blocks.isComplete(3), 'no ranges means the whole file')
    })
  })

  it('tells a have topic from a site\'s other topics', () => {
    assert.equal(isHaveTopic(haveTopic('abc')), true)
    assert.equal(isHaveTopic('swarmsite/mesh-test'), false)
    assert.equal(isHaveTopic('swarmsite//have/1'), false)
    assert.equal(isHaveTopic('other/abc/have/1'), false)
  })
})
