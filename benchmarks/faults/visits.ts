/**
 * One run of a fault scenario's crowd: visitors called at their arrival times, some closed
 * mid-transfer when the plan says so, each given until the run's deadline; then their page
 * state collected, and the run's figures summed.
 */
import os from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'
import { cpuSeconds, descendants, listProcesses, machineCpuSeconds } from '../lib/proc.ts'
import { roundTo } from '../lib/stats.ts'
import type { FaultPageState, RunFigures, VisitorOutcome } from './types.ts'
import type { FaultVisitor, FaultWorld } from './world.ts'
import type { VisitResult } from '../crowd/pages.ts'
import type { CrowdAsset } from '../crowd/types.ts'

export interface VisitPlan {
  /** Arrival of each visitor, ms from the run's start. */
  arrivalsMs: number[]
  /** Visitor index → ms after its arrival at which its tab is closed (churn). */
  leaveAfterMs?: Map<number, number>
  /** A visitor without a result this long after the run's start has hung. */
  deadlineMs: number
  /** What the scenario does meanwhile (kill the relay…); awaited before the run ends. Gets the run's start, Date.now(). */
  during?: (t0Wall: number) => Promise<void>
}

export interface VisitsDone {
  outcomes: VisitorOutcome[]
  /** faultsState() of every visitor still open at the end (undefined for closed ones) */
  states: Array<FaultPageState | undefined>
  /** the run's start on the wall clock (Date.now()) */
  t0Wall: number
  cpu: RunCpu
}

/**
 * CPU over the visits: this driver's whole process tree (Chromium, relay, holders, origin)
 * against the machine's busy time. A process that ended meanwhile (a killed relay, a closed
 * tab) loses its last seconds, which then count as other work: the share errs high.
 */
export interface RunCpu { wallS: number, oursS: number, otherProcessesS: number, otherProcessesShare: number }

function treeCpu (): { at: number, ours: number, busy: number } {
  const all = listProcesses()
  const ours = descendants(process.pid, all).reduce((s, p) => s + (cpuSeconds(p.pid) ?? 0), 0)
  const m = machineCpuSeconds()
  // interrupts (loopback packets) are charged to no process: they are the run's too
  return { at: performance.now(), ours: ours + m.irq, busy: m.busy }
}

function cpuBetween (a: ReturnType<typeof treeCpu>, b: ReturnType<typeof treeCpu>): RunCpu {
  const wallS = (b.at - a.at) / 1000
  const oursS = b.ours - a.ours
  const otherProcessesS = Math.max(0, (b.busy - a.busy) - oursS)
  return { wallS: roundTo(wallS, 2), oursS: roundTo(oursS, 2), otherProcessesS: roundTo(otherProcessesS, 2), otherProcessesShare: roundTo(otherProcessesS / (wallS * os.cpus().length), 3) }
}

export async function runVisits (world: FaultWorld, visitors: FaultVisitor[], asset: CrowdAsset, plan: VisitPlan, signal?: AbortSignal): Promise<VisitsDone> {
  if (plan.arrivalsMs.length !== visitors.length) throw new RangeError(`${plan.arrivalsMs.length} arrivals for ${visitors.length} visitors`)
  world.origin.resetCounters()
  const cpuBefore = treeCpu()
  const t0Wall = Date.now()
  const t0 = performance.now()
  const deadline = delay(plan.deadlineMs, 'deadline' as const, { ref: false })
  const during = plan.during?.(t0Wall) ?? Promise.resolve()
  const outcomes = await Promise.all(visitors.map(async (v, i): Promise<VisitorOutcome> => {
    await delay(Math.max(0, t0 + plan.arrivalsMs[i]! - performance.now()), undefined, { signal })
    const calledAt = Date.now() - t0Wall
    const visit: Promise<VisitResult | { error: string }> = v.visit(world.pageConfig).then(r => r, (err: any) => ({ error: String(err?.message ?? err).split('\n')[0]! }))
    const leaveAfter = plan.leaveAfterMs?.get(i)
    const leaving = leaveAfter != null
      ? delay(leaveAfter, 'left' as const).then(async () => { await v.close(); return 'left' as const })
      : new Promise<never>(() => {})
    const settled = await Promise.race([visit, deadline, leaving])
    const base = { visitor: i, arrivedAtMs: calledAt, completeMs: -1, bytes: 0, byteExact: true, fromPeers: 0, fromOrigin: 0, originBytesReceived: 0, duplicateBytes: 0 }
    if (settled === 'left') return { ...base, outcome: 'left', leftAtMs: calledAt + leaveAfter! }
    if (settled === 'deadline') return { ...base, outcome: 'hung', error: `no result ${Math.round(plan.deadlineMs / 1000)} s after the run began` }
    if (!('result' in settled)) return { ...base, outcome: v.closed ? 'left' : 'failed', error: settled.error }
    const r = settled.result as VisitResult['result'] & Record<string, any>
    const arrivedAtMs = settled.startedAt - t0Wall
    const whole = r.bytes === asset.size
    const exact = whole && r.sha256 === asset.sha256
    return {
      ...base,
      peerId: r.peerId,
      outcome: r.ok && exact ? 'ok' : 'failed',
      arrivedAtMs,
      completeMs: r.ok && exact ? r.completeMs : -1,
      bytes: r.bytes,
      // a visitor that got every byte but not the asset's is the failure this suite exists for
      byteExact: !whole || exact,
      fromPeers: r.fromPeers,
      fromOrigin: r.fromOrigin,
      originBytesReceived: r.originBytesReceived ?? 0,
      duplicateBytes: r.duplicateBytes ?? 0,
      ...(r.error != null ? { error: r.error } : {}),
      ...(leaveAfter != null ? { leftAtMs: arrivedAtMs + leaveAfter, doneBeforeLeaving: true } : {}),
      scheduler: r.scheduler
    }
  }))
  await during
  const cpu = cpuBetween(cpuBefore, treeCpu())
  const states = await Promise.all(visitors.map(async v => v.state()))
  return { outcomes, states, t0Wall, cpu }
}

/** Sums a run; `expected` = the visitors that should complete (all but those the scenario closed). */
export function runFigures (label: RunFigures['label'], done: VisitsDone, originBytes: number, extra: Record<string, unknown> = {}): RunFigures {
  const { outcomes } = done
  const ok = outcomes.filter(o => o.outcome === 'ok')
  const expected = outcomes.filter(o => o.outcome !== 'left')
  const completionMs = expected.length > 0 && expected.every(o => o.outcome === 'ok')
    ? Math.round(Math.max(...expected.map(o => o.arrivedAtMs + o.completeMs)) - Math.min(...outcomes.map(o => o.arrivedAtMs)))
    : null
  return {
    label,
    visitors: outcomes,
    ok: ok.length,
    total: outcomes.length,
    bytesVerified: ok.reduce((s, o) => s + o.bytes, 0),
    byteExact: outcomes.every(o => o.byteExact),
    completionMs,
    originBytes,
    duplicateBytes: outcomes.reduce((s, o) => s + o.duplicateBytes, 0),
    fromPeers: outcomes.reduce((s, o) => s + o.fromPeers, 0),
    cpu: done.cpu,
    extra
  }
}

/** Evenly spread arrivals over `windowMs` (the first at 0). */
export function arrivals (count: number, windowMs: number): number[] {
  return Array.from({ length: count }, (_, i) => count === 1 ? 0 : Math.round(i * windowMs / (count - 1)))
}
