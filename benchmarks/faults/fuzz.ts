/**
 * Fault scenario "fuzz": random and mutated block-protocol messages and have-summaries, first
 * through the decoders (every rejection must be the named error), then sent over real libp2p
 * streams and gossipsub at one real node, which must stay up, keep its memory bounded and still
 * serve an honest peer afterwards; mutated manifests at `parseManifest` / `acceptManifest`, and
 * mutated `swarmsite build` inputs (arguments, the manifest it replaces, the page it injects
 * into) at the build command. Everything is drawn from a seeded PRNG: a seed replays a run.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { lpStream } from '@libp2p/utils'
import { CID } from 'multiformats/cid'
import { Uint8ArrayList } from 'uint8arraylist'
import { buildCommand } from '../../src/cli/build.ts'
import { UsageError } from '../../src/cli/options.ts'
import { decodeHaveSummary, encodeHaveSummary, haveTopic } from '../../src/content/availability/index.ts'
import { BlockRanges } from '../../src/content/availability/block-ranges.ts'
import { BLOCK_PROTOCOL, MAX_MESSAGE_BYTES } from '../../src/content/exchange/constants.ts'
import { decodeBlockMessage, encodeBlockMessage } from '../../src/content/exchange/wire.ts'
import { signManifest } from '../../src/content/manifest-signature.ts'
import { parseManifest } from '../../src/content/manifest-parse.ts'
import { acceptManifest } from '../../src/content/manifest-trust.ts'
import { memorySiteVersions } from '../../src/content/site-versions.ts'
import { publishSite } from '../../src/publish/site.ts'
import { SigningKeyError } from '../../src/publish/errors.ts'
import { RelayConfigError } from '../../relay/errors.ts'
import { mutateBytes, mutateJson, mutateText } from './shared-fuzz/mutate.ts'
import { makeBlocks, rssSampler, startFaultNode } from './shared-fuzz/nodes.ts'
import { prng } from './shared-fuzz/prng.ts'
import type { Prng } from './shared-fuzz/prng.ts'
import type { ScenarioResult } from './shared-fuzz/result.ts'
import type { BlockMessage } from '../../src/content/exchange/wire.ts'
import type { HaveSummary } from '../../src/content/availability/index.ts'
import type { FaultNode } from './shared-fuzz/nodes.ts'
import type { PublicKey } from '@libp2p/interface'

export interface FuzzOptions {
  seed?: number
  /** Block-protocol messages plus have-summaries, in all (decoded, and sent over the wire). */
  messages?: number
  /** Of `messages`, the share that are have-summaries. */
  summaryShare?: number
  /** Mutated manifests at parseManifest/acceptManifest. */
  manifests?: number
  /** Mutated `swarmsite build` runs. */
  builds?: number
  /** Progress lines on stderr. */
  verbose?: boolean
}

const BLOCK_ERRORS = new Set(['MalformedMessageError'])
const SUMMARY_ERRORS = new Set(['HaveSummaryDecodeError'])
const MANIFEST_ERRORS = new Set(['InvalidManifestError', 'ManifestSignatureError', 'ManifestRollbackError', 'InvalidSiteKeyError'])
// what `swarmsite` reports as a usage error (exit 2) rather than a crash (src/cli/index.ts)
const PARSE_ARGS_CODES = new Set(['ERR_PARSE_ARGS_UNKNOWN_OPTION', 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE', 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'])
// the stream-level errors a responder counts as protocol violations (serve-stream.ts)
const WIRE_VIOLATIONS = new Set(['MalformedMessageError', 'TooManyWantsError', 'MessageTooLargeError', 'InvalidDataLengthError', 'InvalidDataLengthLengthError', 'StreamBufferError'])

interface Tally { accepted: number, rejected: Map<string, number>, unnamed: string[] }

function tally (): Tally { return { accepted: 0, rejected: new Map(), unnamed: [] } }

function count (t: Tally, err: any, named: (err: any) => boolean): void {
  const name = String(err?.name ?? typeof err) + (typeof err?.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS') ? `(${err.code})` : '')
  t.rejected.set(name, (t.rejected.get(name) ?? 0) + 1)
  if (!named(err) && t.unnamed.length < 20) t.unnamed.push(`${name}: ${String(err?.message ?? err).slice(0, 200)}`)
}

function plainTally (t: Tally): Record<string, unknown> {
  return { accepted: t.accepted, rejected: Object.fromEntries(t.rejected), unnamed: t.unnamed }
}

// ---------------------------------------------------------------------------------------
// generators

function seedBlockMessage (rng: Prng, cids: CID[], block: { cid: CID, bytes: Uint8Array }): Partial<BlockMessage> {
  switch (rng.int(4)) {
    case 0: return { entries: Array.from({ length: rng.range(1, 8) }, () => ({ cid: rng.pick(cids), priority: rng.range(-5, 5), cancel: rng.bool(0.2), ...(rng.bool(0.1) ? { reprioritize: true } : {}) })) }
    case 1: return { blocks: [{ cid: block.cid, data: block.bytes.subarray(0, rng.int(block.bytes.length + 1)) }] }
    case 2: return { presences: [{ cid: rng.pick(cids), type: rng.bool() ? 'have' : 'dont-have' }] }
    default: return { entries: [{ cid: rng.pick(cids), priority: 0, cancel: false }], presences: [{ cid: rng.pick(cids), type: 'have' }] }
  }
}

function blockMessageBytes (rng: Prng, cids: CID[], block: { cid: CID, bytes: Uint8Array }): Uint8Array {
  if (rng.bool(0.15)) return rng.bytes(rng.int(300))
  const valid = encodeBlockMessage(seedBlockMessage(rng, cids, block))
  return rng.bool(0.1) ? valid : mutateBytes(rng, valid, MAX_MESSAGE_BYTES + 64)
}

function seedSummary (rng: Prng, roots: string[]): HaveSummary {
  const files = roots.slice(0, rng.range(0, roots.length)).map(root => {
    const total = rng.range(1, 5000)
    const start = rng.int(total)
    return { root, totalBlocks: total, blocks: new BlockRanges([[start, Math.min(total, start + rng.range(1, 100))]]) }
  })
  const downloads = rng.bool(0.3) && roots.length > 0 ? [{ root: roots[0]!, totalBlocks: 10, fetching: new BlockRanges([[0, rng.range(1, 10)]]) }] : undefined
  return { seq: Date.now() + rng.int(1000), files, ...(downloads != null ? { downloads } : {}) }
}

function summaryBytes (rng: Prng, roots: string[]): Uint8Array {
  if (rng.bool(0.15)) return rng.bytes(rng.int(400))
  const valid = encodeHaveSummary(seedSummary(rng, roots))
  return rng.bool(0.1) ? valid : mutateBytes(rng, valid, 20_000)
}

// ---------------------------------------------------------------------------------------
// phases

async function fuzzDecoders (rng: Prng, n: number, summaryShare: number, cids: CID[], roots: string[], block: { cid: CID, bytes: Uint8Array }): Promise<{ block: Tally, summary: Tally }> {
  const blockT = tally()
  const summaryT = tally()
  for (let i = 0; i < n; i++) {
    if (rng.next() < summaryShare) {
      const bytes = summaryBytes(rng, roots)
      try { decodeHaveSummary(bytes); summaryT.accepted++ } catch (err) { count(summaryT, err, e => SUMMARY_ERRORS.has(e?.name) && e?.reason != null) }
    } else {
      const bytes = blockMessageBytes(rng, cids, block)
      // a Uint8ArrayList now and then: what lpStream hands the decoder
      const input = rng.bool(0.2) ? new Uint8ArrayList(bytes.subarray(0, bytes.length >> 1), bytes.subarray(bytes.length >> 1)) : bytes
      try { decodeBlockMessage(input); blockT.accepted++ } catch (err) { count(blockT, err, e => BLOCK_ERRORS.has(e?.name)) }
    }
  }
  return { block: blockT, summary: summaryT }
}

interface WireFigures {
  blockMessages: number
  summaries: number
  streams: number
  streamOutcomes: Record<string, number>
  violations: Record<string, number>
  unnamedViolations: string[]
  summariesHeard: number
  ms: number
}

/** Sends the messages over real streams and gossipsub at `victim`, from one attacker node. */
async function fuzzWire (rng: Prng, n: number, summaryShare: number, victim: FaultNode, attacker: FaultNode, cids: CID[], roots: string[], block: { cid: CID, bytes: Uint8Array }, verbose: boolean): Promise<WireFigures> {
  const started = Date.now()
  const violations = new Map<string, number>()
  const unnamed: string[] = []
  victim.exchange.addEventListener('peer:violation', evt => {
    const name = evt.detail.error.name
    violations.set(name, (violations.get(name) ?? 0) + 1)
    if (!WIRE_VIOLATIONS.has(name) && unnamed.length < 20) unnamed.push(`${name}: ${evt.detail.error.message}`)
  })
  const heardBefore = victim.availability.gossipStats().heard
  const connection = await attacker.libp2p.dial(victim.libp2p.getMultiaddrs(), { signal: AbortSignal.timeout(10_000) })
  const topic = haveTopic('fuzz-site')
  const outcomes = new Map<string, number>()
  const outcome = (what: string): void => { outcomes.set(what, (outcomes.get(what) ?? 0) + 1) }
  let blockMessages = 0
  let summaries = 0
  let streams = 0

  // one stream per message (a malformed one makes the victim reset it), three at a time
  // (the victim allows four inbound block streams per connection)
  const work = Array.from({ length: n }, () => rng.next() < summaryShare ? 'summary' : 'block')
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < work.length) {
      const i = next++
      if (verbose && i % 10_000 === 0) process.stderr.write(`fuzz: wire ${i}/${n}\n`)
      if (work[i] === 'summary') {
        summaries++
        await attacker.libp2p.services.pubsub.publish(topic, summaryBytes(rng, roots)).catch(() => { outcome('publish-failed') })
        continue
      }
      blockMessages++
      const bytes = blockMessageBytes(rng, cids, block)
      let stream
      try {
        stream = await connection.newStream(BLOCK_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
        streams++
      } catch (err: any) {
        outcome(`open-failed:${err.name}`)
        if (connection.status !== 'open') throw new Error(`the victim dropped the connection: ${err.message}`)
        continue
      }
      try {
        const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
        // 1 in 10: bytes without (or with a wrong) length prefix, to hit the framing
        if (rng.bool(0.1)) {
          const raw = rng.bool() ? Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f, ...bytes.subarray(0, 32)) : mutateBytes(rng, Uint8Array.of(bytes.length & 0x7f, ...bytes))
          stream.send(raw)
        } else {
          await lp.write(bytes, { signal: AbortSignal.timeout(5_000) })
        }
        await stream.close({ signal: AbortSignal.timeout(5_000) })
        let answers = 0
        try {
          for (;;) { await lp.read({ signal: AbortSignal.timeout(5_000) }); answers++ }
        } catch (err: any) {
          outcome(answers > 0 ? 'answered' : err?.name === 'UnexpectedEOFError' ? 'closed' : 'reset')
        }
      } catch (err: any) {
        outcome(`reset-early:${err?.name}`)
        stream.abort(err)
      }
    }
  }
  await Promise.all([worker(), worker(), worker()])
  // the last summaries need a moment to arrive
  await new Promise(resolve => setTimeout(resolve, 500))
  return {
    blockMessages,
    summaries,
    streams,
    streamOutcomes: Object.fromEntries(outcomes),
    violations: Object.fromEntries(violations),
    unnamedViolations: unnamed,
    summariesHeard: victim.availability.gossipStats().heard - heardBefore,
    ms: Date.now() - started
  }
}

/** After the fuzz: a fresh honest peer still gets a verified block and is still heard on gossip. */
async function honestStillServed (victim: FaultNode, block: { cid: CID, bytes: Uint8Array }): Promise<{ block: boolean, gossip: boolean }> {
  const honest = await startFaultNode({ siteId: 'fuzz-site' })
  try {
    await honest.libp2p.dial(victim.libp2p.getMultiaddrs(), { signal: AbortSignal.timeout(10_000) })
    const bytes = await honest.exchange.want(victim.libp2p.peerId, block.cid, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined)
    const root = block.cid.toString()
    honest.availability.addLocal(root, 0, 1)
    const deadline = Date.now() + 10_000
    let gossip = false
    while (Date.now() < deadline && !gossip) {
      gossip = victim.availability.peersWith(root, 0).some(p => p.equals(honest.libp2p.peerId))
      if (!gossip) { honest.availability.refresh(); await new Promise(resolve => setTimeout(resolve, 100)) }
    }
    return { block: bytes != null && Buffer.from(bytes).equals(Buffer.from(block.bytes)), gossip }
  } finally {
    await honest.stop()
  }
}

async function fuzzManifests (rng: Prng, n: number, valid: object, publicKey: PublicKey, otherKey: PublicKey): Promise<Tally> {
  const t = tally()
  const versions = memorySiteVersions()
  for (let i = 0; i < n; i++) {
    const mutated = mutateJson(rng, valid)
    const asText = rng.bool(0.5)
    const input = asText ? mutateText(rng, JSON.stringify(mutated) ?? 'undefined') : mutated
    try {
      if (rng.bool(0.5)) parseManifest(input)
      else await acceptManifest(input, { publicKey: rng.bool(0.8) ? publicKey : otherKey, siteVersions: versions })
      t.accepted++
    } catch (err) {
      count(t, err, e => MANIFEST_ERRORS.has(e?.name))
    }
  }
  return t
}

interface BuildSite { dir: string, page: string, previous: string, out: string }

async function makeBuildSite (root: string): Promise<BuildSite> {
  const dir = join(root, 'site')
  await mkdir(join(dir, 'sub'), { recursive: true })
  await writeFile(join(dir, 'index.html'), '<!doctype html><html><head><title>t</title></head><body>hi</body></html>')
  await writeFile(join(dir, 'sub', 'a.txt'), 'a'.repeat(3000))
  return { dir, page: join(dir, 'index.html'), previous: '', out: join(root, 'out.json') }
}

const RELAY = '/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8'

function buildArgv (rng: Prng, site: BuildSite, key: string): string[] {
  // the folder, --out and --no-scripts stay put: a mutated folder path would be a prefix of it
  // (/tmp, /: a build of the whole disk) and a lost --out a manifest written outside the sandbox
  const dir = rng.bool(0.05) ? rng.pick([site.page, join(site.dir, 'missing')]) : site.dir
  const fixed = [dir, '--out', site.out, '--no-scripts']
  const args: string[] = ['--origin', 'https://example.org/site/', '--json']
  if (rng.bool(0.4)) args.push('--inject', site.page, '--relay', RELAY)
  if (rng.bool(0.3)) args.push('--deadline-ms', '1500')
  if (rng.bool(0.3)) args.push('--ice-servers', '[{"urls":"stun:stun.example.org"}]')
  if (rng.bool(0.2)) args.push('--site-version', '12')
  if (rng.bool(0.2)) args.push('--profile', 'unixfs-v1-2025')
  if (rng.bool(0.15)) args.push('--sign', key)
  if (rng.bool(0.1)) args.push('--prefer-peers')
  // mutate: values, flags, order (one run in four as written: the build runs through)
  const edits = rng.bool(0.25) ? 0 : rng.range(1, 2)
  for (let e = 0; e < edits; e++) {
    const i = rng.int(args.length)
    switch (rng.int(6)) {
      case 0: args.splice(i, 1); break
      case 1: args[i] = String(mutateJson(rng, args[i])); break
      case 2: args.splice(i, 0, rng.pick(['--origin', '--relay', '--deadline-ms', '--site-version', '--ice-servers', '--inject', '--profile', '-h', '--', '--nope', '=', '--origin=', '--sign'])); break
      case 3: args[i] = mutateText(rng, args[i]!); break
      default: args.push(rng.pick(['--deadline-ms', '--site-version', '--ice-servers', '--relay', '--origin']), String(mutateJson(rng, rng.pick(['1500', '12', '[{"urls":"stun:x"}]', RELAY, 'https://example.org/']))))
    }
  }
  // a value that reads as a path is kept inside the sandbox: strip what would point elsewhere
  return [...fixed, ...args.map(a => a.startsWith('/') && !a.startsWith('/ip4/') && !a.startsWith(site.dir) ? a.replace(/^\/+/, '') : a)]
}

async function fuzzBuilds (rng: Prng, n: number, root: string, validManifest: object, verbose: boolean): Promise<Tally & { ok: number, slowestMs: number, slowest: string[] }> {
  const t = { ...tally(), ok: 0, slowestMs: 0, slowest: [] as string[] }
  const site = await makeBuildSite(root)
  const key = join(root, 'fuzz.key')
  const html = '<!doctype html><html><head><title>t</title></head><body>hi</body></html>'
  const write = process.stdout.write
  const writeErr = process.stderr.write
  // relative paths in mutated arguments (a key file, a page) land in the sandbox
  const cwd = process.cwd()
  process.chdir(root)
  try {
    for (let i = 0; i < n; i++) {
      if (verbose && i % 1000 === 0) writeErr.call(process.stderr, `fuzz: build ${i}/${n}\n`)
      // the inputs the build reads besides its arguments: the manifest it replaces, the page it injects into
      if (rng.bool(0.5)) await writeFile(site.out, mutateText(rng, JSON.stringify(mutateJson(rng, validManifest)) ?? 'null'))
      else await rm(site.out, { force: true })
      await writeFile(site.page, rng.bool(0.3) ? mutateText(rng, html.replace('</head>', rng.pick(['', '<script src="/swarmsite.js"></script>', '<head>', '</head></head>']) + '</head>')) : html)
      const argv = buildArgv(rng, site, key)
      process.stdout.write = (() => true) as any
      process.stderr.write = (() => true) as any
      const began = Date.now()
      // a build that takes long is a finding in itself: say which inputs
      const watchdog = setTimeout(() => { writeErr.call(process.stderr, `fuzz: build ${i} still running after 5 s: ${JSON.stringify(argv)}\n`) }, 5_000)
      try {
        await buildCommand(argv)
        t.ok++
        t.accepted++
      } catch (err: any) {
        count(t, err, e => e instanceof UsageError || e instanceof RelayConfigError || e instanceof SigningKeyError || PARSE_ARGS_CODES.has(e?.code))
      } finally {
        clearTimeout(watchdog)
        process.stdout.write = write
        process.stderr.write = writeErr
        const took = Date.now() - began
        if (took > t.slowestMs) { t.slowestMs = took; t.slowest = argv }
      }
    }
  } finally {
    process.chdir(cwd)
    process.stdout.write = write
    process.stderr.write = writeErr
  }
  return t
}

export async function run (options: FuzzOptions = {}): Promise<ScenarioResult> {
  const seed = options.seed ?? 11
  const messages = options.messages ?? 100_000
  const summaryShare = options.summaryShare ?? 0.3
  const manifests = options.manifests ?? 10_000
  const builds = options.builds ?? 10_000
  const verbose = options.verbose ?? false
  const notes: string[] = []
  const crashes: string[] = []
  const onCrash = (err: any): void => { crashes.push(`${err?.name}: ${err?.message}`) }
  process.on('uncaughtException', onCrash)
  process.on('unhandledRejection', onCrash)
  const rss = rssSampler()
  const rssStart = process.memoryUsage.rss()
  const root = await mkdtemp(join(tmpdir(), 'swarmsite-fuzz-'))
  try {
    const blocks = await makeBlocks('fuzz', 8, 4096)
    const held = blocks.slice(0, 4)
    const cids = blocks.map(b => b.cid)
    const roots = cids.map(c => c.toString())
    const block = blocks[0]!

    const t0 = Date.now()
    const decoders = await fuzzDecoders(prng(seed + 1), messages, summaryShare, cids, roots, block)
    const decodeMs = Date.now() - t0
    const rssPhases: Record<string, number> = { start: rssStart, afterDecoders: rss.peak() }

    // the victim as a page is configured, except that it never bans: every message must reach its decoder
    const victim = await startFaultNode({ siteId: 'fuzz-site', blocks: held, exchange: { maxStrikes: Infinity } })
    const attacker = await startFaultNode({ siteId: 'fuzz-site' })
    let wire: WireFigures | undefined
    let honest = { block: false, gossip: false }
    try {
      wire = await fuzzWire(prng(seed + 2), messages, summaryShare, victim, attacker, cids, roots, block, verbose)
      rssPhases.afterWire = rss.peak()
      honest = await honestStillServed(victim, block)
    } catch (err: any) {
      notes.push(`wire fuzz stopped: ${err.name}: ${err.message}`)
    } finally {
      await attacker.stop()
      await victim.stop()
    }

    // manifests: a real build's manifest, signed, is the seed
    const site = await makeBuildSite(join(root, 'seed'))
    const published = await publishSite({ dir: site.dir, origin: 'https://example.org/site/', manifestPath: site.out, scripts: false })
    const key = await generateKeyPair('Ed25519')
    const signed = await signManifest(published.manifest, key)
    const t1 = Date.now()
    const manifestT = await fuzzManifests(prng(seed + 3), manifests, signed, key.publicKey, (await generateKeyPair('Ed25519')).publicKey)
    const manifestMs = Date.now() - t1
    rssPhases.afterManifests = rss.peak()
    const t2 = Date.now()
    const buildT = await fuzzBuilds(prng(seed + 4), builds, join(root, 'build'), signed, verbose)
    const buildMs = Date.now() - t2
    rssPhases.afterBuilds = rss.peak()

    const peakRss = rss.stop()
    const unnamed = [...decoders.block.unnamed, ...decoders.summary.unnamed, ...(wire?.unnamedViolations ?? []), ...manifestT.unnamed, ...buildT.unnamed]
    for (const u of unnamed) notes.push(`unnamed rejection: ${u}`)
    for (const c of crashes) notes.push(`crash: ${c}`)
    const holds = {
      noCrash: crashes.length === 0 && wire != null && wire.blockMessages + wire.summaries === messages,
      // bounded: the process (victim, attacker, decoders) stays under 1 GiB whatever it was sent
      memoryBounded: peakRss < 1024 * 1024 * 1024,
      everyRejectionNamed: unnamed.length === 0,
      honestPeerStillServed: honest.block && honest.gossip
    }
    return {
      name: 'fuzz',
      options: { seed, messages, summaryShare, manifests, builds },
      visitors: { ok: honest.block && honest.gossip ? 1 : 0, total: 1 },
      figures: {
        decoders: { blockMessages: plainTally(decoders.block), summaries: plainTally(decoders.summary), ms: decodeMs },
        wire,
        honestAfter: honest,
        manifests: { ...plainTally(manifestT), ms: manifestMs },
        builds: { ...plainTally(buildT), ok: buildT.ok, ms: buildMs, slowestMs: buildT.slowestMs, slowest: buildT.slowest },
        rssStartBytes: rssStart,
        peakRssBytes: peakRss,
        /** the peak so far at the end of each phase */
        peakRssByPhaseBytes: rssPhases
      },
      holds,
      notes
    }
  } finally {
    process.off('uncaughtException', onCrash)
    process.off('unhandledRejection', onCrash)
    rss.stop()
    await rm(root, { recursive: true, force: true })
  }
}
