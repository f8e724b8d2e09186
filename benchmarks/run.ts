// `npm run bench -- <scenario> [options]`: runs one benchmark scenario.
//   node benchmarks/run.ts mesh --pages 20
//   node benchmarks/run.ts flash-crowd --peers 20 --size 16MiB
import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { join } from 'node:path'

const HERE = new URL('.', import.meta.url).pathname

const scenarios: Record<string, { file: string, args?: string[], summary: string }> = {
  mesh: {
    file: 'mesh.ts',
    summary: 'relay process + N Chromium pages: page ready, parallel/isolated dials, DHT, gossip, memory, CPU'
  },
  throughput: {
    file: 'throughput.ts',
    summary: 'one browser→browser transfer: swarm.fetch vs a raw RTCDataChannel between the same two pages (MiB/s, CPU-s/MiB, ratio)'
  },
  'flash-crowd': {
    file: 'crowd.ts',
    args: ['flash-crowd'],
    summary: 'N visitors arrive within a short window and load one asset: swarm vs HTTP (vs WebTorrent), origin capped'
  },
  staggered: {
    file: 'crowd.ts',
    args: ['staggered'],
    summary: 'visitors arrive one after another and stay, seeding, until the end: swarm vs HTTP (vs WebTorrent)'
  },
  unconstrained: {
    file: 'crowd.ts',
    args: ['unconstrained'],
    summary: 'a crowd with an uncapped origin: what the swarm costs a visitor'
  },
  regions: {
    file: 'regions.ts',
    summary: 'visitors in 3 regions of an emulated WAN (user-space router: per-pair delay): bytes from same-region peers / other regions / origin, per region'
  },
  faults: {
    file: 'faults.ts',
    summary: 'fault suite: corrupt liars, black holes, churn, relay killed; each run without and with its fault (Chromium visitors, Node holders)'
  },
  'faults-protocol': {
    file: 'faults-fuzz.ts',
    summary: 'fault suite, protocol scale (Node): fuzz (100k wire messages, 10k manifests and builds), want flood, gossip spam [names to run only some]'
  },
  'relay-capacity': {
    file: 'relay-capacity.ts',
    summary: 'one relay process, thousands of quiet reserved visitors: relay CPU and memory per client, reachable time, ping RTT, gossip reach, where it degrades'
  },
  'dht-sim': {
    file: 'dht-sim.ts',
    summary: 'real kad-dht nodes in one process (memory transport + latency model) at growing N: build, memory/node, lookup p50/p95, success'
  }
}

const HELP = `Usage: node benchmarks/run.ts <scenario> [options]      (npm run bench -- <scenario> [options])

Scenarios:
${Object.entries(scenarios).map(([name, s]) => `  ${name.padEnd(13)}  ${s.summary}`).join('\n')}

Run 'node benchmarks/run.ts <scenario> --help' for a scenario's options.
Results go to benchmarks/results/<scenario>-<YYYY-MM-DD>.json (crowd scenarios also .md and .svg).`

const [name, ...rest] = process.argv.slice(2)
if (name == null || name === '--help' || name === '-h' || name === 'help') {
  const out = name == null ? process.stderr : process.stdout
  out.write(HELP + '\n')
  process.exit(name == null ? 2 : 0)
}
const scenario = scenarios[name]
if (scenario == null) {
  process.stderr.write(`bench: unknown scenario ${JSON.stringify(name)} (scenarios: ${Object.keys(scenarios).join(', ')})\n`)
  process.exit(2)
}
const child = spawn(process.execPath, [join(HERE, scenario.file), ...(scenario.args ?? []), ...rest], { stdio: 'inherit' })
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => { child.kill(signal) })
child.on('exit', (code, signal) => {
  process.exit(code ?? (signal != null ? 128 + (constants.signals[signal] ?? 0) : 1))
})
