/**
 * The canonical JSON form a manifest signature covers: RFC 8785 (JSON Canonicalization
 * Scheme) for the values JSON.parse gives — object keys sorted by UTF-16 code units, no
 * whitespace, strings and numbers as ECMAScript's JSON.stringify writes them (which is what
 * RFC 8785 prescribes). So a manifest re-serialised by a mirror, a CDN's minifier or
 * `JSON.stringify(parsed)` still verifies, while any change to a value does not.
 */

/** The canonical text of a JSON value (as JSON.parse returns: objects, arrays, strings, numbers, booleans, null). */
export function canonicalJson (value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number') {
    // JSON has no NaN or Infinity; JSON.stringify would quietly write null for them
    if (!Number.isFinite(value)) throw new TypeError(`canonical JSON has no number ${value}`)
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (typeof value === 'object') {
    // Object.keys and the default sort: own enumerable keys in UTF-16 code unit order
    // keys holding undefined are left out, as JSON.stringify does: an object and its JSON text agree
    const keys = Object.keys(value).filter(k => (value as Record<string, unknown>)[k] !== undefined).sort()
    return `{${keys.map(k => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`
  }
  throw new TypeError(`canonical JSON has no ${typeof value} values`)
}
