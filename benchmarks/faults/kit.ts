/** What every fault scenario does the same way: one world per run, the common checks, the comparison. */
import { runFigures, runVisits, arrivals } from './visits.ts'
import type { Check, RunFigures, ScenarioContext, ScenarioResult } from './types.ts'
import type { VisitPlan, VisitsDone } from './visits.ts'
import type { FaultVisitor, FaultWorld } from './world.ts'

export function ratio (a: number | null | undefined, b: number | null | undefined): number | null {
  if (a == null || b == null || !(b > 0)) return null
  return Math.round(a / b * 1000) / 1000
}

export interface WorldRun {
  world: FaultWorld
  visitors: FaultVisitor[]
  done: VisitsDone
}

/**
 * Opens a world and its visitor pages, lets `prepare` add to it (holders…), runs the visits,
 * hands everything to `measure` while the world still stands, then tears the world down.
 */
export async function inWorld<T> (context: ScenarioContext, prepare: (world: FaultWorld) => Promise<void>, plan: (world: FaultWorld) => VisitPlan, measure: (run: WorldRun) => Promise<T>): Promise<T> {
  const world = await context.world()
  try {
    const visitors = await world.openVisitors(context.options.visitors)
    await prepare(world)
    context.signal?.throwIfAborted()
    const done = await runVisits(world, visitors, context.asset, plan(world), context.signal)
    return await measure({ world, visitors, done })
  } finally {
    await world.close()
  }
}

/** The default plan: every visitor arrives within the arrival window and stays. */
export function evenPlan (context: ScenarioContext): VisitPlan {
  const { visitors, arrivalMs, runTimeoutMs } = context.options
  return { arrivalsMs: arrivals(visitors, arrivalMs), deadlineMs: runTimeoutMs }
}

/** A plain run's figures: origin bytes by the origin's counter. */
export function figuresOf (label: RunFigures['label'], run: WorldRun, extra: Record<string, unknown> = {}): RunFigures {
  return runFigures(label, run.done, run.world.origin.bytesServed(run.world.pageConfig.path), extra)
}

/** What must hold in any run, fault or not: every whole body byte-exact, every visitor that stayed done, none hung. */
export function commonChecks (run: RunFigures): Check[] {
  const stayed = run.visitors.filter(v => v.outcome !== 'left')
  const hung = run.visitors.filter(v => v.outcome === 'hung')
  const failed = stayed.filter(v => v.outcome === 'failed')
  return [
    { name: `${run.label}: every completed download byte-exact`, kind: 'behaviour', ok: run.byteExact, detail: `${run.visitors.filter(v => !v.byteExact).length} visitors got every byte but not the asset's` },
    { name: `${run.label}: no visitor hangs past the run's bound`, kind: 'behaviour', ok: hung.length === 0, detail: hung.length === 0 ? 'none' : `visitors ${hung.map(v => v.visitor).join(', ')}` },
    { name: `${run.label}: every visitor that stayed completes`, kind: 'behaviour', ok: failed.length === 0 && hung.length === 0, detail: `${stayed.length - failed.length - hung.length}/${stayed.length} ok${failed.length > 0 ? `; failed: ${failed.map(v => `${v.visitor} (${v.error ?? '?'})`).join('; ')}` : ''}` }
  ]
}

export function boundCheck (name: string, value: number | null, bound: number, unit = '×'): Check {
  return { name, kind: 'bound', ok: value != null && value <= bound, detail: value == null ? 'not measured (a run did not complete)' : `${value}${unit} (bound ${bound}${unit})` }
}

export function result (scenario: { name: string, summary: string, mustHold: string }, baseline: RunFigures, fault: RunFigures, cost: ScenarioResult['cost'], checks: Check[], errors: string[] = []): ScenarioResult {
  return {
    scenario: scenario.name,
    summary: scenario.summary,
    mustHold: scenario.mustHold,
    baseline,
    fault,
    timeRatio: ratio(fault.completionMs, baseline.completionMs),
    originRatio: ratio(fault.originBytes, baseline.originBytes),
    cost,
    checks: [...commonChecks(baseline), ...commonChecks(fault), ...checks],
    errors
  }
}

/** Holders a share of `share` of all holders takes when the visitors are the other holders. */
export function faultyHolders (visitors: number, share: number): number {
  return Math.max(1, Math.round(visitors * share / (1 - share)))
}
