// The fault suite: `npm run bench -- faults [--scenarios a,b] [options]`. Each scenario (one file
// in benchmarks/faults/, listed in benchmarks/faults/scenarios.ts) runs a crowd of real Chromium
// visitors twice, without and with its fault, and reports what held and what the fault cost.
// Runs itself in a loopback-only netns.
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { codeVersion, machineInfo } from './crowd/machine.ts'
import { UsageError, parseDuration, parseRate, parseSize } from './crowd/units.ts'
import { FAULT_SCENARIOS } from './faults/scenarios.ts'
import { runFaultSuite } from './faults/suite.ts'
import { markdownReport, maxOtherShare, terminalReport } from './faults/report.ts'
import { reexecInNetns } from './lib/netns.ts'
import type { FaultSuiteResult } from './faults/report.ts'
import type { FaultOptions } from './faults/types.ts'

const ROOT = new URL('..', import.meta.url).pathname

const HELP = `Usage: node benchmarks/faults.ts [options]      (npm run bench -- faults [options])

Scenarios (all by default, in this order):
${FAULT_SCENARIOS.map(s => `  ${s.name.padEnd(14)} ${s.summary}`).join('\n')}

  --scenarios <list>    comma-separated names (default all)
  --visitors <n>        honest Chromium visitors (default 10)
  --size <bytes>        asset size, e.g. 4MiB (default 4MiB)
  --origin-rate <rate>  origin cap shared by everyone, e.g. 2MiB/s, or none (default 2MiB/s)
  --upload-rate <rate>  each visitor's and holder's upload cap (default 1MiB/s)
  --arrival <ms>        visitors arrive evenly over this window (default 2000)
  --block-deadline-ms <ms>  the swarm's blockDeadlineMs (default: the library's)
  --timeout <s>         a run's deadline: a visitor without a result by then hung (default 300)
  --relay-down <s>      relay killed: seconds between the kill and the restart (default 10)
  --share <0..1>        the share of holders or visitors the fault takes (default: the scenario's)
  --seed <n>            seed for random choices (default 11)
  --out <base>          output path without extension (default benchmarks/results/faults-<YYYY-MM-DD>)
  -h, --help

Writes <out>.json and <out>.md. Exit codes: 0 when every check held, 1 when one did not or a
scenario broke, 2 for bad arguments.`

function parseOptions (argv: string[]): { options: FaultOptions, scenarios: string[], out: string } | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      scenarios: { type: 'string' },
      visitors: { type: 'string' },
      size: { type: 'string' },
      'origin-rate': { type: 'string' },
      'upload-rate': { type: 'string' },
      arrival: { type: 'string' },
      'block-deadline-ms': { type: 'string' },
      timeout: { type: 'string' },
      'relay-down': { type: 'string' },
      share: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) return undefined
  const int = (name: string, value: string | undefined, fallback: number, min: number): number => {
    if (value == null) return fallback
    const n = Number(value)
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`)
    return n
  }
  const names = (values.scenarios ?? FAULT_SCENARIOS.map(s => s.name).join(',')).split(',').map(s => s.trim()).filter(Boolean)
  for (const n of names) if (!FAULT_SCENARIOS.some(s => s.name === n)) throw new UsageError(`unknown scenario ${JSON.stringify(n)} (${FAULT_SCENARIOS.map(s => s.name).join(', ')})`)
  const share = values.share != null ? Number(values.share) : undefined
  if (share != null && !(share > 0 && share < 1)) throw new UsageError('--share must be between 0 and 1')
  const date = new Date().toISOString().slice(0, 10)
  return {
    scenarios: names,
    out: resolve(values.out ?? `${ROOT}benchmarks/results/faults-${date}`).replace(/\.(json|md)$/, ''),
    options: {
      visitors: int('visitors', values.visitors, 10, 2),
      sizeBytes: parseSize(values.size ?? '4MiB', 'size'),
      originBytesPerSecond: parseRate(values['origin-rate'] ?? '2MiB/s', 'origin-rate'),
      uploadBytesPerSecond: parseRate(values['upload-rate'] ?? '1MiB/s', 'upload-rate'),
      arrivalMs: values.arrival != null ? parseDuration(values.arrival, 'arrival', 'ms') : 2000,
      ...(values['block-deadline-ms'] != null ? { blockDeadlineMs: int('block-deadline-ms', values['block-deadline-ms'], 1500, 1) } : {}),
      runTimeoutMs: values.timeout != null ? parseDuration(values.timeout, 'timeout', 's') : 300_000,
      relayDownMs: values['relay-down'] != null ? parseDuration(values['relay-down'], 'relay-down', 's') : 10_000,
      seed: int('seed', values.seed, 11, 0),
      ...(share != null ? { share } : {})
    }
  }
}

async function main (): Promise<number> {
  let parsed
  try {
    parsed = parseOptions(process.argv.slice(2))
  } catch (err: any) {
    process.stderr.write(`faults: ${err.message}; try --help\n`)
    return 2
  }
  if (parsed == null) {
    process.stdout.write(HELP + '\n')
    return 0
  }
  const outer = reexecInNetns(new URL(import.meta.url).pathname)
  if (outer != null) return outer
  const { options, scenarios, out } = parsed
  const t0 = performance.now()
  const log = (line: string): void => { process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`) }
  const result: FaultSuiteResult = {
    benchmark: 'faults',
    date: new Date().toISOString(),
    options: { ...options, originBytesPerSecond: Number.isFinite(options.originBytesPerSecond) ? options.originBytesPerSecond : (null as unknown as number), scenarios },
    machine: await machineInfo(),
    code: codeVersion(),
    scenarios: [],
    otherProcessesShare: null
  }
  const write = async (base: string): Promise<void> => {
    result.otherProcessesShare = maxOtherShare(result.scenarios)
    result.durationS = Math.round((performance.now() - t0) / 1000)
    await mkdir(dirname(base), { recursive: true })
    await writeFile(`${base}.json`, JSON.stringify(result, null, 2) + '\n')
    await writeFile(`${base}.md`, markdownReport(result))
  }
  const controller = new AbortController()
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      result.aborted = signal
      controller.abort(new Error(signal))
      void write(`${out}.aborted`).finally(() => process.exit(code))
    })
  }
  log(`faults: ${scenarios.join(', ')}; ${options.visitors} visitors, ${options.sizeBytes} bytes`)
  await runFaultSuite({
    options,
    scenarios: scenarios.map(n => FAULT_SCENARIOS.find(s => s.name === n)!),
    log,
    signal: controller.signal,
    onResult: r => { result.scenarios.push(r) }
  })
  await write(out)
  process.stderr.write(`wrote ${relative(process.cwd(), `${out}.json`)}, ${relative(process.cwd(), `${out}.md`)}\n`)
  process.stdout.write(terminalReport(result) + '\n')
  return result.scenarios.every(s => s.checks.every(c => c.ok)) ? 0 : 1
}

process.exitCode = await main()
