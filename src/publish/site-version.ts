/**
 * The `siteVersion` a new build gets unless told: the build time in ms, or one more than the
 * manifest it replaces if that is higher (a clock set back, two builds in one millisecond, a
 * version given by hand before). Time-based, so builds on different machines with sane clocks
 * still grow without sharing any state; visitors refuse a signed version lower than one seen.
 */
import { readFile } from 'node:fs/promises'

/** The next version after `previous` (the replaced manifest's, if any) at time `nowMs`. */
export function nextSiteVersion (previous: number | undefined, nowMs: number): number {
  return Math.max(Math.floor(nowMs), previous == null ? 0 : previous + 1)
}

/** The `siteVersion` of the manifest at `path`, if there is one that says so. */
export async function previousSiteVersion (path: string): Promise<number | undefined> {
  try {
    const version = JSON.parse(await readFile(path, 'utf8'))?.siteVersion
    return Number.isSafeInteger(version) && version >= 0 ? version : undefined
  } catch {
    // no manifest yet, or not one we can read: nothing to stay above
    return undefined
  }
}
