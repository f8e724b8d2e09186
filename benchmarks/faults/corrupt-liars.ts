/**
 * corrupt liars: Node visitor processes seeded with the asset flip a byte in every block they
 * serve; they are `share` (30 %) of the holders, the honest browser visitors the rest. The
 * baseline is the same crowd without them.
 *
 * "Banned at its first bad block and never asked again" is checked by causality, not time: a
 * visitor keeps at most DEFAULT_MAX_INFLIGHT_PER_PEER wants in flight with a peer, so a liar that
 * sent one visitor more bad blocks than that was asked again after a bad block had arrived.
 */
import { DEFAULT_MAX_INFLIGHT_PER_PEER } from '../../src/content/exchange/constants.ts'
import { boundCheck, evenPlan, faultyHolders, figuresOf, inWorld, result } from './kit.ts'
import type { Check, FaultScenario, RunFigures } from './types.ts'
import type { PeerProcess, PeerProcessStats } from '../../test/helpers/swarm-peer-process.ts'

export const corruptLiars: FaultScenario = {
  name: 'corrupt-liars',
  summary: '30 % of holders (Node processes seeded with the asset) serve bad bytes for every block',
  mustHold: '100 % byte-exact; each liar banned at its first bad block and never asked again by that visitor; completion ≤ 1.2 × the honest run',
  async run (context) {
    const share = context.options.share ?? 0.3
    const count = faultyHolders(context.options.visitors, share)
    const baseline = await inWorld(context, async () => {}, () => evenPlan(context), async run => figuresOf('baseline', run))
    context.log(`corrupt-liars baseline: ${baseline.ok}/${baseline.total} ok in ${baseline.completionMs} ms`)
    let liarStats: PeerProcessStats[] = []
    let liars: PeerProcess[] = []
    const fault: RunFigures = await inWorld(context, async world => {
      liars = await world.startHolders(count, 'corrupt')
    }, () => evenPlan(context), async run => {
      liarStats = await Promise.all(liars.map(async l => l.stats()))
      const perPair: Array<{ visitor: number, liar: number, badBlocks: number, banned: boolean, bannedAt?: number, verifiedFromLiar: number }> = []
      run.done.states.forEach((state, visitor) => {
        const peerId = state?.peerId ?? run.done.outcomes[visitor]?.peerId
        if (peerId == null) return
        liars.forEach((liar, l) => {
          const badBlocks = liarStats[l]!.served[peerId]?.blocks ?? 0
          const ban = state?.banned.find(b => b.peer === liar.peerId)
          const verifiedFromLiar = state?.stats?.peers.find(p => p.peerId === liar.peerId)?.bytesDown ?? 0
          if (badBlocks > 0 || ban != null) perPair.push({ visitor, liar: l, badBlocks, banned: ban != null, ...(ban != null ? { bannedAt: ban.at - run.done.t0Wall } : {}), verifiedFromLiar })
        })
      })
      return figuresOf('fault', run, { liars: count, liarPeerIds: liars.map(l => l.peerId), perPair, liarWants: liarStats.map(s => s.asked.wants) })
    })
    context.log(`corrupt-liars fault: ${fault.ok}/${fault.total} ok in ${fault.completionMs} ms`)

    const pairs = fault.extra.perPair as Array<{ visitor: number, liar: number, badBlocks: number, banned: boolean, verifiedFromLiar: number }>
    const unbanned = pairs.filter(p => p.badBlocks > 0 && !p.banned)
    const askedAgain = pairs.filter(p => p.badBlocks > DEFAULT_MAX_INFLIGHT_PER_PEER)
    const accepted = pairs.filter(p => p.verifiedFromLiar > 0)
    const badBytes = liarStats.reduce((s, st) => s + Object.values(st.served).reduce((a, x) => a + x.bytes, 0), 0)
    const liarsAsked = new Set(pairs.filter(p => p.badBlocks > 0).map(p => p.liar)).size
    const checks: Check[] = [
      { name: 'the liars were asked (the fault happened)', kind: 'behaviour', ok: liarsAsked > 0, detail: `${liarsAsked}/${count} liars sent bad blocks to ${new Set(pairs.map(p => p.visitor)).size} visitors` },
      { name: 'every visitor that got a bad block banned its sender', kind: 'behaviour', ok: unbanned.length === 0, detail: unbanned.length === 0 ? `${pairs.filter(p => p.banned).length} bans` : `not banned: ${unbanned.map(p => `visitor ${p.visitor} ← liar ${p.liar} (${p.badBlocks} bad blocks)`).join('; ')}` },
      { name: `banned at its first bad block, never asked again (≤ ${DEFAULT_MAX_INFLIGHT_PER_PEER} wants in flight when it came)`, kind: 'behaviour', ok: askedAgain.length === 0, detail: `most bad blocks one liar sent one visitor: ${Math.max(0, ...pairs.map(p => p.badBlocks))}${askedAgain.length > 0 ? `; over: ${askedAgain.map(p => `visitor ${p.visitor} ← liar ${p.liar} ${p.badBlocks}`).join('; ')}` : ''}` },
      { name: 'no block from a liar was taken as verified', kind: 'behaviour', ok: accepted.length === 0, detail: `${accepted.length} pairs with verified bytes from a liar` }
    ]
    const r = result(corruptLiars, baseline, fault, {
      liars: count,
      badBlocksSent: liarStats.reduce((s, st) => s + Object.values(st.served).reduce((a, x) => a + x.blocks, 0), 0),
      badBytesSent: badBytes,
      bans: pairs.filter(p => p.banned).length,
      extraOriginBytes: fault.originBytes - baseline.originBytes
    }, checks)
    r.checks.push(boundCheck('completion ≤ 1.2 × the honest run', r.timeRatio, 1.2))
    return r
  }
}
