/**
 * Mutators for fuzzing: byte strings (flip, insert, delete, splice, truncate, varint-ish
 * extremes) and JSON values (drop, retype, extreme numbers, odd strings, deep nesting), each
 * step drawn from a seeded PRNG.
 */
import type { Prng } from './prng.ts'

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x10, 0x12, 0x1a, 0x22]

/** One to a few random edits of `input` (never in place). */
export function mutateBytes (rng: Prng, input: Uint8Array, maxBytes = 1 << 20): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input)
  const edits = rng.range(1, 4)
  for (let e = 0; e < edits; e++) {
    const at = b.length === 0 ? 0 : rng.int(b.length)
    switch (rng.int(8)) {
      case 0: if (b.length > 0) b[at] = b[at]! ^ (1 << rng.int(8)); break
      case 1: if (b.length > 0) b[at] = rng.pick(INTERESTING_BYTES); break
      case 2: b = concat(b.subarray(0, at), rng.bytes(rng.range(1, 8)), b.subarray(at)); break
      case 3: b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.range(1, 16)))); break
      case 4: b = b.subarray(0, at); break
      case 5: { // a run of 0xff: a varint that never ends, or a huge length
        b = concat(b.subarray(0, at), new Uint8Array(rng.range(1, 12)).fill(0xff), b.subarray(at))
        break
      }
      case 6: { // duplicate a slice (repeated fields, nested lengths that no longer add up)
        const len = rng.range(1, Math.max(1, Math.min(64, b.length - at)))
        b = concat(b.subarray(0, at), b.subarray(at, at + len), b.subarray(at))
        break
      }
      default: b = concat(b, rng.bytes(rng.range(1, 32)))
    }
  }
  return b.length > maxBytes ? b.subarray(0, maxBytes) : b
}

export function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

const ODD_STRINGS = ['', ' ', '\0', '..', '.', '/', 'a//b', '../x', 'a\\b', '\u2028', '\ud800', 'constructor', '__proto__',
  'NaN', 'Infinity', '-1', '1e309', 'x'.repeat(5000), 'http://', 'https://[::1', 'javascript:alert(1)', 'bafy', 'Qm', 'u', 'u!!',
  'ftp://example.org', 'https://example.org:99999', '2026-13-45T99:99:99Z', 'bafkqaaa']
const ODD_NUMBERS = [0, -0, -1, 1, 0.5, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), Number.MAX_VALUE, 1e-300, 2 ** 31, 2 ** 32, 4294967295]

function oddValue (rng: Prng, depth = 0): unknown {
  switch (rng.int(9)) {
    case 0: return null
    case 1: return rng.bool()
    case 2: return rng.pick(ODD_NUMBERS)
    case 3: return rng.pick(ODD_STRINGS)
    case 4: return []
    case 5: return {}
    case 6: return depth < 3 ? [oddValue(rng, depth + 1)] : 0
    case 7: return depth < 3 ? { [rng.pick(ODD_STRINGS)]: oddValue(rng, depth + 1) } : ''
    default: return undefined
  }
}

/** A structurally mutated copy of a JSON value: some fields dropped, retyped, duplicated or set to extremes. */
export function mutateJson (rng: Prng, value: unknown): unknown {
  const copy = structuredClone(value)
  const edits = rng.range(1, 3)
  let root: unknown = copy
  for (let e = 0; e < edits; e++) root = mutateAt(rng, root, 0)
  return root
}

function mutateAt (rng: Prng, value: unknown, depth: number): unknown {
  // descend into a random child most of the time, so deep fields get mutated too
  if (value != null && typeof value === 'object' && depth < 6 && rng.bool(0.75)) {
    if (Array.isArray(value)) {
      if (value.length === 0) return rng.bool() ? [oddValue(rng)] : value
      const i = rng.int(value.length)
      switch (rng.int(6)) {
        case 0: value.splice(i, 1); return value
        case 1: value.splice(i, 0, structuredClone(value[i])); return value
        case 2: { const j = rng.int(value.length); [value[i], value[j]] = [value[j], value[i]]; return value }
        default: value[i] = mutateAt(rng, value[i], depth + 1); return value
      }
    }
    const obj = value as Record<string, unknown>
    const keys = Object.keys(obj)
    if (keys.length === 0) return value
    const k = rng.pick(keys)
    switch (rng.int(6)) {
      case 0: delete obj[k]; return obj
      case 1: obj[rng.pick(ODD_STRINGS)] = oddValue(rng); return obj
      default: obj[k] = mutateAt(rng, obj[k], depth + 1); return obj
    }
  }
  if (typeof value === 'string') {
    switch (rng.int(5)) {
      case 0: return value.slice(0, rng.int(value.length + 1))
      case 1: return value + rng.pick(ODD_STRINGS)
      case 2: { const i = rng.int(value.length + 1); return value.slice(0, i) + String.fromCharCode(rng.int(0x10000)) + value.slice(i + 1) }
      default: return oddValue(rng)
    }
  }
  if (typeof value === 'number') return rng.bool() ? rng.pick(ODD_NUMBERS) : value + rng.range(-2, 2)
  return oddValue(rng)
}

/** Text-level damage to JSON (truncation, a stray byte), after structure-level mutation. */
export function mutateText (rng: Prng, text: string): string {
  switch (rng.int(4)) {
    case 0: return text.slice(0, rng.int(text.length + 1))
    case 1: { const i = rng.int(text.length + 1); return text.slice(0, i) + rng.pick(['{', '}', '"', ',', '\\', '\u0000', ']']) + text.slice(i) }
    default: return text
  }
}
