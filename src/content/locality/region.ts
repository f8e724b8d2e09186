/**
 * The optional coarse region hint a site may give its visitors (from a geo header its CDN
 * already sets, say) and visitors share with each other: a short label such as 'eu-west',
 * 'us-east-1' or 'de'. It says which visitors are probably near each other; it is never a
 * precise location, and never required (no hint: ranking uses RTTs and coordinates only).
 *
 * Grammar: 1–32 characters of lowercase ASCII letters, digits and '-', starting with a
 * letter, not ending with '-', no '--'. ASCII uppercase is folded to lowercase (country codes
 * come as 'DE'); anything else (spaces, '_', '.', non-ASCII, longer) is refused, so labels
 * compare byte for byte across visitors and can't carry more than a coarse place.
 */
import { REGION_MAX_LENGTH } from './constants.ts'
import { InvalidRegionError } from './errors.ts'

const REGION = new RegExp(`^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,${REGION_MAX_LENGTH - 1}}$`)

/** Whether `value` is a region label as the grammar says (already lowercase). For labels received from peers. */
export function isRegion (value: unknown): value is string {
  return typeof value === 'string' && REGION.test(value)
}

/**
 * The region hint of an option: undefined when absent (undefined, null or ''), the label
 * (ASCII-lowercased) when valid; throws InvalidRegionError, quoting the value, otherwise.
 */
export function parseRegion (value: unknown): string | undefined {
  if (value == null || value === '') return undefined
  if (typeof value !== 'string') throw new InvalidRegionError(`region must be a string, got ${typeof value}`)
  const folded = value.replace(/[A-Z]/g, c => c.toLowerCase())
  if (!REGION.test(folded)) {
    throw new InvalidRegionError(`region ${JSON.stringify(value.length > 64 ? value.slice(0, 64) + '…' : value)} is not a short label (1-${REGION_MAX_LENGTH} of a-z, 0-9, '-', starting with a letter, e.g. 'eu-west')`)
  }
  return folded
}

/** Whether two visitors share a region: both gave a hint, and it is the same. */
export function sameRegion (a: string | undefined, b: string | undefined): boolean {
  return a != null && b != null && a === b
}
