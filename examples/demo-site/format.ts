// Numbers for people, shared by the demo page's scripts.

/** `3.2 MiB`-style sizes. */
export function formatBytes (n: number): string {
  if (!Number.isFinite(n)) return '∞'
  if (n < 1024) return `${Math.round(n)} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = n
  let unit = -1
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

export function formatPercent (ratio: number): string {
  return `${Math.round(ratio * 100)} %`
}

export function formatMs (ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}

/** `12D3Ko…x7Yq`: enough of a peer id to tell peers apart. */
export function shortPeerId (id: string): string {
  return id.length > 14 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id
}
