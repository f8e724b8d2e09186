/**
 * Fault scenario "want flood": one victim node (the real block exchange and upload budget,
 * capped so that upload is the bottleneck) serves `honest` visitors that each fetch every
 * block it holds, eight wants in flight, as the scheduler does. Then the same with a flooder
 * beside them: it opens block streams in a loop (more than the victim allows), keeps each
 * stream full of wants at the highest priority the wire can say, wants every block again as
 * soon as it arrives, and dials again whenever it is hung up on.
 * Must hold: the honest visitors' completion ≤ 1.2 × the run without the flooder; the flooder's
 * share of the victim's upload ≤ 1/N (N = requesters; measured while every honest visitor is
 * downloading, to within one block); its streams and connections limited. A flooder that takes
 * exactly its fair share still slows N - 1 others by N / (N - 1): ≤ 1.2 needs N ≥ 6.
 */
import { lpStream } from '@libp2p/utils'
import { BLOCK_PROTOCOL, DEFAULT_MAX_OUTSTANDING_WANTS_PER_PEER, MAX_INBOUND_STREAMS, MAX_MESSAGE_BYTES } from '../../src/content/exchange/constants.ts'
import { decodeBlockMessage, encodeBlockMessage } from '../../src/content/exchange/wire.ts'
import { makeBlocks, startFaultNode } from './shared-fuzz/nodes.ts'
import type { Block, FaultNode } from './shared-fuzz/nodes.ts'
import type { ScenarioResult } from './shared-fuzz/result.ts'
import type { Connection } from '@libp2p/interface'

export interface WantFloodOptions {
  honest?: number
  blocks?: number
  blockBytes?: number
  /** The victim's upload cap, bytes/s. */
  uploadBytesPerSecond?: number
  verbose?: boolean
}

const SITE = 'flood-site'

/** Fetches every block from the victim, `depth` wants in flight, reader-first priorities; ms, or undefined on failure. */
async function fetchAll (node: FaultNode, victim: FaultNode, blocks: Block[], onFirstBlock: () => void, depth = 8): Promise<{ ms: number, ok: boolean }> {
  const started = Date.now()
  await node.libp2p.dial(victim.libp2p.getMultiaddrs(), { signal: AbortSignal.timeout(10_000) })
  let next = 0
  let ok = true
  const worker = async (): Promise<void> => {
    while (next < blocks.length) {
      const i = next++
      const b = blocks[i]!
      const bytes = await node.exchange.want(victim.libp2p.peerId, b.cid, { priority: 1_000_000 - i, signal: AbortSignal.timeout(120_000) }).catch(() => undefined)
      if (i === 0) onFirstBlock()
      if (bytes == null || !Buffer.from(bytes).equals(Buffer.from(b.bytes))) ok = false
    }
  }
  await Promise.all(Array.from({ length: depth }, worker))
  return { ms: Date.now() - started, ok }
}

interface Flooder {
  stop(): Promise<void>
  stats(): { dials: number, dialFailures: number, streamsOpened: number, streamsRefused: number, wantsSent: number, blocksReceived: number, dontHaves: number, maxOpenStreams: number, maxConnections: number }
}

function flood (attacker: FaultNode, victim: FaultNode, blocks: Block[], maxStreams: number): Flooder {
  const s = { dials: 0, dialFailures: 0, streamsOpened: 0, streamsRefused: 0, wantsSent: 0, blocksReceived: 0, dontHaves: 0, maxOpenStreams: 0, maxConnections: 0 }
  let running = true
  let open = 0
  const loops: Array<Promise<void>> = []

  const fillStream = async (connection: Connection): Promise<void> => {
    const stream = await connection.newStream(BLOCK_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
    s.streamsOpened++
    open++
    s.maxOpenStreams = Math.max(s.maxOpenStreams, open)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
      let at = 0
      const wantMore = async (n: number): Promise<void> => {
        const entries = Array.from({ length: n }, () => ({ cid: blocks[at++ % blocks.length]!.cid, priority: 2 ** 31 - 1, cancel: false }))
        s.wantsSent += n
        await lp.write(encodeBlockMessage({ entries }), { signal: AbortSignal.timeout(5_000) })
      }
      await wantMore(DEFAULT_MAX_OUTSTANDING_WANTS_PER_PEER)
      while (running) {
        const m = decodeBlockMessage(await lp.read({ signal: AbortSignal.timeout(30_000) }))
        s.blocksReceived += m.blocks.length
        const answers = m.blocks.length + m.presences.filter(p => p.type === 'dont-have').length
        s.dontHaves += answers - m.blocks.length
        // every answer frees a slot: want again at once (the same blocks, over and over)
        if (answers > 0) await wantMore(answers)
      }
    } finally {
      open--
      stream.abort(new Error('flood over'))
    }
  }

  const connectionLoop = async (): Promise<void> => {
    while (running) {
      let connection: Connection
      try {
        s.dials++
        connection = await attacker.libp2p.dial(victim.libp2p.getMultiaddrs(), { signal: AbortSignal.timeout(5_000) })
      } catch {
        s.dialFailures++
        await new Promise(resolve => setTimeout(resolve, 50))
        continue
      }
      s.maxConnections = Math.max(s.maxConnections, attacker.libp2p.getConnections(victim.libp2p.peerId).length)
      // open streams in a loop, far more than a connection may carry
      const streams: Array<Promise<void>> = []
      while (running && connection.status === 'open') {
        if (open < maxStreams) {
          streams.push(fillStream(connection).catch(() => { s.streamsRefused++ }))
        }
        await new Promise(resolve => setTimeout(resolve, 20))
      }
      await Promise.allSettled(streams)
    }
  }
  loops.push(connectionLoop())
  return {
    async stop () {
      running = false
      for (const c of attacker.libp2p.getConnections()) await c.close().catch(() => {})
      await Promise.allSettled(loops)
    },
    stats: () => ({ ...s })
  }
}

async function round (options: Required<Omit<WantFloodOptions, 'verbose'>>, blocks: Block[], flooderStreams: number): Promise<{ honest: Array<{ ms: number, ok: boolean }>, uploadedByPeer: Map<string, number>, flooderId?: string, flooder?: ReturnType<Flooder['stats']>, victimConnectionsFromFlooder?: number, victimStreamsFromFlooder?: number }> {
  const victim = await startFaultNode({ siteId: SITE, blocks, upload: { maxBytesPerSecond: options.uploadBytesPerSecond, burstBytes: options.blockBytes * 2, congestion: false } })
  const honest: FaultNode[] = []
  for (let i = 0; i < options.honest; i++) honest.push(await startFaultNode({ siteId: SITE }))
  const attacker = flooderStreams > 0 ? await startFaultNode({ siteId: SITE }) : undefined
  // the victim's upload while every honest visitor is downloading (from when the last of them
  // got its first block to when the first of them is done): the share a flooder takes from them
  const uploadedByPeer = new Map<string, number>()
  let window: 'before' | 'open' | 'closed' = 'before'
  victim.exchange.addEventListener('block:uploaded', evt => {
    const k = evt.detail.peer.toString()
    if (window !== 'open') return
    uploadedByPeer.set(k, (uploadedByPeer.get(k) ?? 0) + evt.detail.bytes)
  })
  let flooder: Flooder | undefined
  let maxVictimConnections = 0
  let maxVictimStreams = 0
  // counted where the limits are enforced: the victim's side of the flooder's connections
  const watch = setInterval(() => {
    if (attacker == null) return
    const connections = victim.libp2p.getConnections(attacker.libp2p.peerId)
    maxVictimConnections = Math.max(maxVictimConnections, connections.length)
    const streams = connections.flatMap(c => c.streams).filter(s => s.protocol === BLOCK_PROTOCOL && s.direction === 'inbound').length
    maxVictimStreams = Math.max(maxVictimStreams, streams)
  }, 20)
  try {
    // the flood starts with the visitors (a head start would let it take its blocks while no one else asks)
    if (attacker != null) flooder = flood(attacker, victim, blocks, flooderStreams)
    let started = 0
    const results = await Promise.all(honest.map(async n => {
      const r = await fetchAll(n, victim, blocks, () => { if (++started === honest.length) window = 'open' })
      window = 'closed'
      return r
    }))
    return {
      honest: results,
      uploadedByPeer,
      ...(attacker != null ? { flooderId: attacker.libp2p.peerId.toString(), flooder: flooder!.stats(), victimConnectionsFromFlooder: maxVictimConnections, victimStreamsFromFlooder: maxVictimStreams } : {})
    }
  } finally {
    clearInterval(watch)
    await flooder?.stop()
    for (const n of [...honest, ...(attacker != null ? [attacker] : []), victim]) await n.stop()
  }
}

export async function run (options: WantFloodOptions = {}): Promise<ScenarioResult> {
  const o = {
    honest: options.honest ?? 5,
    blocks: options.blocks ?? 32,
    blockBytes: options.blockBytes ?? 262_144,
    uploadBytesPerSecond: options.uploadBytesPerSecond ?? 8 * 1_048_576
  }
  const blocks = await makeBlocks('flood', o.blocks, o.blockBytes)
  const quiet = await round(o, blocks, 0)
  const quietMs = Math.max(...quiet.honest.map(r => r.ms))
  const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const n = o.honest + 1
  // two flooders: one opening streams in a loop (16 at a time, more than allowed), one that
  // keeps to a single stream as an honest requester does (and so is not demoted for extra streams)
  const variants: Array<[string, number]> = [['manyStreams', 16], ['oneStream', 1]]
  const figures: Record<string, unknown> = { honestDoneMsQuiet: { p50: p50(quiet.honest.map(r => r.ms)), max: quietMs }, fairShare: Number((1 / n).toFixed(4)) }
  const holds: Record<string, boolean> = { allHonestByteExact: quiet.honest.every(r => r.ok) }
  let ok = o.honest
  for (const [label, streams] of variants) {
    const flooded = await round(o, blocks, streams)
    const floodMs = Math.max(...flooded.honest.map(r => r.ms))
    const total = [...flooded.uploadedByPeer.values()].reduce((a, b) => a + b, 0)
    const flooderBytes = flooded.uploadedByPeer.get(flooded.flooderId!) ?? 0
    const share = total > 0 ? flooderBytes / total : 0
    holds.allHonestByteExact &&= flooded.honest.every(r => r.ok)
    holds[`${label}HonestCompletionWithin1_2x`] = floodMs <= 1.2 * quietMs
    // fair queuing shares bytes to within one grant: 1/N of the window's bytes, plus one block
    holds[`${label}FlooderShareAtMost1OverN`] = flooderBytes <= total / n + o.blockBytes
    // the victim allows four block streams per connection
    holds[`${label}FlooderStreamsLimited`] = (flooded.victimStreamsFromFlooder ?? 0) <= MAX_INBOUND_STREAMS
    holds[`${label}FlooderConnectionsLimited`] = (flooded.victimConnectionsFromFlooder ?? 0) <= 2
    ok = Math.min(ok, flooded.honest.filter(r => r.ok).length)
    figures[label] = {
      honestDoneMs: { p50: p50(flooded.honest.map(r => r.ms)), max: floodMs },
      ratio: Number((floodMs / quietMs).toFixed(3)),
      victimUploadBytes: total,
      flooderUploadBytes: flooderBytes,
      flooderShare: Number(share.toFixed(4)),
      flooder: flooded.flooder,
      victimConnectionsFromFlooderMax: flooded.victimConnectionsFromFlooder,
      victimBlockStreamsFromFlooderMax: flooded.victimStreamsFromFlooder
    }
  }
  return {
    name: 'want-flood',
    options: o,
    visitors: { ok, total: o.honest },
    figures,
    holds,
    notes: []
  }
}
