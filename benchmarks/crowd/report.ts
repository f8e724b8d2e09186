/**
 * Aggregates crowd runs per system (offload ratio, completion percentiles, last completion
 * against the Kumar–Ross bound, CPU per MiB) and writes the markdown report and terminal table.
 */
import { roundTo, summarize, table } from '../lib/stats.ts'
import { cpuSection } from './cpu-report.ts'
import { bytesChart, cdfChart } from './svg.ts'
import type { Bound } from './bound.ts'
import type { CpuUse, MachineInfo } from './machine.ts'
import type { SystemRun } from './runner.ts'
import type { Summary } from '../lib/stats.ts'

const MiB = 1024 * 1024

/** What a crowd invocation writes as JSON, and what the report reads. */
export interface CrowdResult {
  benchmark: 'crowd'
  scenario: string
  date: string
  options: {
    peers: number
    /** with Node visitors (--visitors node|mixed:k): the mix; absent = every visitor a Chromium page */
    visitors?: { kind: string, chromium: number, node: number, nodePerProcess: number }
    sizeBytes: number
    /** Infinity is written as null in JSON */
    originBytesPerSecond: number | null
    uploadBytesPerSecond: number
    arrival: { kind: 'window' | 'interval', ms: number }
    runs: number
    systems: string[]
    runTimeoutMs: number
    originPorts: number
    blockDeadlineMs?: number
    /** the swarm's upload congestion probe (absent in results from before the option) */
    uploadProbe?: boolean
    renice: boolean
    /** --profile-pages: swarm pages profiled per run (absent = none) */
    profilePages?: number
  }
  asset: { path: string, size: number, sha256: string }
  bound: Bound
  machine: MachineInfo | null
  code: { commit: string | null, uncommitted: string[] } | null
  skipped: Array<{ system: string, reason: string }>
  runs: SystemRun[]
  aborted?: string
  durationS?: number
}

export interface SystemSummary {
  system: string
  runs: number
  visitors: number
  ok: number
  /** bytes visitors got from peers ÷ all bytes they got (peers + origin), ok visitors; 0 for http */
  offloadRatio: number | null
  fromPeersBytes: number
  fromOriginBytes: number
  uploadedBytes: number
  /** what the origin's counters sent, all runs (duplicates and aborted requests included) */
  originSentBytes: number
  completionMs: Summary | null
  firstByteMs: Summary | null
  /** last completion − first arrival: median over runs in which every visitor succeeded */
  lastCompletionMs: number | null
  /** lastCompletionMs ÷ the bound; null when the bound is 0 (nothing capped) */
  lastToBound: number | null
  /** Chromium + relay + driver CPU seconds per run (mean), from first arrival to last result */
  cpuSeconds: number | null
  /** that CPU ÷ MiB delivered to visitors */
  cpuSecondsPerMiB: number | null
  /** largest share of the machine other processes took during a run */
  otherProcessesShare: number | null
  errors: string[]
}

export interface Comparison {
  /** `swarm / <other>` */
  other: string
  /** completion p50 of swarm ÷ completion p50 of the other system */
  p50: number | null
  /** completion max of swarm ÷ completion max of the other */
  max: number | null
  /** last completion of swarm ÷ that of the other */
  last: number | null
}

function median (values: number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a == null || b == null || !(b > 0) ? null : roundTo(a / b, 2)

const cpuOf = (c: CpuUse | null): number | null => c == null ? null : c.chromiumS + c.relayS + (c.nodeVisitorsS ?? 0) + c.driverS

export function summarizeSystem (system: string, runs: SystemRun[], boundSeconds: number): SystemSummary {
  const mine = runs.filter(r => r.system === system)
  const visitors = mine.flatMap(r => r.visitors)
  const ok = visitors.filter(v => v.ok)
  const fromPeers = ok.reduce((s, v) => s + v.fromPeers, 0)
  const fromOrigin = ok.reduce((s, v) => s + v.fromOrigin, 0)
  const lasts = mine.map(r => r.lastCompletionMs).filter((x): x is number => x != null)
  const last = median(lasts)
  const cpus = mine.map(r => cpuOf(r.cpu)).filter((x): x is number => x != null)
  const cpu = cpus.length > 0 ? cpus.reduce((a, b) => a + b, 0) / cpus.length : null
  const deliveredMiB = ok.reduce((s, v) => s + v.bytes, 0) / MiB / Math.max(1, mine.length)
  const others = mine.map(r => r.cpu?.otherProcessesShare).filter((x): x is number => x != null)
  return {
    system,
    runs: mine.length,
    visitors: visitors.length,
    ok: ok.length,
    offloadRatio: fromPeers + fromOrigin > 0 ? roundTo(fromPeers / (fromPeers + fromOrigin), 3) : null,
    fromPeersBytes: fromPeers,
    fromOriginBytes: fromOrigin,
    uploadedBytes: visitors.reduce((s, v) => s + (v.uploaded ?? 0), 0),
    originSentBytes: mine.reduce((s, r) => s + r.origin.bytesServed, 0),
    completionMs: summarize(ok.map(v => v.completeMs)),
    firstByteMs: summarize(ok.map(v => v.firstByteMs).filter(x => x >= 0)),
    lastCompletionMs: last != null ? Math.round(last) : null,
    lastToBound: last != null && boundSeconds > 0 ? roundTo(last / 1000 / boundSeconds, 2) : null,
    cpuSeconds: cpu != null ? roundTo(cpu, 1) : null,
    cpuSecondsPerMiB: cpu != null && deliveredMiB > 0 ? roundTo(cpu / deliveredMiB, 3) : null,
    otherProcessesShare: others.length > 0 ? Math.max(...others) : null,
    errors: [...mine.flatMap(r => r.errors), ...visitors.filter(v => !v.ok).map(v => `visitor ${v.visitor} (run ${mine.find(r => r.visitors.includes(v))?.run}): ${v.error ?? 'failed'}`)]
  }
}

export interface CrowdSummary {
  systems: SystemSummary[]
  comparisons: Comparison[]
}

export function summarizeCrowd (result: CrowdResult): CrowdSummary {
  const names = [...new Set([...result.options.systems.filter(s => result.runs.some(r => r.system === s)), ...result.runs.map(r => r.system)])]
  const systems = names.map(name => summarizeSystem(name, result.runs, result.bound.seconds))
  const swarm = systems.find(s => s.system === 'swarm')
  const comparisons: Comparison[] = swarm == null
    ? []
    : systems.filter(s => s !== swarm).map(other => ({
      other: other.system,
      p50: ratio(swarm.completionMs?.p50, other.completionMs?.p50),
      max: ratio(swarm.completionMs?.max, other.completionMs?.max),
      last: ratio(swarm.lastCompletionMs, other.lastCompletionMs)
    }))
  return { systems, comparisons }
}

// ---- formatting ---------------------------------------------------------------------

export function formatBytes (bytes: number): string {
  if (bytes >= MiB) return `${Number((bytes / MiB).toFixed(bytes >= 100 * MiB ? 0 : 1))} MiB`
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(1))} KiB`
  return `${bytes} B`
}

export function formatRate (bytesPerSecond: number | null): string {
  return bytesPerSecond == null || bytesPerSecond === Infinity ? 'uncapped' : `${formatBytes(bytesPerSecond)}/s`
}

const sec = (ms: number | null | undefined): string => ms == null ? '—' : (ms / 1000).toFixed(ms < 10_000 ? 2 : 1)
const pct = (x: number | null): string => x == null ? '—' : `${Math.round(x * 100)} %`
const num = (x: number | null, digits = 2): string => x == null ? '—' : x.toFixed(digits)

function arrivalText (a: CrowdResult['options']['arrival'], peers: number): string {
  return a.kind === 'window'
    ? `${peers} visitors arrive evenly spread over ${sec(a.ms)} s`
    : `a visitor arrives every ${sec(a.ms)} s (the last at ${sec(a.ms * (peers - 1))} s)`
}

function boundText (b: Bound, peers: number): string {
  if (b.seconds === 0) return 'Kumar–Ross bound: 0 s (nothing is capped), so no ratio to it.'
  const t = (s: number): string => s === 0 ? '0' : Number.isFinite(s) ? `${s.toFixed(2)} s` : '∞'
  return `Kumar–Ross bound: T ≥ max(F/u_s = ${t(b.serverSeconds)}, F/d_min = ${b.downloadSeconds === 0 ? '— (no download cap)' : t(b.downloadSeconds)}, N·F/(u_s + Σu_i) = ${t(b.aggregateSeconds)}) = **${t(b.seconds)}** (N = ${peers}; ${b.limitedBy === 'aggregate' ? 'the total upload binds' : b.limitedBy === 'server' ? 'the origin binds' : 'the download cap binds'}).`
}

function codeText (code: CrowdResult['code']): string {
  if (code == null) return 'unknown'
  const commit = code.commit?.slice(0, 10) ?? 'unknown commit'
  if (code.uncommitted.length === 0) return commit
  // what runs in the pages and the relay is what matters
  const runtime = code.uncommitted.filter(line => /\s(src|relay|patches)\//.test(line))
  return runtime.length > 0
    ? `${commit} with uncommitted changes to ${runtime.map(l => l.replace(/^\S+\s+/, '')).join(', ')} (and ${code.uncommitted.length - runtime.length} other files)`
    : `${commit}, no uncommitted change under src/, relay/ or patches/ (${code.uncommitted.length} other files changed)`
}

/** The per-system table (markdown when `markdown`, else plain text for the terminal). */
export function systemsTable (summary: CrowdSummary, markdown: boolean): string {
  const header = ['system', 'ok', 'from peers', 'first byte p50 (s)', 'done p50 (s)', 'p95 (s)', 'max (s)', 'last done (s)', 'last ÷ bound', 'origin sent', 'CPU-s per MiB']
  const rows = summary.systems.map(s => [
    s.system,
    `${s.ok}/${s.visitors}`,
    pct(s.offloadRatio),
    sec(s.firstByteMs?.p50),
    sec(s.completionMs?.p50),
    sec(s.completionMs?.p95),
    sec(s.completionMs?.max),
    sec(s.lastCompletionMs),
    num(s.lastToBound),
    formatBytes(s.originSentBytes / Math.max(1, s.runs)),
    num(s.cpuSecondsPerMiB, 3)
  ])
  if (!markdown) return table([header.map(h => h.replace(' (s)', '')), ...rows])
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => i === 0 ? '---' : '---:').join('|')}|`,
    ...rows.map(r => `| ${r.join(' | ')} |`)
  ].join('\n')
}

export function comparisonLines (summary: CrowdSummary): string[] {
  return summary.comparisons.map(c => `swarm / ${c.other}: completion p50 ${num(c.p50)}, max ${num(c.max)}, last done ${num(c.last)}`)
}

export function chartTitle (result: CrowdResult): string {
  const o = result.options
  return `${result.scenario}: ${o.peers} visitors, ${formatBytes(o.sizeBytes)}, origin ${formatRate(o.originBytesPerSecond)}, upload ${formatRate(o.uploadBytesPerSecond)}`
}

export interface Charts { completion: string, bytes: string }

export function charts (result: CrowdResult, summary: CrowdSummary): Charts {
  const title = chartTitle(result)
  return {
    completion: cdfChart(summary.systems.map(s => ({
      name: s.system,
      valuesMs: result.runs.filter(r => r.system === s.system).flatMap(r => r.visitors.filter(v => v.ok).map(v => v.completeMs)),
      of: s.visitors
    })), { title, boundMs: result.bound.seconds * 1000 }),
    bytes: bytesChart(summary.systems.map(s => ({ name: s.system, fromPeers: s.fromPeersBytes, fromOrigin: s.fromOriginBytes })), { title })
  }
}

/**
 * Figures some pages report beyond VisitorResult (the swarm page: `startMs`, `duplicateBytes`,
 * `connections`), as one line per system; nothing for systems that report none.
 */
export function extraLines (result: CrowdResult): string[] {
  const lines: string[] = []
  for (const system of [...new Set(result.runs.map(r => r.system))]) {
    const visitors = result.runs.filter(r => r.system === system).flatMap(r => r.visitors)
    const parts: string[] = []
    const starts = visitors.map(v => v.startMs).filter((x): x is number => typeof x === 'number')
    if (starts.length > 0) parts.push(`starting the swarm (createSwarm + start, inside "done") took p50 ${sec(summarize(starts)!.p50)} s, max ${sec(summarize(starts)!.max)} s`)
    const dup = visitors.map(v => v.duplicateBytes).filter((x): x is number => typeof x === 'number')
    if (dup.length > 0) parts.push(`${formatBytes(dup.reduce((a, b) => a + b, 0))} fetched twice (endgame, peer racing the origin)`)
    const conns = visitors.map(v => (v.connections as { direct?: number } | undefined)?.direct).filter((x): x is number => typeof x === 'number')
    // the relay's WebSocket connection counts as direct: 1 = no other visitor
    if (conns.length > 0) parts.push(`${conns.filter(c => c <= 1).length} of ${conns.length} visitors held no connection to another visitor when their fetch ended (direct connections p50 ${summarize(conns)!.p50})`)
    if (parts.length > 0) lines.push(`- ${system}: ${parts.join('; ')}.`)
  }
  return lines
}

export interface RuntimeSplit {
  /** bytes visitors of `to` got from visitors of `from`, all runs: keys 'chromium←node' etc. */
  fromPeersByRuntime: Record<string, number>
  /** per runtime: ok visitors / visitors, bytes delivered (ok visitors), CPU-s (that runtime's processes), CPU-s per MiB delivered */
  runtimes: Record<string, { ok: number, visitors: number, deliveredBytes: number, cpuS: number | null, cpuSecondsPerMiB: number | null }>
}

/**
 * Chromium pages against Node visitors in one system's runs: who got bytes from whom (by the
 * peer ids visitors report) and what each runtime's processes spent per MiB delivered to it.
 * Undefined when no visitor of the system ran in Node.
 */
export function runtimeSplit (result: CrowdResult, system: string): RuntimeSplit | undefined {
  const runs = result.runs.filter(r => r.system === system)
  if (!runs.some(r => r.visitors.some(v => v.runtime === 'node'))) return undefined
  const fromPeersByRuntime: Record<string, number> = {}
  const runtimes: RuntimeSplit['runtimes'] = {}
  const cpu: Record<string, number[]> = { chromium: [], node: [] }
  for (const r of runs) {
    const runtimeOf = new Map<string, string>()
    for (const v of r.visitors) if (typeof v.peerId === 'string') runtimeOf.set(v.peerId, v.runtime ?? 'chromium')
    for (const v of r.visitors) {
      const rt = v.runtime ?? 'chromium'
      const entry = (runtimes[rt] ??= { ok: 0, visitors: 0, deliveredBytes: 0, cpuS: null, cpuSecondsPerMiB: null })
      entry.visitors++
      if (v.ok) {
        entry.ok++
        entry.deliveredBytes += v.bytes
      }
      for (const [peer, bytes] of Object.entries((v.fromPeersByPeer as Record<string, number> | undefined) ?? {})) {
        const key = `${rt}←${runtimeOf.get(peer) ?? 'other'}`
        fromPeersByRuntime[key] = (fromPeersByRuntime[key] ?? 0) + bytes
      }
    }
    if (r.cpu != null) {
      if (r.visitors.some(v => (v.runtime ?? 'chromium') === 'chromium')) cpu.chromium!.push(r.cpu.chromiumS)
      if (r.cpu.nodeVisitorsS != null) cpu.node!.push(r.cpu.nodeVisitorsS)
    }
  }
  for (const [rt, entry] of Object.entries(runtimes)) {
    const list = cpu[rt] ?? []
    if (list.length === 0) continue
    entry.cpuS = roundTo(list.reduce((a, b) => a + b, 0) / list.length, 1)
    const mib = entry.deliveredBytes / MiB / runs.length
    entry.cpuSecondsPerMiB = mib > 0 ? roundTo(entry.cpuS / mib, 3) : null
  }
  return { fromPeersByRuntime, runtimes }
}

function runtimeLines (result: CrowdResult): string[] {
  const lines: string[] = []
  for (const system of [...new Set(result.runs.map(r => r.system))]) {
    const split = runtimeSplit(result, system)
    if (split == null) continue
    const rts = Object.entries(split.runtimes).map(([rt, e]) => `${e.ok}/${e.visitors} ${rt === 'node' ? 'Node visitors' : 'Chromium pages'} ok, ${e.cpuSecondsPerMiB != null ? `${e.cpuSecondsPerMiB} CPU-s per MiB delivered to them (${rt === 'node' ? 'their host processes' : 'all of Chromium'}, ${e.cpuS} CPU-s per run)` : 'CPU not recorded'}`)
    const flows = Object.entries(split.fromPeersByRuntime).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k.replaceAll('chromium', 'Chromium').replaceAll('node', 'Node')} ${formatBytes(v)}`)
    lines.push(`- ${system} by runtime: ${rts.join('; ')}. Bytes from peers, receiver←sender: ${flows.length > 0 ? flows.join(', ') : 'none'}.`)
  }
  return lines
}

/** The markdown report; `chartFiles` are the SVGs' names relative to it. */
export function markdownReport (result: CrowdResult, summary: CrowdSummary, chartFiles?: { completion: string, bytes: string }): string {
  const o = result.options
  const m = result.machine
  const lines: string[] = []
  lines.push(`# Crowd benchmark: ${result.scenario}`, '')
  const who = o.visitors == null
    ? 'every visitor in a browser context of its own'
    : o.visitors.chromium === 0
      ? `every visitor a headless Node visitor (its own createSwarm, node-datachannel WebRTC, memory store; ${o.visitors.nodePerProcess} to a process)`
      : `${o.visitors.chromium} visitors Chromium pages (a browser context each), ${o.visitors.node} headless Node visitors (${o.visitors.nodePerProcess} to a process)`
  lines.push(`${chartTitle(result)}; ${arrivalText(o.arrival, o.peers)}; ${o.runs} run${o.runs === 1 ? '' : 's'} per system (${o.systems.join(', ')}), ${who}, all staying until the last is done. Origin on ${o.originPorts} ports sharing one limiter.`, '')
  if (m != null) {
    lines.push(`Machine: ${m.cpus} × ${m.cpuModel}, ${m.totalMemoryGiB} GiB, ${m.os}; Node ${m.node}, Chromium ${m.chromium ?? '?'}. ` +
      `Code: ${codeText(result.code)}. ` +
      `Started ${result.date}; the machine was ${pct(m.busyShareBeforeStart)} busy just before (load average ${m.loadAverageAtStart.join(' ')}).`, '')
  }
  lines.push(boundText(result.bound, o.peers))
  if (o.originBytesPerSecond != null) lines.push(`Plain HTTP can do no better than N·F/u_s = ${sec(o.peers * o.sizeBytes / o.originBytesPerSecond * 1000)} s for the last visitor.`)
  if (result.bound.seconds > 0 && (o.arrival.kind === 'interval' || o.arrival.ms > 0)) lines.push(`The bound assumes everyone present from the start; here arrivals span ${sec(o.arrival.kind === 'interval' ? o.arrival.ms * (o.peers - 1) : o.arrival.ms)} s, so it is a reference, not a target.`)
  lines.push('')
  lines.push(systemsTable(summary, true), '')
  lines.push('"from peers" = bytes visitors got from other visitors ÷ all bytes they got (peers + origin). "done" = time from a visitor\'s arrival to its last byte (successful visitors). "last done" = from the first arrival to the last visitor\'s last byte (median over runs). "origin sent" = bytes the origin\'s counters sent per run, duplicates and aborted requests included. CPU = Chromium + Node visitor hosts + relay + this driver (origin included), from the first arrival to the last result.', '')
  const cmp = comparisonLines(summary)
  if (cmp.length > 0) lines.push(...cmp.map(l => `- ${l}`), '')
  if (chartFiles != null) lines.push(`![completion time CDF](${chartFiles.completion})`, '', `![bytes by source](${chartFiles.bytes})`, '')
  const load = summary.systems.filter(s => (s.otherProcessesShare ?? 0) > 0.05)
  if (load.length > 0) lines.push(`**Other load:** other processes took ${load.map(s => `${pct(s.otherProcessesShare)} of the machine during ${s.system}`).join(', ')}; those figures are slower than this machine can do.`, '')
  for (const s of summary.systems) {
    const run = result.runs.find(r => r.system === s.system && r.cpu != null)
    if (run?.cpu != null) lines.push(`- ${s.system}: CPU ${s.cpuSeconds} s per run (Chromium ${run.cpu.chromiumS}, ${run.cpu.nodeVisitorsS != null ? `Node visitors ${run.cpu.nodeVisitorsS}, ` : ''}relay ${run.cpu.relayS}, driver ${run.cpu.driverS} in run ${run.run}; ${pct(run.cpu.oursShare)} of the machine), uploads ${formatBytes(s.uploadedBytes)} in all${run.chromium != null || run.nodeHosts == null ? `, Chromium PSS ${run.chromiumPssMiB ?? '—'} MiB` : ''}${run.nodeHosts != null ? `, Node visitor hosts ${run.nodeHosts.processes} processes, PSS ${run.nodeHosts.pssMiB} MiB (${roundTo(run.nodeHosts.pssMiB / Math.max(1, run.nodeHosts.visitors), 1)} MiB per visitor)` : ''}.`)
  }
  lines.push(...extraLines(result))
  lines.push(...runtimeLines(result))
  lines.push('')
  lines.push(...cpuSection(result.runs, o.profilePages))
  if (result.skipped.length > 0) lines.push(...result.skipped.map(s => `Skipped **${s.system}**: ${s.reason}`), '')
  const errors = summary.systems.flatMap(s => s.errors.map(e => `${s.system}: ${e}`))
  if (errors.length > 0) lines.push('Failures:', '', ...errors.slice(0, 30).map(e => `- ${e}`), ...(errors.length > 30 ? [`- … and ${errors.length - 30} more`] : []), '')
  if (result.aborted != null) lines.push(`**Aborted:** ${result.aborted}; the figures cover what finished.`, '')
  return lines.join('\n').replace(/\n*$/, '\n')
}

/** The short terminal summary. */
export function terminalReport (result: CrowdResult, summary: CrowdSummary): string {
  const lines = [
    `${chartTitle(result)}; ${arrivalText(result.options.arrival, result.options.peers)}`,
    result.bound.seconds > 0 ? `bound ${result.bound.seconds.toFixed(2)} s (${result.bound.limitedBy})` : 'bound 0 s (nothing capped)',
    systemsTable(summary, false),
    ...comparisonLines(summary)
  ]
  for (const s of result.skipped) lines.push(`skipped ${s.system}: ${s.reason}`)
  const busy = summary.systems.filter(s => (s.otherProcessesShare ?? 0) > 0.05)
  if (busy.length > 0) lines.push(`warning: other processes took ${busy.map(s => `${pct(s.otherProcessesShare)} during ${s.system}`).join(', ')}: figures slower than on a quiet machine`)
  const failed = summary.systems.filter(s => s.ok < s.visitors)
  if (failed.length > 0) lines.push(`failures: ${failed.map(s => `${s.system} ${s.visitors - s.ok}`).join(', ')} (see the report)`)
  return lines.join('\n')
}
