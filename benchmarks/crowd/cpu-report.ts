/**
 * The crowd report's "where the CPU went" section: each run's Chromium CPU by process role and
 * busiest threads, and, for runs with --profile-pages, the profiled pages' JavaScript by
 * package or file and by function (self and total time). Pure formatting of saved results,
 * so `--report` re-renders it.
 */
import type { RendererGroup } from './machine.ts'
import type { SystemRun } from './runner.ts'

/** Rows shown of each profile table; the JSON keeps more. */
export const PROFILE_ROWS = { packages: 20, selfFunctions: 30, totalFunctions: 30 }

const s1 = (x: number): string => x.toFixed(1)

/** '<package> <function>' (as ../lib/js-profile.ts keys functions) → its two parts; packages like '(bundle prelude)' hold a space. */
export function splitFunctionKey (key: string): { pkg: string, fn: string } {
  const cut = key.startsWith('(') ? key.indexOf(') ') + 1 : key.indexOf(' ')
  if (cut <= 0) return { pkg: key, fn: '' }
  return { pkg: key.slice(0, cut), fn: key.slice(cut + 1) }
}

/** A markdown code span that survives a table cell. */
function code (text: string): string {
  return `\`${text.replaceAll('|', '\\|').replaceAll('`', "'")}\``
}

/** One line per run with per-role figures: Chromium CPU by role and its busiest threads, seconds and cores. */
export function cpuBreakdownLines (runs: SystemRun[]): string[] {
  const lines: string[] = []
  for (const r of runs) {
    const c = r.cpu
    if (c?.chromiumByRoleS == null) continue
    const cores = (sec: number): string => c.wallS > 0 ? ` (${(sec / c.wallS).toFixed(2)} cores)` : ''
    const roles = Object.entries(c.chromiumByRoleS).map(([role, sec]) => `${role} ${s1(sec)}`).join(', ')
    const threads = Object.entries(c.chromiumTopThreadsS ?? {}).map(([t, sec]) => `${code(t)} ${s1(sec)}${cores(sec)}`).join(', ')
    lines.push(`- ${r.system} run ${r.run}: Chromium ${s1(c.chromiumS)} s over ${s1(c.wallS)} s${cores(c.chromiumS)}, relay ${s1(c.relayS)} s, driver ${s1(c.driverS)} s, interrupts ${s1(c.interruptsS)} s. By process role: ${roles}. Busiest threads (summed over the processes of a role; ${code('renderer:main')} is every page's JS thread): ${threads}.`)
    const split = c.renderers
    if (split != null) {
      const per = (g: RendererGroup): string => g.processes === 0 ? 'none' : `${g.processes} processes, per process ${s1(g.processS / g.processes)} s (main thread ${s1(g.mainS / g.processes)} s${g.profilerS > 0 ? `, profiler thread ${s1(g.profilerS / g.processes)} s` : ''})`
      lines.push(`  Renderers of profiled pages: ${per(split.profiled)}; the other renderers: ${per(split.others)}.`)
    }
  }
  return lines
}

function profileTable (title: string, header: string[], rows: string[][]): string[] {
  return [
    `${title}:`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => i === 0 ? '---' : i === header.length - 1 || i === header.length - 2 ? '---:' : '---').join('|')}|`,
    ...rows.map(r => `| ${r.join(' | ')} |`),
    ''
  ]
}

/** The JS profile of one run, as markdown: totals, then packages and functions by self time, functions by total time. */
export function jsProfileLines (run: SystemRun): string[] {
  const p = run.jsProfile
  if (p == null) return []
  const sum = p.sum
  const pages = p.visitors.length
  const busy = sum.busyMs > 0 ? sum.busyMs : 1
  const share = (ms: number): string => `${(ms / busy * 100).toFixed(1)} %`
  const lines: string[] = []
  const profiled = run.cpu?.renderers?.profiled
  const peers = run.visitors.length
  lines.push(`### ${run.system} run ${run.run}: page JavaScript (visitors ${p.visitors.join(', ')})`, '')
  lines.push(`Chromium's sampling profiler (CDP \`Profiler\`, ${p.samplingIntervalUs / 1000} ms) in ${pages} of the ${peers} pages over ${s1(p.windowS)} s each: ` +
    `${s1(sum.busyMs / 1000)} s of non-idle samples on their JS threads, ${s1(sum.busyMs / Math.max(1, pages) / 1000)} s per page (${(p.jsBusyShare * 100).toFixed(1)} % of the window).` +
    ' Samples are wall-clock time: a JS task that waits for a core (a saturated machine) is stretched, so read the shares, not the milliseconds, as where the CPU went' +
    (profiled != null && profiled.processes > 0 ? `; those pages' main threads used ${s1(profiled.mainS / profiled.processes)} s of CPU each (from /proc), so 1 % share ≈ ${(profiled.mainS / profiled.processes / 100).toFixed(2)} CPU-s per page.` : '.') +
    ' Times are summed over the profiled pages; "share" is of their sampled busy time. A function\'s self time is spent in its own code; its total time includes everything it called (each frame once per sample). Packages come from the unminified bundle\'s `// <path>` module markers: `(program)` is V8/Blink work outside JS (parsing, compiling, event dispatch), `(gc)` garbage collection, `(native)` built-ins and Web APIs called from JS (e.g. `RTCDataChannel.send`, `crypto.subtle`).', '')
  lines.push(...profileTable(`Top ${PROFILE_ROWS.packages} packages or files by self time`, ['package or file', 'self (ms)', 'share'],
    Object.entries(sum.selfByPackageMs).slice(0, PROFILE_ROWS.packages).map(([pkg, ms]) => [code(pkg), s1(ms), share(ms)])))
  const fnRows = (r: Record<string, number>, n: number): string[][] => Object.entries(r).slice(0, n).map(([key, ms]) => {
    const { pkg, fn } = splitFunctionKey(key)
    return [code(fn), code(pkg), s1(ms), share(ms)]
  })
  lines.push(...profileTable(`Top ${PROFILE_ROWS.selfFunctions} functions by self time`, ['function', 'package or file', 'self (ms)', 'share'], fnRows(sum.selfByFunctionMs, PROFILE_ROWS.selfFunctions)))
  lines.push(...profileTable(`Top ${PROFILE_ROWS.totalFunctions} functions by total time`, ['function', 'package or file', 'total (ms)', 'share'], fnRows(sum.totalByFunctionMs, PROFILE_ROWS.totalFunctions)))
  if (p.files != null && p.files.length > 0) lines.push(`Raw profiles: ${p.files.map(f => code(f)).join(', ')}.`, '')
  return lines
}

/** The whole section, or nothing when no run recorded a breakdown or a profile. */
export function cpuSection (runs: SystemRun[], profilePages?: number): string[] {
  const breakdown = cpuBreakdownLines(runs)
  const profiled = runs.filter(r => r.jsProfile != null)
  if (breakdown.length === 0 && profiled.length === 0) return []
  const lines = ['## Where the CPU went', '']
  if (profilePages != null && profilePages > 0) {
    lines.push(`**Profiled runs are slower:** with \`--profile-pages ${profilePages}\` the swarm page is served unminified and the sampling profiler runs in ${profilePages} of its pages, so the swarm's times and CPU above are not those of an unprofiled run.`, '')
  }
  if (breakdown.length > 0) lines.push('Chromium CPU seconds from the first arrival to the last result (user + system, from /proc):', '', ...breakdown, '')
  for (const r of profiled) lines.push(...jsProfileLines(r))
  return lines
}
