/**
 * Where a crowd's page JavaScript spends its time: the sampling profiler (CDP `Profiler`, via
 * ../lib/js-profile.ts) in a few visitor pages of one system over the visiting window, samples
 * attributed to the package or source file of each function through the unminified bundle's
 * `// <path>` module markers, summed over the profiled pages.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { bundleModules, startJsProfile, sumProfiles } from '../lib/js-profile.ts'
import { roundTo } from '../lib/stats.ts'
import type { JsProfile, ProfileLimits } from '../lib/js-profile.ts'
import type { VisitorPage } from './pages.ts'

/** 0.5 ms, as the mesh benchmark samples */
export const DEFAULT_SAMPLING_INTERVAL_US = 500

/** What the summed profile keeps: more than the report shows, so the JSON has the tail too. */
const SUM_LIMITS: ProfileLimits = { packages: 60, functions: 100, total: 100 }

/** Each page's profile is kept whole until summed (a per-page cut would make the sum short). */
const PAGE_LIMITS: ProfileLimits = { packages: Infinity, functions: Infinity, total: Infinity }

export interface CrowdProfileOptions {
  /** the system whose pages are profiled (its bundle must be unminified) */
  system: string
  /** how many of its visitor pages */
  pages: number
  /** where to write each page's raw .cpuprofile (opens in Chromium DevTools), if anywhere */
  outDir?: string
  samplingIntervalUs?: number
}

/** runs[].jsProfile: the profiled pages' samples over the visiting window. */
export interface CrowdJsProfile {
  system: string
  /** the profiled visitors (spread over the arrival order) */
  visitors: number[]
  samplingIntervalUs: number
  /** mean profiled window per page, s (from just before the first arrival to just after the last result) */
  windowS: number
  /** sampled non-idle JS-thread time ÷ profiled wall time, over the profiled pages (the profiler's own cost included) */
  jsBusyShare: number
  /** ms summed over the profiled pages */
  sum: JsProfile
  perPage: Array<{ visitor: number, wallMs: number, busyMs: number, topPackagesMs: Record<string, number> }>
  /** raw .cpuprofile files written (--profile-out) */
  files?: string[]
}

/**
 * `n` of `peers` visitors spread evenly over the arrival order, first and last included: the
 * early ones load mostly from the origin, the late ones mostly from peers.
 */
export function profiledVisitors (peers: number, n: number): number[] {
  if (n <= 0 || peers <= 0) return []
  if (n >= peers) return Array.from({ length: peers }, (_, i) => i)
  if (n === 1) return [Math.floor((peers - 1) / 2)]
  return Array.from({ length: n }, (_, i) => Math.round(i * (peers - 1) / (n - 1)))
}

/**
 * Starts the profiler in the chosen pages; the returned function stops them and sums what
 * they sampled. `scriptUrl` is where the pages load `script` from.
 */
export async function startCrowdProfile (pages: VisitorPage[], script: string, scriptUrl: string, options: CrowdProfileOptions & { run: number }): Promise<() => Promise<CrowdJsProfile>> {
  const modules = bundleModules(script)
  if (modules.lines.length === 0) throw new Error(`the ${options.system} bundle has no module markers: profiling needs it unminified`)
  const interval = options.samplingIntervalUs ?? DEFAULT_SAMPLING_INTERVAL_US
  const chosen = profiledVisitors(pages.length, options.pages).map(i => pages[i]!)
  const stops = await Promise.all(chosen.map(async p => startJsProfile(p.page, scriptUrl, modules, interval, PAGE_LIMITS)))
  return async () => {
    if (options.outDir != null) await mkdir(options.outDir, { recursive: true })
    const files = chosen.map(p => options.outDir != null ? join(options.outDir, `${options.system}-run${options.run}-visitor${p.visitor}.cpuprofile`) : undefined)
    // one page at a time: each stop ships a profile of the whole window over CDP
    const profiles: JsProfile[] = []
    for (const [i, stop] of stops.entries()) profiles.push(await stop(files[i]))
    const sum = sumProfiles(profiles, SUM_LIMITS)
    const top = (r: Record<string, number>, n: number): Record<string, number> => Object.fromEntries(Object.entries(r).slice(0, n))
    return {
      system: options.system,
      visitors: chosen.map(p => p.visitor),
      samplingIntervalUs: interval,
      windowS: roundTo(sum.wallMs / Math.max(1, profiles.length) / 1000, 1),
      jsBusyShare: sum.wallMs > 0 ? roundTo(sum.busyMs / sum.wallMs, 4) : 0,
      sum,
      perPage: profiles.map((p, i) => ({ visitor: chosen[i]!.visitor, wallMs: p.wallMs, busyMs: p.busyMs, topPackagesMs: top(p.selfByPackageMs, 10) })),
      ...(options.outDir != null ? { files: files.filter((f): f is string => f != null) } : {})
    }
  }
}
