/** The fault suite's report: a markdown table per scenario, and a short one for the terminal. */
import type { FaultOptions, ScenarioResult } from './types.ts'
import type { MachineInfo } from '../crowd/machine.ts'

export interface FaultSuiteResult {
  benchmark: 'faults'
  date: string
  options: FaultOptions & { scenarios: string[] }
  machine: MachineInfo | null
  code: { commit: string | null, uncommitted: string[] }
  durationS?: number
  aborted?: string
  scenarios: ScenarioResult[]
  /** the largest otherProcessesShare of any run: figures count only below 0.10 */
  otherProcessesShare: number | null
}

const MiB = 1024 * 1024
const mib = (b: number): string => (b / MiB).toFixed(2)
const sec = (ms: number | null): string => ms == null ? '—' : (ms / 1000).toFixed(1)

export function maxOtherShare (scenarios: ScenarioResult[]): number | null {
  const shares = scenarios.flatMap(s => [s.baseline.cpu?.otherProcessesShare, s.fault.cpu?.otherProcessesShare]).filter((x): x is number => x != null)
  return shares.length === 0 ? null : Math.max(...shares)
}

function scenarioMd (s: ScenarioResult): string {
  const row = (label: string, f: (r: ScenarioResult['baseline']) => string): string => `| ${label} | ${f(s.baseline)} | ${f(s.fault)} |`
  const lines = [
    `## ${s.scenario}`,
    '',
    `${s.summary}. Must hold: ${s.mustHold}.`,
    '',
    '| | without the fault | with it |',
    '|---|---|---|',
    row('visitors ok / total', r => `${r.ok} / ${r.total}${r.visitors.some(v => v.outcome === 'left') ? ` (${r.visitors.filter(v => v.outcome === 'left').length} left)` : ''}`),
    row('bytes verified (MiB), byte-exact', r => `${mib(r.bytesVerified)}, ${r.byteExact ? 'yes' : '**no**'}`),
    row('completion (s), first arrival → last done', r => sec(r.completionMs)),
    row('origin bytes (MiB, its own counter)', r => mib(r.originBytes)),
    row('from peers / duplicates (MiB)', r => `${mib(r.fromPeers)} / ${mib(r.duplicateBytes)}`),
    row('hung / failed', r => `${r.visitors.filter(v => v.outcome === 'hung').length} / ${r.visitors.filter(v => v.outcome === 'failed').length}`),
    row('CPU: ours, other processes (share)', r => r.cpu == null ? '—' : `${r.cpu.oursS} s, ${r.cpu.otherProcessesS} s (${r.cpu.otherProcessesShare})`),
    '',
    `Time ratio ${s.timeRatio ?? '—'}, origin-bytes ratio ${s.originRatio ?? '—'}. What the fault cost: ${Object.entries(s.cost).map(([k, v]) => `${k} ${typeof v === 'number' && /bytes/i.test(k) ? `${mib(v)} MiB` : v}`).join(', ')}.`,
    '',
    '| check | kind | holds | detail |',
    '|---|---|---|---|',
    ...s.checks.map(c => `| ${c.name} | ${c.kind} | ${c.ok ? 'yes' : '**no**'} | ${c.detail.replace(/\|/g, '\\|')} |`),
    ...(s.errors.length > 0 ? ['', 'Errors:', '', ...s.errors.map(e => `    ${e.split('\n')[0]}`)] : [])
  ]
  return lines.join('\n')
}

export function markdownReport (r: FaultSuiteResult): string {
  const o = r.options
  const m = r.machine
  return [
    `# Fault suite, ${r.date.slice(0, 10)}`,
    '',
    `\`npm run bench -- faults\`: ${o.visitors} Chromium visitors, ${mib(o.sizeBytes)} MiB asset, origin ${Number.isFinite(o.originBytesPerSecond) ? `${mib(o.originBytesPerSecond)} MiB/s` : 'uncapped'}, upload ${mib(o.uploadBytesPerSecond)} MiB/s per visitor, arrivals over ${o.arrivalMs} ms, seed ${o.seed}. ` +
      'Each scenario runs the same crowd twice in a fresh world (origin, relay process, Chromium, Node holders): once without the fault, once with it.',
    '',
    `Code: commit \`${r.code.commit ?? '?'}\`${r.code.uncommitted.length > 0 ? `, uncommitted: ${r.code.uncommitted.join(', ')}` : ', no uncommitted changes'}. ` +
      (m != null ? `Machine: ${m.cpus} × ${m.cpuModel}, Node ${m.node}, ${Math.round(m.busyShareBeforeStart * 100)} % busy before the start. ` : '') +
      `Largest otherProcessesShare of any run: ${r.otherProcessesShare ?? '—'}${r.otherProcessesShare != null && r.otherProcessesShare >= 0.1 ? ' (**not a quiet run: figures slower than this machine can do**)' : ''}.` +
      (r.aborted != null ? ` **Aborted: ${r.aborted}.**` : ''),
    '',
    ...r.scenarios.map(scenarioMd),
    ''
  ].join('\n\n').replace(/\n{3,}/g, '\n\n')
}

export function terminalReport (r: FaultSuiteResult): string {
  return r.scenarios.map(s => {
    const failed = s.checks.filter(c => !c.ok)
    return `${s.scenario.padEnd(14)} ok ${s.fault.ok}/${s.fault.total} (baseline ${s.baseline.ok}/${s.baseline.total}), ${sec(s.fault.completionMs)} s vs ${sec(s.baseline.completionMs)} s (×${s.timeRatio ?? '—'}), origin ${mib(s.fault.originBytes)} vs ${mib(s.baseline.originBytes)} MiB; ` +
      (failed.length === 0 ? 'all checks hold' : `failed: ${failed.map(c => `${c.name} [${c.detail}]`).join('; ')}`)
  }).join('\n')
}
