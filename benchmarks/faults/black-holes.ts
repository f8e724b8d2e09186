/**
 * black holes: Node visitor processes seeded with the asset announce every block (their
 * have-summaries are the honest ones) and never answer a want; they are `share` (30 %) of the
 * holders. The baseline is the same crowd without them.
 *
 * "Scored out within a few deadlines": each visitor's abandoned asks on each black hole
 * (`stats().peers[].failures`, one per want given up at its deadline), in rounds of the
 * scheduler's asks in flight per peer (DEFAULT_MAX_INFLIGHT_PER_PEER of src/content/fetch).
 */
import { DEFAULT_MAX_INFLIGHT_PER_PEER } from '../../src/content/fetch/constants.ts'
import { boundCheck, evenPlan, faultyHolders, figuresOf, inWorld, result } from './kit.ts'
import type { Check, FaultScenario } from './types.ts'
import type { PeerProcess, PeerProcessStats } from '../../test/helpers/swarm-peer-process.ts'

/** "a few deadlines" */
const SCORED_OUT_ROUNDS = 3

export const blackHoles: FaultScenario = {
  name: 'black-holes',
  summary: '30 % of holders announce every block and never deliver (stall every want)',
  mustHold: 'completion ≤ 1.3 × honest; black holes scored out within a few deadlines; origin bytes ≤ 1.5 × honest',
  async run (context) {
    const share = context.options.share ?? 0.3
    const count = faultyHolders(context.options.visitors, share)
    const baseline = await inWorld(context, async () => {}, () => evenPlan(context), async run => figuresOf('baseline', run))
    context.log(`black-holes baseline: ${baseline.ok}/${baseline.total} ok in ${baseline.completionMs} ms`)
    let holes: PeerProcess[] = []
    let holeStats: PeerProcessStats[] = []
    const fault = await inWorld(context, async world => {
      holes = await world.startHolders(count, 'stall')
    }, () => evenPlan(context), async run => {
      holeStats = await Promise.all(holes.map(async h => h.stats()))
      const perPair: Array<{ visitor: number, hole: number, abandoned: number }> = []
      run.done.states.forEach((state, visitor) => {
        holes.forEach((hole, h) => {
          const abandoned = state?.stats?.peers.find(p => p.peerId === hole.peerId)?.failures ?? 0
          if (abandoned > 0) perPair.push({ visitor, hole: h, abandoned })
        })
      })
      const lastArrival = Math.max(...run.done.outcomes.map(o => o.arrivedAtMs))
      return figuresOf('fault', run, {
        blackHoles: count,
        perPair,
        wantsReceived: holeStats.map(s => s.asked.wants),
        lastWantAfterLastArrivalMs: holeStats.map(s => s.asked.wants > 0 ? s.asked.lastAt - run.done.t0Wall - lastArrival : null)
      })
    })
    context.log(`black-holes fault: ${fault.ok}/${fault.total} ok in ${fault.completionMs} ms`)
    const pairs = fault.extra.perPair as Array<{ visitor: number, hole: number, abandoned: number }>
    const wants = fault.extra.wantsReceived as number[]
    const maxRounds = Math.max(0, ...pairs.map(p => Math.ceil(p.abandoned / DEFAULT_MAX_INFLIGHT_PER_PEER)))
    const checks: Check[] = [
      { name: 'the black holes were asked (the fault happened)', kind: 'behaviour', ok: wants.some(w => w > 0), detail: `wants received per black hole: ${wants.join(', ')}` }
    ]
    const r = result(blackHoles, baseline, fault, {
      blackHoles: count,
      wantsSwallowed: wants.reduce((s, w) => s + w, 0),
      abandonedAsks: pairs.reduce((s, p) => s + p.abandoned, 0),
      maxAbandonedPerVisitorAndHole: Math.max(0, ...pairs.map(p => p.abandoned)),
      extraOriginBytes: fault.originBytes - baseline.originBytes,
      duplicateBytes: fault.duplicateBytes
    }, checks)
    r.checks.push(
      boundCheck('completion ≤ 1.3 × the honest run', r.timeRatio, 1.3),
      boundCheck('origin bytes ≤ 1.5 × the honest run', r.originRatio, 1.5),
      { name: `black holes scored out within ${SCORED_OUT_ROUNDS} deadlines (per visitor, abandoned asks ÷ ${DEFAULT_MAX_INFLIGHT_PER_PEER} in flight)`, kind: 'bound', ok: maxRounds <= SCORED_OUT_ROUNDS, detail: `worst visitor–hole pair: ${Math.max(0, ...pairs.map(p => p.abandoned))} abandoned asks = ${maxRounds} deadline rounds` }
    )
    return r
  }
}
