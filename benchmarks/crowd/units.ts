/** Reading sizes, rates and durations from the command line. */

export class UsageError extends Error {}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3 }

/** `16MiB`, `512k`, `1000000` → bytes (K/M/G without B are binary). */
export function parseSize (text: string, name: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const unit = UNITS[m?.[2]?.toLowerCase() ?? 'x']
  if (m == null || unit == null) throw new UsageError(`--${name}: can't read ${JSON.stringify(text)} as a size (e.g. 16MiB, 512KiB, 1000000)`)
  const bytes = Math.round(Number(m[1]) * unit)
  if (!(bytes >= 1)) throw new UsageError(`--${name} must be at least 1 byte`)
  return bytes
}

/** `2MiB/s`, `none` → bytes per second (Infinity for none; 0 allowed). */
export function parseRate (text: string, name: string): number {
  if (/^(none|inf|infinity|unlimited|off)$/i.test(text.trim())) return Infinity
  const bare = text.trim().replace(/\/s$/i, '')
  if (/^0+(\.0*)?\s*[a-z]*$/i.test(bare)) return 0
  return parseSize(bare, name)
}

/** `2000`, `2s`, `500ms`, `1m` → ms; bare numbers in `bareUnit`. */
export function parseDuration (text: string, name: string, bareUnit: 'ms' | 's'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*$/i.exec(text)
  if (m == null) throw new UsageError(`--${name}: can't read ${JSON.stringify(text)} as a duration (e.g. 2000, 2s, 500ms)`)
  const unit = (m[2] ?? bareUnit).toLowerCase()
  return Number(m[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000)
}
