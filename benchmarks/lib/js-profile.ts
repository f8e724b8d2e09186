/**
 * Where a page's JavaScript spends its time: Chromium's sampling profiler (CDP `Profiler`)
 * over a window, attributed to the package or source file that holds each function. The
 * test page is one esbuild bundle without minification, so every module in it starts with
 * a `// node_modules/<pkg>/…` or `// src/…` comment: a sample's line number says whose
 * code it was, no source map needed.
 */
import { writeFile } from 'node:fs/promises'
import type { Page } from 'playwright-core'

/** One profiled page: milliseconds of samples, by where the time went. */
export interface JsProfile {
  wallMs: number
  /** sampled time on the page's JS thread, idle excluded */
  busyMs: number
  /** self time by package ('@libp2p/gossipsub'), our file ('src/node/x.ts'), or '(gc)', '(program)', '(native)' */
  selfByPackageMs: Record<string, number>
  /** self time by function, as '<package> <function>' */
  selfByFunctionMs: Record<string, number>
  /**
   * time by the frames on the stack, each counted once per sample: what a timer callback or
   * event handler cost with everything it called ('<package> <function>')
   */
  totalByFunctionMs: Record<string, number>
}

interface CdpNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number, columnNumber: number }
  children?: number[]
}

interface CdpProfile {
  nodes: CdpNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

/** Module start lines of a bundle (0-based), from esbuild's `// <path>` markers. */
export function bundleModules (script: string): { lines: number[], names: string[] } {
  const lines: number[] = []
  const names: string[] = []
  let line = 0
  for (const text of script.split('\n')) {
    // node_modules may sit behind a symlink: '// ../main/node_modules/<pkg>/…'
    const m = /^\/\/ ((?:\.\.\/)*(?:[\w.-]+\/)*?(?:node_modules|src|interop-tests|benchmarks|test)\/\S+)$/.exec(text)
    if (m != null) {
      lines.push(line)
      names.push(packageOf(m[1]!))
    }
    line++
  }
  return { lines, names }
}

/** 'node_modules/@libp2p/kad-dht/dist/src/x.js' → '@libp2p/kad-dht'; 'src/node/x.ts' stays. */
function packageOf (path: string): string {
  const parts = path.split('/')
  const last = parts.lastIndexOf('node_modules')
  if (last < 0) return path
  return parts[last + 1]!.startsWith('@') ? `${parts[last + 1]}/${parts[last + 2]}` : parts[last + 1]!
}

function moduleAt (modules: { lines: number[], names: string[] }, line: number): string {
  let lo = 0
  let hi = modules.lines.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (modules.lines[mid]! <= line) { found = mid; lo = mid + 1 } else hi = mid - 1
  }
  return found < 0 ? '(bundle prelude)' : modules.names[found]!
}

function top (map: Map<string, number>, n: number): Record<string, number> {
  return Object.fromEntries([...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => [k, Math.round(v * 10) / 10]))
}

/** How many entries of each breakdown a profile keeps (largest first). */
export interface ProfileLimits { packages: number, functions: number, total: number }

export const DEFAULT_PROFILE_LIMITS: ProfileLimits = { packages: 40, functions: 40, total: 60 }

/**
 * Starts the profiler in `page`; the returned function stops it and attributes the samples.
 * Pass `limits` of Infinity when profiles are summed afterwards: a page's tail entry may be
 * another page's head, and a per-page cut would make the sum short.
 */
export async function startJsProfile (page: Page, bundleUrl: string, modules: { lines: number[], names: string[] }, samplingIntervalUs = 500, limits: ProfileLimits = DEFAULT_PROFILE_LIMITS): Promise<(rawOut?: string) => Promise<JsProfile>> {
  const session = await page.context().newCDPSession(page)
  await session.send('Profiler.enable')
  await session.send('Profiler.setSamplingInterval', { interval: samplingIntervalUs })
  await session.send('Profiler.start')
  const started = performance.now()
  return async (rawOut?: string) => {
    const { profile } = await session.send('Profiler.stop') as unknown as { profile: CdpProfile }
    // a .cpuprofile file opens in Chromium DevTools (Performance panel) for a closer look
    if (rawOut != null) await writeFile(rawOut, JSON.stringify(profile))
    const wallMs = performance.now() - started
    await session.detach().catch(() => {})
    const byId = new Map<number, CdpNode>(profile.nodes.map(n => [n.id, n]))
    const parent = new Map<number, number>()
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
    const keyOf = new Map<number, { pkg: string, fn: string }>()
    for (const n of profile.nodes) {
      const f = n.callFrame
      let pkg: string
      if (f.functionName === '(garbage collector)') pkg = '(gc)'
      else if (f.functionName === '(program)' || f.functionName === '(idle)' || f.functionName === '(root)') pkg = f.functionName
      else if (f.url === bundleUrl) pkg = moduleAt(modules, f.lineNumber)
      else pkg = f.url === '' ? '(native)' : '(other script)'
      keyOf.set(n.id, { pkg, fn: f.functionName === '' ? '(anonymous)' : f.functionName })
    }
    const selfPkg = new Map<string, number>()
    const selfFn = new Map<string, number>()
    const totalFn = new Map<string, number>()
    let busyMs = 0
    for (let i = 0; i < profile.samples.length; i++) {
      // a sample's time is the gap to the next sample
      const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000
      const id = profile.samples[i]!
      const k = keyOf.get(id)!
      if (k.pkg === '(idle)') continue
      busyMs += ms
      selfPkg.set(k.pkg, (selfPkg.get(k.pkg) ?? 0) + ms)
      selfFn.set(`${k.pkg} ${k.fn}`, (selfFn.get(`${k.pkg} ${k.fn}`) ?? 0) + ms)
      const seen = new Set<string>()
      for (let at: number | undefined = id; at != null && byId.has(at); at = parent.get(at)) {
        const s = keyOf.get(at)!
        if (s.pkg === '(root)') break
        const key = `${s.pkg} ${s.fn}`
        if (seen.has(key)) continue
        seen.add(key)
        totalFn.set(key, (totalFn.get(key) ?? 0) + ms)
      }
    }
    return {
      wallMs: Math.round(wallMs),
      busyMs: Math.round(busyMs * 10) / 10,
      selfByPackageMs: top(selfPkg, limits.packages),
      selfByFunctionMs: top(selfFn, limits.functions),
      totalByFunctionMs: top(totalFn, limits.total)
    }
  }
}

/** Adds up profiles of several pages (ms summed over pages). */
export function sumProfiles (profiles: JsProfile[], limits: ProfileLimits = DEFAULT_PROFILE_LIMITS): JsProfile {
  const add = (key: 'selfByPackageMs' | 'selfByFunctionMs' | 'totalByFunctionMs', n: number): Record<string, number> => {
    const m = new Map<string, number>()
    for (const p of profiles) for (const [k, v] of Object.entries(p[key])) m.set(k, (m.get(k) ?? 0) + v)
    return top(m, n)
  }
  return {
    wallMs: profiles.reduce((s, p) => s + p.wallMs, 0),
    busyMs: Math.round(profiles.reduce((s, p) => s + p.busyMs, 0) * 10) / 10,
    selfByPackageMs: add('selfByPackageMs', limits.packages),
    selfByFunctionMs: add('selfByFunctionMs', limits.functions),
    totalByFunctionMs: add('totalByFunctionMs', limits.total)
  }
}
