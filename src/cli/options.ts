/** Small helpers shared by CLI commands: flags with environment fallbacks, one-line errors. */

export class UsageError extends Error {
  static override name = 'UsageError'
  override name = 'UsageError'
}

/** A flag's value, else its environment variable, else undefined. */
export function flagOrEnv (values: Record<string, unknown>, flag: string, envName: string): string | undefined {
  const value = values[flag]
  if (typeof value === 'string') return value
  return process.env[envName] !== '' ? process.env[envName] : undefined
}

export function listFlagOrEnv (values: Record<string, unknown>, flag: string, envName: string): string[] | undefined {
  const value = values[flag]
  if (Array.isArray(value) && value.length > 0) return value as string[]
  const env = process.env[envName]
  return env != null && env.trim() !== '' ? env.split(/[\s,]+/).filter(Boolean) : undefined
}

export function parsePort (name: string, value: string | undefined, allowNone = false): number | null | undefined {
  if (value == null) return undefined
  if (allowNone && value === 'none') return null
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--${name} must be a port number 0-65535${allowNone ? " or 'none'" : ''}, got ${JSON.stringify(value)}`)
  }
  return port
}

export function parseCount (name: string, value: string | undefined): number | undefined {
  if (value == null) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive whole number, got ${JSON.stringify(value)}`)
  return n
}

const BINARY_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }

/** A positive byte count: a whole number with an optional binary suffix (`512K`, `8M`, `1G`: KiB, MiB, GiB). */
export function parseBytes (name: string, value: string | undefined): number | undefined {
  if (value == null) return undefined
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?$/i.exec(value.trim())
  const n = match == null ? NaN : Math.floor(Number(match[1]) * BINARY_UNITS[match[2]!.toLowerCase()]!)
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive number of bytes (512K, 8M, 1G are binary), got ${JSON.stringify(value)}`)
  return n
}

/** `1.5 MiB`-style sizes for people. */
export function formatBytes (n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = n
  let unit = -1
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
  return `${value.toFixed(1)} ${units[unit]}`
}
