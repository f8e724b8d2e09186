// `npm run bench -- <scenario> [options]`: runs one benchmark scenario.
//   node benchmarks/run.ts mesh --pages 20
import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { join } from 'node:path'

const HERE = new URL('.', import.meta.url).pathname

const scenarios: Record<string, { file: string, summary: string }> = {
  mesh: {
    file: 'mesh.ts',
    summary: 'relay process + N Chromium pages: page ready, parallel/isolated dials, DHT, gossip, memory, CPU'
  }
}

const HELP = `Usage: node benchmarks/run.ts <scenario> [options]      (npm run bench -- <scenario> [options])

Scenarios:
${Object.entries(scenarios).map(([name, s]) => `  ${name.padEnd(8)}  ${s.summary}`).join('\n')}

Run 'node benchmarks/run.ts <scenario> --help' for a scenario's options.
Results go to benchmarks/results/<scenario>-<YYYY-MM-DD>.json.`

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
const child = spawn(process.execPath, [join(HERE, scenario.file), ...rest], { stdio: 'inherit' })
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => { child.kill(signal) })
child.on('exit', (code, signal) => {
  process.exit(code ?? (signal != null ? 128 + (constants.signals[signal] ?? 0) : 1))
})
