/**
 * The "have" summary: which files, and which of their leaf blocks, a peer holds. One is
 * published on the site's gossipsub topic `swarmsite/<siteId>/have/1` (gossipsub signs it;
 * the signer is the holder) and replaces the sender's previous one.
 *
 * Wire format, version 1: protobuf, encoded by the hand-written protons-runtime codec below.
 *
 * ```proto
 * syntax = "proto3";
 * message HaveSummary {
 *   uint32 version = 1;         // 1; readers ignore any other version (and a missing one)
 *   uint64 seq = 2;             // sender's counter, strictly increasing; older or equal ones are dropped
 *   repeated FileHave files = 3;
 *   repeated FileDownload downloads = 4;
 *   Coordinate coordinate = 5;  // the sender's network coordinate (added in place; optional)
 *   string region = 6;          // the sender's region hint (added in place; optional)
 * }
 * message Coordinate {           // Vivaldi, ms (src/content/locality/vivaldi.ts)
 *   float x = 1;
 *   float y = 2;
 *   float height = 3;
 *   float error = 4;
 * }
 * message FileHave {
 *   bytes root = 1;             // binary CID of the file's root (the manifest's `root`, decoded)
 *   uint32 blocks = 2;          // the file's leaf block count, 1 ≤ blocks ≤ 1 Mi
 *   repeated uint32 ranges = 3 [packed = true];
 *                               // blocks held, as start0, len0, gap1, len1, … (gapN = startN - endN-1);
 *                               // lengths and later gaps ≥ 1, every index < blocks;
 *                               // empty = the whole file ([0, blocks))
 * }
 * message FileDownload {         // a file the sender is downloading now (added in place: old readers skip it)
 *   bytes root = 1;
 *   uint32 blocks = 2;
 *   repeated uint32 fetching = 3 [packed = true];
 *                               // blocks it is fetching from the origin right now, coded as `ranges`;
 *                               // empty = none (it takes them from peers)
 * }
 * ```
 * `coordinate` and `region` let receivers rank holders by distance (src/content/locality):
 * a coordinate that is not finite and within bounds, or a region that is not a valid label,
 * is ignored (the field, not the message), so a broken peer can't fling our own coordinate.
 * `downloads` tells the swarm who else is after a file and which blocks are already on their way
 * from the origin, so that visitors starting together split the origin's work between them
 * instead of all fetching the same blocks (see src/content/fetch/origin-planner.ts).
 * Files are identified by root CID, which stays the same across manifest versions for the
 * same bytes; a file a peer holds nothing of is left out. Unknown fields are skipped, so
 * version 1 can grow optional fields; anything incompatible takes version 2 and a new topic.
 *
 * Why protobuf and not JSON: the message is mostly numbers and CIDs. Binary CIDs are 36
 * bytes where their base32 text is 59, and delta-coded range bounds are one or two varint
 * bytes each where JSON spends three to eight, so a 16 KiB message describes about twice as
 * many files. protobuf is what libp2p and gossipsub already speak, is skipping-friendly for
 * unknown fields, and protons-runtime is already a dependency; the codec is small enough to
 * hand-write, and writing it by hand lets the decoder check limits while it reads.
 *
 * Receivers check, and ignore the whole message on any failure: total size, version, that
 * every root is a CID and appears once, block counts, range canonicity and bounds, and the
 * number of files and ranges (`HaveSummaryLimits`).
 *
 * A summary larger than the sender's byte budget is coarsened, never refused: complete files
 * first (cheap, and the most useful), then partial files with the fewest ranges; a partial
 * file that does not fit whole keeps its longest ranges that do. A coarsened summary only
 * ever claims less than the truth, never more.
 */
import { CID } from 'multiformats/cid'
import { decodeMessage, encodeMessage, message } from 'protons-runtime'
import {
  DEFAULT_HAVE_MAX_BLOCKS_PER_FILE,
  DEFAULT_HAVE_MAX_FILES,
  DEFAULT_HAVE_MAX_MESSAGE_BYTES,
  DEFAULT_HAVE_MAX_RANGES,
  DEFAULT_HAVE_TOPIC_PREFIX
} from '../constants.ts'
import { HaveSummaryDecodeError, InvalidAvailabilityArgumentError, InvalidBlockRangesError } from '../errors.ts'
import { REGION_MAX_LENGTH } from '../locality/constants.ts'
import { isRegion } from '../locality/region.ts'
import { validCoordinate } from '../locality/vivaldi.ts'
import { BlockRanges } from './block-ranges.ts'
import type { Coordinate } from '../locality/vivaldi.ts'
import type { Codec, Reader } from 'protons-runtime'

/** Wire format version written by `encodeHaveSummary` and accepted by `decodeHaveSummary`. */
export const HAVE_SUMMARY_VERSION = 1

/** The gossipsub topic of a site's "have" summaries: `swarmsite/<siteId>/have/1`. */
export function haveTopic (siteId: string): string {
  return `${DEFAULT_HAVE_TOPIC_PREFIX}${siteId}/have/${HAVE_SUMMARY_VERSION}`
}

/** Whether `topic` is a site's have topic (`haveTopic` of some site id): where summaries, and only they, travel. */
export function isHaveTopic (topic: string): boolean {
  const suffix = `/have/${HAVE_SUMMARY_VERSION}`
  return topic.startsWith(DEFAULT_HAVE_TOPIC_PREFIX) && topic.endsWith(suffix) && topic.length > DEFAULT_HAVE_TOPIC_PREFIX.length + suffix.length
}

export interface FileHave {
  /** Root CID string; decoded summaries give its canonical `CID.toString()` form. */
  root: string
  /** The file's leaf block count. */
  totalBlocks: number
  /** Blocks held, all below `totalBlocks`; `[0, totalBlocks)` for a complete file. */
  blocks: BlockRanges
}

/** A file the sender is downloading, and the blocks it is fetching from the origin now. */
export interface FileDownloading {
  root: string
  totalBlocks: number
  /** Blocks on their way from the origin to the sender (may be empty). */
  fetching: BlockRanges
}

export interface HaveSummary {
  /** Sender's counter: a receiver keeps a peer's summary with the highest `seq`. */
  seq: number
  files: FileHave[]
  /** Files the sender is downloading now; absent or empty when none. */
  downloads?: FileDownloading[]
  /** The sender's network coordinate; decoded only when valid (see `validCoordinate`). */
  coordinate?: Coordinate
  /** The sender's region hint; decoded only when a valid label (see `isRegion`). */
  region?: string
}

export interface HaveSummaryLimits {
  /** Largest message accepted, bytes. */
  maxBytes?: number
  /** Most files in one message. */
  maxFiles?: number
  /** Most ranges in one message, over all its files. */
  maxRanges?: number
  /** Largest `blocks` count of a file. */
  maxBlocksPerFile?: number
}

// ---------------------------------------------------------------------------------------
// protobuf codec (hand-written, protons-runtime style)

interface WireFileHave {
  root: Uint8Array
  blocks: number
  ranges: number[]
}

interface WireHaveSummary {
  version: number
  seq: number
  files: WireFileHave[]
  downloads: WireFileHave[]
  coordinate?: Coordinate
  region?: string
}

const VARINT = 0
const LENGTH_DELIMITED = 2
const FIXED32 = 5

/** A Coordinate message's encoded body: four floats, each a tag byte and 4 bytes. */
const COORDINATE_BODY_BYTES = 4 * 5

/**
 * Reads a Coordinate message; undefined when any field is not a float or the values are not a
 * valid coordinate (the caller then ignores it). Never reads past `end`.
 */
function readCoordinate (reader: Reader, length: number): Coordinate | undefined {
  const end = reader.pos + length
  if (end > reader.len) fail('malformed', 'a coordinate runs past the end of the message')
  const c: Record<string, number> = {}
  let ok = true
  while (reader.pos < end) {
    const tag = reader.uint32()
    const field = tag >>> 3
    if ((tag & 7) === FIXED32 && field >= 1 && field <= 4) {
      c[['x', 'y', 'height', 'error'][field - 1]!] = reader.float()
    } else {
      ok = false
      reader.skipType(tag & 7)
    }
  }
  if (reader.pos !== end) fail('malformed', 'a field crosses the end of the coordinate')
  return ok ? validCoordinate(c) : undefined
}

/** Fails decoding with a stable reason; thrown from inside the codec, caught by decodeHaveSummary. */
function fail (reason: string, text: string): never {
  throw new HaveSummaryDecodeError(reason, text)
}

function readPackedOrSingle (reader: Reader, wireType: number, into: number[], max: number): void {
  if (wireType === VARINT) {
    into.push(reader.uint32())
  } else if (wireType === LENGTH_DELIMITED) {
    const length = reader.uint32()
    const end = reader.pos + length
    if (end > reader.len) fail('malformed', 'packed ranges run past the end of the message')
    while (reader.pos < end) {
      if (into.length >= max) fail('too-many-ranges', `a file lists more than ${max / 2} ranges`)
      into.push(reader.uint32())
    }
    if (reader.pos !== end) fail('malformed', 'a packed range value crosses the end of its field')
  } else {
    fail('malformed', `ranges have wire type ${wireType}`)
  }
  if (into.length > max) fail('too-many-ranges', `a file lists more than ${max / 2} ranges`)
}

function fileHaveCodec (maxDeltas: number): Codec<WireFileHave> {
  return message<WireFileHave>((obj, w, opts = {}) => {
    if (opts.lengthDelimited !== false) w.fork()
    if (obj.root != null) { w.uint32(10); w.bytes(obj.root) }
    if (obj.blocks != null) { w.uint32(16); w.uint32(obj.blocks) }
    if (obj.ranges != null && obj.ranges.length > 0) {
      w.uint32(26)
      w.fork()
      for (const v of obj.ranges) w.uint32(v)
      w.ldelim()
    }
    if (opts.lengthDelimited !== false) w.ldelim()
  }, (reader, length) => {
    const obj: WireFileHave = { root: new Uint8Array(0), blocks: 0, ranges: [] }
    const end = length == null ? reader.len : reader.pos + length
    if (end > reader.len) fail('malformed', 'a file entry runs past the end of the message')
    while (reader.pos < end) {
      const tag = reader.uint32()
      switch (tag >>> 3) {
        case 1: obj.root = reader.bytes(); break
        case 2: obj.blocks = reader.uint32(); break
        case 3: readPackedOrSingle(reader, tag & 7, obj.ranges, maxDeltas); break
        default: reader.skipType(tag & 7)
      }
    }
    if (reader.pos !== end) fail('malformed', 'a field crosses the end of its file entry')
    return obj
  })
}

function haveSummaryCodec (limits: Required<HaveSummaryLimits>): Codec<WireHaveSummary> {
  const file = fileHaveCodec(2 * limits.maxRanges)
  return message<WireHaveSummary>((obj, w) => {
    w.uint32(8); w.uint32(obj.version ?? HAVE_SUMMARY_VERSION)
    w.uint32(16); w.uint64Number(obj.seq ?? 0)
    for (const f of obj.files ?? []) { w.uint32(26); file.encode(f, w) }
    for (const d of obj.downloads ?? []) { w.uint32(34); file.encode(d, w) }
    if (obj.coordinate != null) {
      w.uint32(42); w.uint32(COORDINATE_BODY_BYTES)
      w.uint32(13); w.float(obj.coordinate.x)
      w.uint32(21); w.float(obj.coordinate.y)
      w.uint32(29); w.float(obj.coordinate.height)
      w.uint32(37); w.float(obj.coordinate.error)
    }
    if (obj.region != null) { w.uint32(50); w.string(obj.region) }
  }, (reader, length) => {
    const obj: WireHaveSummary = { version: 0, seq: 0, files: [], downloads: [] }
    const end = length == null ? reader.len : reader.pos + length
    while (reader.pos < end) {
      const tag = reader.uint32()
      switch (tag >>> 3) {
        case 1:
          obj.version = reader.uint32()
          // our encoder writes the version first, so a foreign version stops here
          if (obj.version !== HAVE_SUMMARY_VERSION) fail('unsupported-version', `version ${obj.version} is not ${HAVE_SUMMARY_VERSION}`)
          break
        case 2: obj.seq = reader.uint64Number(); break
        case 3:
          if (obj.files.length >= limits.maxFiles) fail('too-many-files', `more than ${limits.maxFiles} files`)
          obj.files.push(file.decode(reader, reader.uint32()))
          break
        case 4:
          if (obj.downloads.length >= limits.maxFiles) fail('too-many-files', `more than ${limits.maxFiles} downloads`)
          obj.downloads.push(file.decode(reader, reader.uint32()))
          break
        case 5:
          // a bad coordinate is ignored, not the message: old and new senders stay heard
          if ((tag & 7) === LENGTH_DELIMITED) obj.coordinate = readCoordinate(reader, reader.uint32())
          else reader.skipType(tag & 7)
          break
        case 6: {
          if ((tag & 7) !== LENGTH_DELIMITED) { reader.skipType(tag & 7); break }
          const n = reader.uint32()
          if (reader.pos + n > reader.len) fail('malformed', 'the region runs past the end of the message')
          // only ASCII labels are valid: anything longer than one is skipped unread
          const bytes = reader.buf.subarray(reader.pos, reader.pos + n)
          reader.pos += n
          const region = n <= REGION_MAX_LENGTH ? String.fromCharCode(...bytes) : undefined
          obj.region = isRegion(region) ? region : undefined
          break
        }
        default: reader.skipType(tag & 7)
      }
    }
    if (reader.pos !== end) fail('malformed', 'a field crosses the end of the message')
    return obj
  })
}

// ---------------------------------------------------------------------------------------
// sizes, for coarsening without encoding over and over

function varintLength (value: number): number {
  let n = 1
  while (value >= 128) { value = Math.floor(value / 128); n++ }
  return n
}

function packedLength (deltas: readonly number[]): number {
  let n = 0
  for (const d of deltas) n += varintLength(d)
  return n
}

/** Bytes of one `files` entry, tag and length prefix included. */
function fileEntryLength (rootBytes: number, blocks: number, deltas: readonly number[]): number {
  const packed = packedLength(deltas)
  const body = 1 + varintLength(rootBytes) + rootBytes +
    1 + varintLength(blocks) +
    (deltas.length > 0 ? 1 + varintLength(packed) + packed : 0)
  return 1 + varintLength(body) + body
}

function headerLength (seq: number): number {
  return 1 + varintLength(HAVE_SUMMARY_VERSION) + 1 + varintLength(seq)
}

/** Bytes of the coordinate and region fields (never coarsened: small, and always sent whole). */
function localityLength (summary: Pick<HaveSummary, 'coordinate' | 'region'>): number {
  const region = summary.region != null ? new TextEncoder().encode(summary.region).length : -1
  return (summary.coordinate != null ? 2 + COORDINATE_BODY_BYTES : 0) + (region >= 0 ? 1 + varintLength(region) + region : 0)
}

/** The locality fields of a summary to send, checked: throws for a bad coordinate or region. */
function localityOf (summary: HaveSummary): Pick<HaveSummary, 'coordinate' | 'region'> {
  const out: Pick<HaveSummary, 'coordinate' | 'region'> = {}
  if (summary.coordinate != null) {
    const c = validCoordinate(summary.coordinate)
    if (c == null) throw new InvalidAvailabilityArgumentError(`coordinate is not valid: ${JSON.stringify(summary.coordinate)}`)
    out.coordinate = c
  }
  if (summary.region != null) {
    if (!isRegion(summary.region)) throw new InvalidAvailabilityArgumentError(`region must be a region label, got ${JSON.stringify(summary.region)}`)
    out.region = summary.region
  }
  return out
}

interface Prepared {
  file: FileHave
  root: Uint8Array
  complete: boolean
  deltas: number[]
  bytes: number
}

function prepare (file: FileHave): Prepared {
  let root: Uint8Array
  try { root = CID.parse(file.root).bytes } catch {
    throw new InvalidAvailabilityArgumentError(`file root must be a CID string, got ${JSON.stringify(file.root)}`)
  }
  if (!Number.isSafeInteger(file.totalBlocks) || file.totalBlocks < 1 || file.totalBlocks > 0xffff_ffff) {
    throw new InvalidAvailabilityArgumentError(`totalBlocks of ${file.root} must be a positive 32-bit integer, got ${String(file.totalBlocks)}`)
  }
  if (file.blocks.end > file.totalBlocks) {
    throw new InvalidAvailabilityArgumentError(`blocks of ${file.root} go past totalBlocks ${file.totalBlocks}`)
  }
  const complete = file.blocks.isComplete(file.totalBlocks)
  const deltas = complete ? [] : file.blocks.toDeltas()
  return { file, root, complete, deltas, bytes: fileEntryLength(root.length, file.totalBlocks, deltas) }
}

/** Encoded size of a summary in bytes, exactly. */
export function haveSummaryLength (summary: HaveSummary): number {
  let n = headerLength(summary.seq) + localityLength(summary)
  for (const file of summary.files) {
    if (!file.blocks.isEmpty) n += prepare(file).bytes
  }
  for (const download of summary.downloads ?? []) n += prepareDownload(download).bytes
  return n
}

interface PreparedDownload {
  download: FileDownloading
  root: Uint8Array
  deltas: number[]
  bytes: number
}

function prepareDownload (download: FileDownloading): PreparedDownload {
  const { root } = prepare({ root: download.root, totalBlocks: download.totalBlocks, blocks: new BlockRanges() })
  if (download.fetching.end > download.totalBlocks) {
    throw new InvalidAvailabilityArgumentError(`fetching blocks of ${download.root} go past totalBlocks ${download.totalBlocks}`)
  }
  const deltas = download.fetching.toDeltas()
  return { download, root, deltas, bytes: fileEntryLength(root.length, download.totalBlocks, deltas) }
}

/** Delta form of the first `k` of `ranges` (disjoint, not adjacent), in index order. */
function deltasOfFirst (ranges: Array<readonly [number, number]>, k: number): number[] {
  const chosen = ranges.slice(0, k).sort((a, b) => a[0] - b[0])
  const deltas: number[] = []
  let prevEnd = 0
  for (const [s, e] of chosen) {
    deltas.push(s - prevEnd, e - s)
    prevEnd = e
  }
  return deltas
}

/**
 * A summary that encodes to at most `maxBytes`: the same one when it fits, otherwise a
 * coarsened copy (complete files first, then partial files with the fewest ranges; a
 * partial file that does not fit whole keeps its longest ranges that fit). Files with no
 * blocks are left out. Never claims a block `summary` does not.
 */
export function fitHaveSummary (summary: HaveSummary, maxBytes: number = DEFAULT_HAVE_MAX_MESSAGE_BYTES): HaveSummary {
  const prepared = summary.files.filter(f => !f.blocks.isEmpty).map(prepare)
  const locality = localityOf(summary)
  let budget = maxBytes - headerLength(summary.seq) - localityLength(locality)
  // downloads go first: they are few and small, and what they say is only true for seconds;
  // one that does not fit keeps its entry without the fetching ranges, or is left out
  const downloads: FileDownloading[] = []
  for (const d of (summary.downloads ?? []).map(prepareDownload)) {
    if (d.bytes <= budget) {
      downloads.push(d.download)
      budget -= d.bytes
      continue
    }
    const bare = fileEntryLength(d.root.length, d.download.totalBlocks, [])
    if (bare <= budget) {
      downloads.push({ root: d.download.root, totalBlocks: d.download.totalBlocks, fetching: new BlockRanges() })
      budget -= bare
    }
  }
  const withDownloads = (fitted: HaveSummary): HaveSummary => ({ ...fitted, ...(downloads.length > 0 ? { downloads } : {}), ...locality })
  const total = prepared.reduce((n, p) => n + p.bytes, 0)
  if (total <= budget) return withDownloads({ seq: summary.seq, files: prepared.map(p => p.file) })

  const order = prepared.map((p, i) => ({ p, i })).sort((a, b) =>
    Number(b.p.complete) - Number(a.p.complete) ||
    a.p.file.blocks.rangeCount - b.p.file.blocks.rangeCount ||
    b.p.file.blocks.count - a.p.file.blocks.count ||
    a.i - b.i)
  const kept: Array<{ i: number, file: FileHave }> = []
  for (const { p, i } of order) {
    if (p.bytes <= budget) {
      kept.push({ i, file: p.file })
      budget -= p.bytes
      continue
    }
    if (p.complete) continue
    // size grows with every range added, so search for the most longest ranges that fit
    const byLength = [...p.file.blocks.ranges()].sort((a, b) => (b[1] - b[0]) - (a[1] - a[0]) || a[0] - b[0])
    const sizeOf = (k: number): number => fileEntryLength(p.root.length, p.file.totalBlocks, deltasOfFirst(byLength, k))
    let lo = 0
    let hi = byLength.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (sizeOf(mid) <= budget) lo = mid
      else hi = mid - 1
    }
    if (lo === 0) continue
    const blocks = BlockRanges.fromDeltas(deltasOfFirst(byLength, lo))
    kept.push({ i, file: { root: p.file.root, totalBlocks: p.file.totalBlocks, blocks } })
    budget -= sizeOf(lo)
  }
  kept.sort((a, b) => a.i - b.i)
  return withDownloads({ seq: summary.seq, files: kept.map(k => k.file) })
}

/**
 * Encodes a summary, coarsened first if it would be over `maxBytes` (see `fitHaveSummary`).
 * Throws InvalidAvailabilityArgumentError for a root that is not a CID or a bad block count.
 */
export function encodeHaveSummary (summary: HaveSummary, options: { maxBytes?: number } = {}): Uint8Array {
  if (!Number.isSafeInteger(summary.seq) || summary.seq < 0) {
    throw new InvalidAvailabilityArgumentError(`seq must be a non-negative safe integer, got ${String(summary.seq)}`)
  }
  const fitted = fitHaveSummary(summary, options.maxBytes ?? DEFAULT_HAVE_MAX_MESSAGE_BYTES)
  const wire: WireHaveSummary = {
    version: HAVE_SUMMARY_VERSION,
    seq: fitted.seq,
    files: fitted.files.map(prepare).map(p => ({ root: p.root, blocks: p.file.totalBlocks, ranges: p.deltas })),
    downloads: (fitted.downloads ?? []).map(prepareDownload).map(d => ({ root: d.root, blocks: d.download.totalBlocks, ranges: d.deltas })),
    ...(fitted.coordinate != null ? { coordinate: fitted.coordinate } : {}),
    ...(fitted.region != null ? { region: fitted.region } : {})
  }
  return encodeMessage(wire, haveSummaryCodec(fullLimits({})))
}

function fullLimits (limits: HaveSummaryLimits): Required<HaveSummaryLimits> {
  return {
    maxBytes: limits.maxBytes ?? DEFAULT_HAVE_MAX_MESSAGE_BYTES,
    maxFiles: limits.maxFiles ?? DEFAULT_HAVE_MAX_FILES,
    maxRanges: limits.maxRanges ?? DEFAULT_HAVE_MAX_RANGES,
    maxBlocksPerFile: limits.maxBlocksPerFile ?? DEFAULT_HAVE_MAX_BLOCKS_PER_FILE
  }
}

/**
 * Decodes and checks a received summary. Throws HaveSummaryDecodeError (with a `reason`)
 * for anything that is not a valid version-1 summary within `limits`; never anything else.
 */
export function decodeHaveSummary (bytes: Uint8Array, limits: HaveSummaryLimits = {}): HaveSummary {
  const l = fullLimits(limits)
  if (!(bytes instanceof Uint8Array)) fail('malformed', 'a summary must be bytes')
  if (bytes.byteLength > l.maxBytes) fail('oversized', `${bytes.byteLength} bytes > ${l.maxBytes}`)
  let wire: WireHaveSummary
  try {
    wire = decodeMessage(bytes, haveSummaryCodec(l))
  } catch (err: any) {
    if (err instanceof HaveSummaryDecodeError) throw err
    throw new HaveSummaryDecodeError('malformed', `not a protobuf summary: ${String(err?.message ?? err)}`, { cause: err })
  }
  if (wire.version !== HAVE_SUMMARY_VERSION) fail('unsupported-version', `version ${wire.version} is not ${HAVE_SUMMARY_VERSION}`)
  if (!Number.isSafeInteger(wire.seq)) fail('malformed', 'seq is too large')
  const files: FileHave[] = []
  const roots = new Set<string>()
  let ranges = 0
  for (const f of wire.files) {
    let root: string
    try { root = CID.decode(f.root).toString() } catch { fail('bad-root', 'a file root is not a binary CID') }
    if (roots.has(root)) fail('duplicate-root', `file ${root} is listed twice`)
    roots.add(root)
    if (f.blocks < 1 || f.blocks > l.maxBlocksPerFile) fail('bad-total', `file ${root} has ${f.blocks} blocks (1..${l.maxBlocksPerFile})`)
    let blocks: BlockRanges
    if (f.ranges.length === 0) {
      blocks = new BlockRanges([[0, f.blocks]])
    } else {
      try {
        blocks = BlockRanges.fromDeltas(f.ranges, { limit: f.blocks })
      } catch (err: any) {
        fail('bad-ranges', `file ${root}: ${err instanceof InvalidBlockRangesError ? err.message : String(err)}`)
      }
    }
    ranges += blocks.rangeCount
    if (ranges > l.maxRanges) fail('too-many-ranges', `more than ${l.maxRanges} ranges`)
    files.push({ root, totalBlocks: f.blocks, blocks })
  }
  const downloads: FileDownloading[] = []
  const downloadRoots = new Set<string>()
  for (const d of wire.downloads) {
    let root: string
    try { root = CID.decode(d.root).toString() } catch { fail('bad-root', 'a download root is not a binary CID') }
    if (downloadRoots.has(root)) fail('duplicate-root', `download ${root} is listed twice`)
    downloadRoots.add(root)
    if (d.blocks < 1 || d.blocks > l.maxBlocksPerFile) fail('bad-total', `download ${root} has ${d.blocks} blocks (1..${l.maxBlocksPerFile})`)
    let fetching: BlockRanges
    try {
      fetching = BlockRanges.fromDeltas(d.ranges, { limit: d.blocks })
    } catch (err: any) {
      fail('bad-ranges', `download ${root}: ${err instanceof InvalidBlockRangesError ? err.message : String(err)}`)
    }
    ranges += fetching.rangeCount
    if (ranges > l.maxRanges) fail('too-many-ranges', `more than ${l.maxRanges} ranges`)
    downloads.push({ root, totalBlocks: d.blocks, fetching })
  }
  return {
    seq: wire.seq,
    files,
    ...(downloads.length > 0 ? { downloads } : {}),
    ...(wire.coordinate != null ? { coordinate: wire.coordinate } : {}),
    ...(wire.region != null ? { region: wire.region } : {})
  }
}
