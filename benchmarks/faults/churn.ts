/**
 * churn: `share` (50 %) of the visitors close their tab mid-transfer, each at a random moment
 * (seeded) between 10 % and 70 % of the baseline's median download time after its arrival.
 * The baseline is the same crowd with nobody leaving; its times set the leaving moments.
 */
import { evenPlan, figuresOf, inWorld, ratio, result } from './kit.ts'
import { seededRandom, shuffled } from '../lib/stats.ts'
import type { Check, FaultScenario } from './types.ts'

export const churn: FaultScenario = {
  name: 'churn',
  summary: '50 % of visitors close their tab mid-transfer, at random times',
  mustHold: 'every remaining visitor completes; no block waits more than deadline + one origin round trip after its holder left',
  async run (context) {
    const share = context.options.share ?? 0.5
    const n = context.options.visitors
    const baseline = await inWorld(context, async () => {}, () => evenPlan(context), async run => figuresOf('baseline', run))
    context.log(`churn baseline: ${baseline.ok}/${baseline.total} ok in ${baseline.completionMs} ms`)
    const times = baseline.visitors.filter(v => v.outcome === 'ok').map(v => v.completeMs).sort((a, b) => a - b)
    const median = times[Math.floor(times.length / 2)] ?? 5_000
    const random = seededRandom(context.options.seed)
    // who leaves: a seeded shuffle, then the first `share` of it
    const order = shuffled(Array.from({ length: n }, (_, i) => i), random)
    const leaving = order.slice(0, Math.round(n * share))
    const leaveAfterMs = new Map(leaving.map(i => [i, Math.round(median * (0.1 + 0.6 * random()))]))
    const fault = await inWorld(context, async () => {}, () => ({ ...evenPlan(context), leaveAfterMs }), async run => figuresOf('fault', run, { leaveAfterMs: Object.fromEntries(leaveAfterMs) }))
    context.log(`churn fault: ${fault.ok}/${fault.total} ok (${fault.visitors.filter(v => v.outcome === 'left').length} left) in ${fault.completionMs} ms`)
    const left = fault.visitors.filter(v => v.outcome === 'left')
    const remaining = fault.visitors.filter(v => v.outcome !== 'left')
    // the remaining visitors' own times, against the same visitors in the baseline
    const remainingIds = new Set(remaining.map(v => v.visitor))
    const baseOfRemaining = baseline.visitors.filter(v => remainingIds.has(v.visitor) && v.outcome === 'ok').map(v => v.completeMs)
    const faultOfRemaining = remaining.filter(v => v.outcome === 'ok').map(v => v.completeMs)
    const mean = (xs: number[]): number | null => xs.length === 0 ? null : xs.reduce((s, x) => s + x, 0) / xs.length
    const checks: Check[] = [
      { name: 'visitors left mid-transfer (the fault happened)', kind: 'behaviour', ok: left.length > 0, detail: `${left.length} of ${leaving.length} chosen left before their download ended` },
      { name: 'every remaining visitor completes byte-exact', kind: 'behaviour', ok: remaining.every(v => v.outcome === 'ok'), detail: `${remaining.filter(v => v.outcome === 'ok').length}/${remaining.length}` }
    ]
    return result(churn, baseline, fault, {
      left: left.length,
      doneBeforeLeaving: leaving.length - left.length,
      remainingMeanMsRatio: ratio(mean(faultOfRemaining), mean(baseOfRemaining)),
      extraOriginBytes: fault.originBytes - baseline.originBytes,
      blockWaitAfterHolderLeft: 'not measured'
    }, checks)
  }
}
