// How a crowd grows with N, from several crowd results files (one N each, same scenario):
//   node benchmarks/crowd/scaling.ts <out-base> <result.json>…
// writes <out-base>.md (a table per N, with the targets: origin ≤ 2 F, offload ≥ 1 − 2/N) and
// two charts: <out-base>-origin.svg (origin bytes by its own counter ÷ F, offload) and
// <out-base>-bound.svg (last completion ÷ the Kumar–Ross bound, CPU-s per MiB).
import { readFile, writeFile } from 'node:fs/promises'
import { basename, relative } from 'node:path'
import { lineChartSvg } from '../lib/svg-line-chart.ts'
import { roundTo } from '../lib/stats.ts'
import { summarizeCrowd } from './report.ts'
import type { CrowdResult } from './report.ts'

export interface ScalingRow {
  peers: number
  file: string
  runs: number
  ok: number
  visitors: number
  sizeBytes: number
  /** origin bytes by its own counter per run (mean) ÷ F */
  originPerFile: number
  offload: number | null
  offloadTarget: number
  lastS: number | null
  boundS: number
  lastToBound: number | null
  cpuSecondsPerMiB: number | null
  /** ours and others' share of the machine: the largest over runs */
  oursShare: number | null
  otherProcessesShare: number | null
  /** PSS of the Node visitor hosts per visitor, MiB (mean over runs) */
  nodePssMiBPerVisitor: number | null
  commit: string | null
}

export function scalingRow (result: CrowdResult, file: string): ScalingRow {
  const summary = summarizeCrowd(result)
  const s = summary.systems.find(x => x.system === 'swarm') ?? summary.systems[0]
  if (s == null) throw new Error(`${file}: no system ran`)
  const runs = result.runs.filter(r => r.system === s.system)
  const F = result.options.sizeBytes
  const N = result.options.peers
  const hosts = runs.map(r => r.nodeHosts).filter(h => h != null)
  const shares = runs.map(r => r.cpu?.oursShare).filter((x): x is number => x != null)
  return {
    peers: N,
    file,
    runs: runs.length,
    ok: s.ok,
    visitors: s.visitors,
    sizeBytes: F,
    originPerFile: roundTo(s.originSentBytes / Math.max(1, runs.length) / F, 2),
    offload: s.offloadRatio,
    offloadTarget: roundTo(1 - 2 / N, 3),
    lastS: s.lastCompletionMs != null ? roundTo(s.lastCompletionMs / 1000, 1) : null,
    boundS: roundTo(result.bound.seconds, 2),
    lastToBound: s.lastToBound,
    cpuSecondsPerMiB: s.cpuSecondsPerMiB,
    oursShare: shares.length > 0 ? Math.max(...shares) : null,
    otherProcessesShare: s.otherProcessesShare,
    nodePssMiBPerVisitor: hosts.length > 0 ? roundTo(hosts.reduce((a, h) => a + h.pssMiB / h.visitors, 0) / hosts.length, 1) : null,
    commit: result.code?.commit?.slice(0, 10) ?? null
  }
}

const fmt = (x: number | null, d = 2): string => x == null ? '—' : x.toFixed(d)
const pct = (x: number | null): string => x == null ? '—' : `${Math.round(x * 100)} %`

export function scalingMarkdown (rows: ScalingRow[], charts: { origin: string, bound: string }): string {
  const header = ['N', 'runs', 'ok', 'origin sent ÷ F (target ≤ 2)', 'from peers (target ≥ 1 − 2/N)', 'last done (s)', 'bound (s)', 'last ÷ bound', 'CPU-s per MiB', 'machine busy (ours)', 'others', 'Node PSS per visitor (MiB)', 'commit', 'file']
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---:').join('|')}|`,
    ...rows.map(r => `| ${r.peers} | ${r.runs} | ${r.ok}/${r.visitors} | ${fmt(r.originPerFile)} | ${pct(r.offload)} (${pct(r.offloadTarget)}) | ${fmt(r.lastS, 1)} | ${fmt(r.boundS)} | ${fmt(r.lastToBound)} | ${fmt(r.cpuSecondsPerMiB, 3)} | ${pct(r.oursShare)} | ${pct(r.otherProcessesShare)} | ${fmt(r.nodePssMiBPerVisitor, 1)} | ${r.commit ?? '—'} | [${basename(r.file).replace(/\.json$/, '.md')}](${basename(r.file).replace(/\.json$/, '.md')}) |`),
    '',
    `![origin bytes and offload against N](${charts.origin})`,
    '',
    `![last completion ÷ bound and CPU per MiB against N](${charts.bound})`,
    ''
  ].join('\n')
}

export function scalingCharts (rows: ScalingRow[], note: string): { origin: string, bound: string } {
  const xTicks = rows.map(r => r.peers)
  return {
    origin: lineChartSvg({
      title: 'Origin bytes (its own counter) ÷ file size, against N',
      note,
      xLabel: 'visitors N',
      yLabel: 'origin sent ÷ F',
      logX: true,
      xTicks,
      series: [
        { name: 'origin sent ÷ F', color: '#d62728', points: rows.map(r => [r.peers, r.originPerFile]) },
        { name: 'target 2', color: '#d62728', dashed: true, points: rows.map(r => [r.peers, 2]) },
        // (plain HTTP would be N on this scale)
        { name: '(1 − from peers) × N', color: '#1f77b4', dashed: true, points: rows.filter(r => r.offload != null).map(r => [r.peers, roundTo((1 - r.offload!) * r.peers, 2)]) }
      ]
    }),
    bound: lineChartSvg({
      title: 'Last completion ÷ Kumar–Ross bound, against N',
      note,
      xLabel: 'visitors N',
      yLabel: 'last ÷ bound; CPU-s per MiB × 100',
      logX: true,
      xTicks,
      series: [
        { name: 'last ÷ bound', color: '#2ca02c', points: rows.filter(r => r.lastToBound != null).map(r => [r.peers, r.lastToBound!]) },
        { name: 'CPU-s/MiB × 100', color: '#9467bd', dashed: true, points: rows.filter(r => r.cpuSecondsPerMiB != null).map(r => [r.peers, roundTo(r.cpuSecondsPerMiB! * 100, 1)]) }
      ]
    })
  }
}

async function main (): Promise<void> {
  const [base, ...files] = process.argv.slice(2)
  if (base == null || files.length === 0) {
    process.stderr.write('usage: node benchmarks/crowd/scaling.ts <out-base> <result.json>…\n')
    process.exitCode = 2
    return
  }
  const rows: ScalingRow[] = []
  let first: CrowdResult | undefined
  for (const file of files) {
    const result = JSON.parse(await readFile(file, 'utf8')) as CrowdResult
    first ??= result
    rows.push(scalingRow(result, file))
  }
  rows.sort((a, b) => a.peers - b.peers)
  const o = first!.options
  const note = `${first!.scenario}, F = ${rows.map(r => r.sizeBytes / 2 ** 20).filter((x, i, a) => a.indexOf(x) === i).join('/')} MiB, origin ${o.originBytesPerSecond == null ? 'uncapped' : `${o.originBytesPerSecond / 2 ** 20} MiB/s`}, upload ${o.uploadBytesPerSecond / 2 ** 20} MiB/s per visitor, ${first!.machine?.cpus ?? '?'} cores`
  const charts = scalingCharts(rows, note)
  const name = basename(base)
  await writeFile(`${base}-origin.svg`, charts.origin)
  await writeFile(`${base}-bound.svg`, charts.bound)
  await writeFile(`${base}.table.md`, scalingMarkdown(rows, { origin: `${name}-origin.svg`, bound: `${name}-bound.svg` }))
  process.stderr.write(`wrote ${[`${base}.table.md`, `${base}-origin.svg`, `${base}-bound.svg`].map(f => relative(process.cwd(), f)).join(', ')}\n`)
}

if (process.argv[1] === new URL(import.meta.url).pathname) await main()
