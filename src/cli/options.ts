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
