// `npm run bench -- relay-capacity`: one real relay process and thousands of quiet, reserved
// visitors (real swarm nodes, many per process: benchmarks/lib/relay-capacity/clients.ts).
// Clients are added in steps; after each step settles, it measures the relay's CPU (cores) and
// memory per client, the time a new client takes to be reachable (WebSocket + noise + yamux +
// identify + reservation), ping RTT to the relay, and how many clients a gossip message reaches
// through the relay (its hub). The "degraded" step is the first where reachable p95 or ping
// p95 is more than 3× the first step's, a client fails, or a probe reaches < 99 % of clients.
import { spawn } from 'node:child_process'
import { writeFile, mkdir } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { startRelayProcess } from '../test/helpers/relay-process.ts'
import { cpuBetween, cpuMark } from './lib/cpu.ts'
import { memoryOf } from './lib/proc.ts'
import { percentile, roundTo, table } from './lib/stats.ts'
import type { ChildProcess } from 'node:child_process'

const HERE = new URL('.', import.meta.url).pathname
const HELP = `Usage: npm run bench -- relay-capacity [options]
  --steps <list>        total clients after each step (default 250,500,1000,1500,2000)
  --per-process <n>     clients per client process (default 500)
  --settle-ms <ms>      wait after a step before measuring (default 10000)
  --measure-ms <ms>     CPU window per step (default 30000: one have-summary round)
  --out <file>          results path without extension (default benchmarks/results/relay-capacity-<date>)`

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '250,500,1000,1500,2000' },
    'per-process': { type: 'string', default: '500' },
    'settle-ms': { type: 'string', default: '10000' },
    'measure-ms': { type: 'string', default: '30000' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  }
})
if (values.help === true) { process.stdout.write(HELP + '\n'); process.exit(0) }
const steps = values.steps.split(',').map(Number)
const perProcess = Number(values['per-process'])
const settleMs = Number(values['settle-ms'])
const measureMs = Number(values['measure-ms'])
const PUBLISH_INTERVAL_MS = 30_000

interface Worker { child: ChildProcess, count: number, call(cmd: string, args?: Record<string, unknown>): Promise<any> }

async function startWorker (relay: string): Promise<Worker> {
  const child = spawn(process.execPath, ['--max-old-space-size=8192', join(HERE, 'lib/relay-capacity/clients.ts'), JSON.stringify({ relay, siteId: 'capacity', publishIntervalMs: PUBLISH_INTERVAL_MS })], { stdio: ['pipe', 'pipe', 'inherit'] })
  const waiting = new Map<number, PromiseWithResolvers<any>>()
  const ready = Promise.withResolvers<void>()
  child.once('exit', code => { const e = new Error(`client process exited ${code}`); ready.reject(e); for (const w of waiting.values()) w.reject(e) })
  createInterface({ input: child.stdout! }).on('line', line => {
    let m: any
    try { m = JSON.parse(line) } catch { return }
    if (m.ready === true) { ready.resolve(); return }
    const w = waiting.get(m.id)
    if (w == null) return
    waiting.delete(m.id)
    if (m.ok === true) w.resolve(m)
    else w.reject(new Error(m.error))
  })
  await ready.promise
  let next = 0
  return {
    child,
    count: 0,
    async call (cmd, args = {}) {
      const id = next++
      const w = Promise.withResolvers<any>()
      waiting.set(id, w)
      child.stdin!.write(JSON.stringify({ id, cmd, ...args }) + '\n')
      return w.promise
    }
  }
}

const p = (xs: number[], q: number): number => xs.length === 0 ? NaN : roundTo(percentile([...xs].sort((a, b) => a - b), q), 1)
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== ''

let stopping = false
const relay = await startRelayProcess({ args: ['--max-reservations', '20000', '--max-connections', '30000'] })
const workers: Worker[] = []
// an interrupted run still ends its relay and client processes
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    for (const w of workers) w.child.kill('SIGKILL')
    relay.child.kill('SIGKILL')
    process.exit(130)
  })
}

/** The relay's own event-loop delay p99 (ms), from its Prometheus metrics (prom-client's default metrics). */
async function relayLoopLagP99Ms (): Promise<number | undefined> {
  const text = await (await fetch(`${relay.http}/metrics`)).text()
  const m = /^nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? ([\d.e+-]+)$/m.exec(text)
  return m == null ? undefined : roundTo(Number(m[1]) * 1000, 1)
}
const results: any[] = []
let degradedAt: number | undefined
let gossipReachBelow99At: number | undefined
const t0 = performance.now()
try {
  for (const total of steps) {
    // new clients go to the least-filled process, in batches no process exceeds perProcess with
    const latencies: number[] = []
    let failures = 0
    const errors: string[] = []
    let need = total - workers.reduce((s, w) => s + w.count, 0)
    const jobs: Array<Promise<void>> = []
    while (need > 0) {
      let w = workers.find(x => x.count < perProcess)
      if (w == null) { w = await startWorker(relay.ws); workers.push(w) }
      const n = Math.min(need, perProcess - w.count)
      w.count += n
      need -= n
      const worker = w
      jobs.push(worker.call('add', { n }).then(r => { latencies.push(...r.latencies); failures += r.failures; errors.push(...r.errors) }))
    }
    const clientRss: number[] = []
    await Promise.all(jobs)
    for (const w of workers) { const m = await w.call('mem'); clientRss.push(m.rss) }
    await new Promise(resolve => setTimeout(resolve, settleMs))
    const pids = Object.fromEntries([['relay', relay.child.pid], ...workers.map((w, i) => [`clients${i}`, w.child.pid])])
    // prom-client resets its loop-delay histogram at each scrape: this one starts the window
    await relayLoopLagP99Ms()
    const a = cpuMark(pids)
    await new Promise(resolve => setTimeout(resolve, measureMs))
    const b = cpuMark(pids)
    const relayLag = await relayLoopLagP99Ms()
    const cpu = cpuBetween(a, b)
    const mem = memoryOf(relay.child.pid!)
    // pings and probes after the CPU window, so they don't count in it
    const pings = await Promise.all(workers.map(async w => w.call('ping', { sample: Math.ceil(100 / workers.length) })))
    const rtts = pings.flatMap(x => x.rtts)
    const reach: number[] = []
    for (let i = 0; i < 3; i++) {
      const marker = `${total}-${i}`
      await workers[i % workers.length]!.call('probe', { marker })
      await new Promise(resolve => setTimeout(resolve, 3_000))
      const heard = await Promise.all(workers.map(async w => w.call('heard', { marker })))
      reach.push(heard.reduce((s, h) => s + h.heard, 0) / heard.reduce((s, h) => s + h.clients, 0))
    }
    const health = await (await fetch(`${relay.http}/health`)).json() as { connections: number, reservations: number }
    const relayCores = (cpu.othersS.relay ?? 0) / cpu.wallS
    const row = {
      clients: total,
      reservations: health.reservations,
      relayConnections: health.connections,
      newClientFailures: failures,
      newClientErrors: errors.slice(0, 3),
      reachableMs: { p50: p(latencies, 50), p95: p(latencies, 95), max: p(latencies, 100) },
      pingRttMs: { p50: p(rtts, 50), p95: p(rtts, 95), max: p(rtts, 100), failures: pings.reduce((s, x) => s + x.failures, 0) },
      relayLoopLagP99Ms: relayLag,
      clientLoopLagP99Ms: roundTo(Math.max(...pings.map(x => x.loopLagP99Ms)), 1),
      gossipReach3s: reach.map(r => roundTo(r, 3)),
      relayCores: roundTo(relayCores, 3),
      relayCoreMsPerClientPerS: roundTo(relayCores * 1000 / total, 4),
      relayRssMiB: mem == null ? undefined : roundTo(mem.rssKiB / 1024, 1),
      relayKiBPerClient: mem == null ? undefined : roundTo(mem.rssKiB / total, 1),
      // what one more client costs the relay, from the step before (the first step's includes the relay's own ~200 MiB)
      relayMarginalKiBPerClient: mem == null ? undefined : roundTo((mem.rssKiB - (results.at(-1)?.relayRssKiB ?? 0)) / (total - (results.at(-1)?.clients ?? 0)), 1),
      relayRssKiB: mem?.rssKiB,
      clientProcessMiBPerClient: roundTo(clientRss.reduce((s2, x) => s2 + x, 0) / 2 ** 20 / total, 2),
      elapsedS: roundTo((performance.now() - t0) / 1000, 0),
      clientProcessesCores: roundTo(Object.entries(cpu.othersS).filter(([k]) => k.startsWith('clients')).reduce((s, [, v]) => s + v, 0) / cpu.wallS, 2),
      machineBusyShare: cpu.machineBusyShare,
      otherProcessesShare: cpu.otherProcessesShare
    }
    results.push(row)
    process.stdout.write(JSON.stringify(row) + '\n')
    const base = results[0]
    if (reach.some(r => r < 0.99) && gossipReachBelow99At == null) gossipReachBelow99At = total
    const degraded = failures > 0 || (relayLag ?? 0) > 100 ||
      (results.length > 1 && (row.reachableMs.p95 > 3 * base.reachableMs.p95 || row.pingRttMs.p95 > 3 * base.pingRttMs.p95))
    if (degraded && degradedAt == null) degradedAt = total
  }
} finally {
  await Promise.allSettled(workers.map(async w => {
    const exited = new Promise(resolve => w.child.once('exit', resolve))
    await Promise.race([w.call('stop'), new Promise(resolve => setTimeout(resolve, 60_000))])
    w.child.kill('SIGKILL')
    await exited
  }))
  await relay.stop()
}

const date = new Date().toISOString().slice(0, 10)
const outBase = values.out ?? join(HERE, 'results', `relay-capacity-${date}`)
const report = {
  scenario: 'relay-capacity',
  commit: dirty ? `${commit}+dirty` : commit,
  date: new Date().toISOString(),
  machine: { cores: os.cpus().length, model: os.cpus()[0]?.model, memGiB: roundTo(os.totalmem() / 2 ** 30, 1) },
  settings: { steps, perProcess, settleMs, measureMs, publishIntervalMs: PUBLISH_INTERVAL_MS },
  degradedAt: degradedAt ?? null,
  gossipReachBelow99At: gossipReachBelow99At ?? null,
  steps: results
}
await mkdir(join(HERE, 'results'), { recursive: true })
await writeFile(`${outBase}.json`, JSON.stringify(report, null, 2) + '\n')
const md = `# relay-capacity ${date} (commit ${report.commit})

One relay process, quiet reserved visitors (real swarm nodes, ${perProcess} per process, each publishing a have summary every ${PUBLISH_INTERVAL_MS / 1000} s), on ${report.machine.cores} cores shared by the relay and the client processes.
Degraded at: ${degradedAt ?? 'not within the steps run'} (first step with a failed client, reachable/ping p95 > 3× the first step's, or the relay's event-loop p99 over 100 ms).
Client processes share the machine with the relay: where their own event loops lag (client loop lag), ping and reachable times measure them, not the relay; the relay's loop lag and CPU are its own.
Gossip reach below 99 % in 3 s from: ${gossipReachBelow99At ?? 'never'} (the hub meshes at most 2 × DEFAULT_HUB_MESH_DEGREE = 128 clients; the rest hear a message through lazy IHAVE gossip, or not at all).

${table([
  ['clients', 'relay loop lag p99 ms', 'client loop lag p99 ms', 'relay cores', 'relay core-ms/client/s', 'relay RSS MiB', 'marginal KiB/client', 'reachable p50/p95 ms', 'ping p50/p95 ms', 'gossip reach 3 s', 'client procs cores', 'other load'],
  ...results.map(r => [r.clients, r.relayLoopLagP99Ms ?? '', r.clientLoopLagP99Ms, r.relayCores, r.relayCoreMsPerClientPerS, r.relayRssMiB ?? '', r.relayMarginalKiBPerClient ?? '', `${r.reachableMs.p50}/${r.reachableMs.p95}`, `${r.pingRttMs.p50}/${r.pingRttMs.p95}`, r.gossipReach3s.join(' '), r.clientProcessesCores, r.otherProcessesShare])
])}
`
await writeFile(`${outBase}.md`, md)
process.stdout.write(md)
