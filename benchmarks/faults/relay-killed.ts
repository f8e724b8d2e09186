/**
 * relay killed: the relay process is SIGKILLed while the crowd downloads and started again
 * `relayDownMs` (10 s) later with the same key file and port. Then a few new visitors arrive:
 * they should swarm (bytes from peers) as they would have before. The baseline is the same
 * crowd, and the same new visitors, with the relay left alone.
 *
 * Re-reservation: each page's first `relay:reserved` after the restart (page and driver read
 * the same wall clock, Date.now()).
 */
import { setTimeout as delay } from 'node:timers/promises'
import { boundCheck, evenPlan, figuresOf, inWorld, result } from './kit.ts'
import { arrivals, runVisits } from './visits.ts'
import type { Check, FaultScenario, RunFigures, ScenarioContext } from './types.ts'
import type { WorldRun } from './kit.ts'

const REARM_BOUND_MS = 5_000

/** New visitors after the crowd: how many, and what they got from peers. */
async function newcomers (context: ScenarioContext, run: WorldRun): Promise<{ count: number, ok: number, fromPeers: number[], byteExact: boolean }> {
  const count = Math.max(2, Math.round(context.options.visitors / 5))
  const pages = await run.world.openVisitors(count)
  const done = await runVisits(run.world, pages, context.asset, { arrivalsMs: arrivals(count, 500), deadlineMs: context.options.runTimeoutMs }, context.signal)
  return { count, ok: done.outcomes.filter(o => o.outcome === 'ok').length, fromPeers: done.outcomes.map(o => o.fromPeers), byteExact: done.outcomes.every(o => o.byteExact) }
}

export const relayKilled: FaultScenario = {
  name: 'relay-killed',
  summary: 'the relay is SIGKILLed mid-download and restarted 10 s later with the same key',
  mustHold: 'downloads in flight complete (direct links, origin); nodes re-reserve ≤ 5 s after the restart; new visitors then swarm as before',
  async run (context) {
    const downMs = context.options.relayDownMs
    const base = await inWorld(context, async () => {}, () => evenPlan(context), async run => ({ figures: figuresOf('baseline', run), after: await newcomers(context, run) }))
    const baseline: RunFigures = { ...base.figures, extra: { newcomers: base.after } }
    context.log(`relay-killed baseline: ${baseline.ok}/${baseline.total} ok in ${baseline.completionMs} ms; newcomers from peers ${base.after.fromPeers.join(', ')}`)
    // kill while every visitor is still downloading: after the last arrival, well before the baseline's first completion
    const firstDone = Math.min(...baseline.visitors.filter(v => v.outcome === 'ok').map(v => v.arrivedAtMs + v.completeMs))
    const killAtMs = Math.max(context.options.arrivalMs + 200, Math.round(Number.isFinite(firstDone) ? firstDone * 0.4 : 2_000))
    let killedAt = 0
    let restartedAt = 0
    const errors: string[] = []
    const f = await inWorld(context, async () => {}, world => ({
      ...evenPlan(context),
      during: async t0Wall => {
        await delay(Math.max(0, t0Wall + killAtMs - Date.now()))
        await world.killRelay()
        killedAt = Date.now() - t0Wall
        context.log(`relay-killed: relay SIGKILLed at ${killedAt} ms`)
        await delay(downMs)
        await world.restartRelay().catch((err: Error) => { errors.push(`relay restart: ${err.message}`) })
        restartedAt = Date.now() - t0Wall
        context.log(`relay-killed: relay restarted at ${restartedAt} ms`)
      }
    }), async run => {
      // before the newcomers: their run resets the origin's counters
      const figures = figuresOf('fault', run, { killAtMs: killedAt, restartedAtMs: restartedAt, relayDownMs: downMs })
      // the pages re-reserve after the restart: wait (bounded) until each did, then new visitors arrive
      const restartWall = run.done.t0Wall + restartedAt
      const rearm = async (): Promise<Array<number | null>> => Promise.all(run.visitors.map(async v => {
        const s = await v.state()
        const reserved = s?.relay.find(e => e.type === 'relay:reserved' && e.at >= restartWall)
        return reserved != null ? reserved.at - restartWall : null
      }))
      let rearmMs = await rearm()
      for (let waited = 0; rearmMs.some(ms => ms == null) && waited < 60_000; waited += 1_000) {
        await delay(1_000)
        rearmMs = await rearm()
      }
      const after = await newcomers(context, run)
      figures.extra.rearmMs = rearmMs
      return { figures, after }
    })
    const fault: RunFigures = { ...f.figures, extra: { ...f.figures.extra, newcomers: f.after } }
    context.log(`relay-killed fault: ${fault.ok}/${fault.total} ok in ${fault.completionMs} ms; newcomers from peers ${f.after.fromPeers.join(', ')}`)
    const rearmMs = fault.extra.rearmMs as Array<number | null>
    const inFlight = fault.visitors.filter(v => v.outcome !== 'ok' || v.arrivedAtMs + v.completeMs > killedAt)
    const checks: Check[] = [
      { name: 'downloads were in flight when the relay died (the fault happened)', kind: 'behaviour', ok: inFlight.length > 0 && killedAt > 0, detail: `${inFlight.length} visitors still downloading at ${killedAt} ms` },
      { name: 'every page reserved on the restarted relay', kind: 'behaviour', ok: rearmMs.every(ms => ms != null), detail: `ms after the restart: ${rearmMs.map(ms => ms ?? 'never').join(', ')}` },
      { name: 'new visitors after the restart complete byte-exact', kind: 'behaviour', ok: f.after.ok === f.after.count && f.after.byteExact, detail: `${f.after.ok}/${f.after.count}` },
      { name: 'new visitors after the restart swarm (bytes from peers)', kind: 'behaviour', ok: f.after.fromPeers.reduce((s, x) => s + x, 0) > 0, detail: `from peers: ${f.after.fromPeers.join(', ')} (baseline: ${base.after.fromPeers.join(', ')})` }
    ]
    const worst = rearmMs.some(ms => ms == null) ? null : Math.max(...(rearmMs as number[]))
    const r = result(relayKilled, baseline, fault, {
      relayDownMs: downMs,
      rearmMaxMs: worst,
      extraOriginBytes: fault.originBytes - baseline.originBytes,
      newcomerFromPeersBaseline: base.after.fromPeers.reduce((s, x) => s + x, 0),
      newcomerFromPeersFault: f.after.fromPeers.reduce((s, x) => s + x, 0)
    }, checks, errors)
    r.checks.push(boundCheck(`pages re-reserve ≤ ${REARM_BOUND_MS} ms after the restart`, worst, REARM_BOUND_MS, ' ms'))
    return r
  }
}
