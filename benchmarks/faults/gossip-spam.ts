/**
 * Fault scenario "gossip spam": the real relay process is the site's gossip hub; honest nodes
 * (the page's gossipsub and availability, on TCP) and one spammer join the have topic. The
 * spammer publishes 100 summaries a second for `spamSeconds`: garbage bytes, summaries claiming
 * every block of thousands of files (the site's real roots among them), and plain valid ones,
 * and it is also linked directly to one honest node (as a page with direct links would be).
 * Meanwhile honest nodes announce a new block once a second; we time how long until every
 * other honest node's availability lists the holder. The same announcements are timed with no
 * spam first.
 * Must hold: honest haves still arrive within 2 s; the spammer is scored out (below gossipsub's
 * graylist threshold at the node it is linked to, and its summaries stop reaching honest nodes
 * through the hub).
 */
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { multiaddr } from '@multiformats/multiaddr'
import { BlockRanges } from '../../src/content/availability/block-ranges.ts'
import { encodeHaveSummary, haveTopic } from '../../src/content/availability/index.ts'
import { startRelayProcess } from '../../test/helpers/relay-process.ts'
import { prng } from './shared-fuzz/prng.ts'
import { startFaultNode } from './shared-fuzz/nodes.ts'
import type { FaultNode } from './shared-fuzz/nodes.ts'
import type { ScenarioResult } from './shared-fuzz/result.ts'

export interface GossipSpamOptions {
  seed?: number
  honest?: number
  /** Announcements timed per phase (one a second). */
  announcements?: number
  spamPerSecond?: number
  spamSeconds?: number
  verbose?: boolean
}

const SITE = 'spam-site'
const GRAYLIST = -80

async function rootOf (label: string): Promise<string> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(label))).toString()
}

function quantile (xs: number[], q: number): number | undefined {
  if (xs.length === 0) return undefined
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}

/** One honest node announces a fresh root; ms until every other honest node lists it as holder (undefined: not within 10 s). */
async function announce (from: FaultNode, others: FaultNode[], root: string): Promise<number | undefined> {
  const started = Date.now()
  from.availability.addLocal(root, 0, 1)
  from.availability.refresh()
  while (Date.now() - started < 10_000) {
    if (others.every(o => o.availability.peersWith(root, 0).some(p => p.equals(from.libp2p.peerId)))) return Date.now() - started
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  return undefined
}

export async function run (options: GossipSpamOptions = {}): Promise<ScenarioResult> {
  const seed = options.seed ?? 11
  const honestCount = options.honest ?? 4
  const announcements = options.announcements ?? 10
  const spamPerSecond = options.spamPerSecond ?? 100
  const spamSeconds = options.spamSeconds ?? Math.max(5, announcements + 2)
  const rng = prng(seed)
  const notes: string[] = []
  const relay = await startRelayProcess()
  const nodes: FaultNode[] = []
  try {
    const hub = new Set([relay.peerId])
    const relayAddr = multiaddr(relay.tcp!)
    for (let i = 0; i < honestCount; i++) nodes.push(await startFaultNode({ siteId: SITE, hubPeerIds: hub, availability: { debounceMs: 50 } }))
    const spammer = await startFaultNode({ siteId: SITE, hubPeerIds: hub })
    const honest = [...nodes]
    nodes.push(spammer)
    for (const n of nodes) await n.libp2p.dial(relayAddr, { signal: AbortSignal.timeout(10_000) })
    // the spammer's direct link to one honest node
    await spammer.libp2p.dial(honest[0]!.libp2p.getMultiaddrs(), { signal: AbortSignal.timeout(10_000) })
    // everyone in the hub's mesh: wait until an announcement reaches all
    const warm = await announce(honest[0]!, honest.slice(1), await rootOf('warm-up'))
    if (warm == null) notes.push('warm-up announcement never reached every honest node')

    const measure = async (phase: string): Promise<Array<number | undefined>> => {
      const delays: Array<number | undefined> = []
      for (let i = 0; i < announcements; i++) {
        const from = honest[i % honest.length]!
        delays.push(await announce(from, honest.filter(n => n !== from), await rootOf(`${phase}-${i}`)))
        await new Promise(resolve => setTimeout(resolve, 1000))
      }
      return delays
    }

    const quiet = await measure('quiet')

    // the spam: 100/s, a third each garbage, huge claims, plain valid
    const siteRoots = await Promise.all(Array.from({ length: 8 }, async (_, i) => rootOf(`site-${i}`)))
    const hugeClaim = (): Uint8Array => {
      const roots = [...siteRoots]
      for (let i = 0; roots.length < 300; i++) roots.push(CID.createV1(raw.code, { code: 0x12, size: 32, digest: rng.bytes(32), bytes: new Uint8Array([0x12, 32, ...rng.bytes(32)]) } as any).toString())
      return encodeHaveSummary({ seq: Date.now(), files: roots.map(root => ({ root, totalBlocks: 1_048_576, blocks: new BlockRanges([[0, 1_048_576]]) })) })
    }
    const topic = haveTopic(SITE)
    let sent = 0
    let publishFailed = 0
    const kinds = { garbage: 0, huge: 0, valid: 0 }
    let spamming = true
    const spamLoop = (async () => {
      const started = Date.now()
      while (spamming && Date.now() - started < spamSeconds * 1000) {
        const due = Math.floor((Date.now() - started) * spamPerSecond / 1000)
        while (sent < due) {
          const kind = rng.pick(['garbage', 'huge', 'valid'] as const)
          kinds[kind]++
          const data = kind === 'garbage' ? rng.bytes(rng.range(1, 2000)) : kind === 'huge' ? hugeClaim() : encodeHaveSummary({ seq: Date.now() + sent, files: [{ root: siteRoots[0]!, totalBlocks: 4, blocks: new BlockRanges([[0, 4]]) }] })
          sent++
          await spammer.libp2p.services.pubsub.publish(topic, data).catch(() => { publishFailed++ })
        }
        await new Promise(resolve => setTimeout(resolve, 5))
      }
    })()
    const spamStarted = Date.now()
    const spammed = await measure('spam')
    spamming = false
    await spamLoop
    const spamMs = Date.now() - spamStarted

    // what the spam did at the honest nodes
    const spammerId = spammer.libp2p.peerId
    const linked = honest[0]!
    // getScore is on gossipsub's class, not on its exported interface
    const linkedScore = (linked.libp2p.services.pubsub as unknown as { getScore(peer: string): number }).getScore(spammerId.toString())
    const hubOnly = honest.slice(1)
    // did the spammer's claims reach nodes that hear it only through the hub, and are they still arriving?
    const heardSpam = (n: FaultNode): boolean => n.availability.peersWith(siteRoots[0]!, 0).some(p => p.equals(spammerId))
    const reachedViaHub = hubOnly.filter(heardSpam).length
    // after the spam: one more valid summary from the spammer must reach no one
    for (const n of honest) n.availability.removePeer(spammerId)
    await spammer.libp2p.services.pubsub.publish(topic, encodeHaveSummary({ seq: Date.now() + 1e6, files: [{ root: siteRoots[0]!, totalBlocks: 4, blocks: new BlockRanges([[0, 4]]) }] })).catch(() => {})
    await new Promise(resolve => setTimeout(resolve, 1500))
    const heardAfter = honest.filter(heardSpam).length
    const guardStats = honest.map(n => n.guard.stats())

    const ok = (xs: Array<number | undefined>): number[] => xs.filter((x): x is number => x != null)
    const spamOk = ok(spammed)
    const holds = {
      honestHavesWithin2s: spamOk.length === spammed.length && spamOk.every(d => d <= 2000),
      spammerScoredOutWhereLinked: linked.guard.isFlagged(spammerId.toString()) && linkedScore < GRAYLIST,
      spamStopsReachingHonestNodes: heardAfter === 0
    }
    if (options.verbose === true) process.stderr.write(`gossip-spam: ${JSON.stringify(holds)}\n`)
    return {
      name: 'gossip-spam',
      options: { seed, honest: honestCount, announcements, spamPerSecond, spamSeconds },
      visitors: { ok: honest.filter((_, i) => spammed.every((d, j) => j % honest.length !== i || (d != null && d <= 2000))).length, total: honest.length },
      figures: {
        haveDelayQuietMs: { p50: quantile(ok(quiet), 0.5), max: Math.max(...ok(quiet)), missing: quiet.length - ok(quiet).length, all: quiet },
        haveDelaySpamMs: { p50: quantile(spamOk, 0.5), max: Math.max(...spamOk), missing: spammed.length - spamOk.length, all: spammed },
        spam: { sent, publishFailed, kinds, ms: spamMs, perSecond: Math.round(sent / (spamMs / 1000)) },
        spammerScoreAtLinkedNode: linkedScore,
        spamClaimsReachedHubOnlyNodes: reachedViaHub,
        spamHeardAfterScoredOut: heardAfter,
        honestGuards: guardStats
      },
      holds,
      notes
    }
  } finally {
    for (const n of nodes) await n.stop()
    await relay.stop()
  }
}
