/**
 * Two small hand-written SVG charts for the crowd report: completion-time CDF per system, and
 * bytes delivered by source per system. Plain SVG 1.1, no scripts, readable on GitHub.
 */

export interface CdfSeries {
  name: string
  /** completion times, ms (successful visitors only) */
  valuesMs: number[]
  /** visitors in all, so failures keep the curve below 100 % */
  of: number
}

export interface BytesRow {
  name: string
  fromPeers: number
  fromOrigin: number
}

const COLORS: Record<string, string> = { swarm: '#2563eb', http: '#6b7280', webtorrent: '#16a34a' }
const SPARE = ['#d97706', '#9333ea', '#dc2626', '#0891b2']
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"'

export function colorOf (name: string, index: number): string {
  return COLORS[name] ?? SPARE[index % SPARE.length]!
}

export function escapeXml (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** About five round tick values from 0 to at least `max`. */
export function niceTicks (max: number, count = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1]
  const raw = max / count
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map(m => m * magnitude).find(s => s >= raw) ?? raw
  const ticks: number[] = []
  for (let t = 0; t < max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)))
  if (ticks.at(-1)! < max) ticks.push(Number((ticks.at(-1)! + step).toPrecision(12)))
  return ticks
}

const n = (x: number): string => (Math.round(x * 10) / 10).toString()

function frame (width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    ''
  ].join('\n')
}

/** Share of visitors done (y) against time since arrival (x, seconds), one step line per system. */
export function cdfChart (series: CdfSeries[], options: { title: string, boundMs?: number, width?: number, height?: number }): string {
  const width = options.width ?? 640
  const height = options.height ?? 360
  const m = { left: 56, right: 168, top: 36, bottom: 46 }
  const plotW = width - m.left - m.right
  const plotH = height - m.top - m.bottom
  const maxMs = Math.max(1, ...series.flatMap(s => s.valuesMs), options.boundMs ?? 0)
  const xTicks = niceTicks(maxMs / 1000)
  const xMax = xTicks.at(-1)!
  const x = (s: number): number => m.left + s / xMax * plotW
  const y = (share: number): number => m.top + (1 - share) * plotH
  const body: string[] = []
  // grid and axes
  for (const t of xTicks) {
    body.push(`<line x1="${n(x(t))}" y1="${m.top}" x2="${n(x(t))}" y2="${m.top + plotH}" stroke="#e5e7eb"/>`)
    body.push(`<text x="${n(x(t))}" y="${m.top + plotH + 16}" text-anchor="middle" fill="#374151">${t}</text>`)
  }
  for (const share of [0, 0.25, 0.5, 0.75, 1]) {
    body.push(`<line x1="${m.left}" y1="${n(y(share))}" x2="${m.left + plotW}" y2="${n(y(share))}" stroke="#e5e7eb"/>`)
    body.push(`<text x="${m.left - 6}" y="${n(y(share) + 4)}" text-anchor="end" fill="#374151">${share * 100} %</text>`)
  }
  body.push(`<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#9ca3af"/>`)
  body.push(`<text x="${m.left + plotW / 2}" y="${height - 10}" text-anchor="middle" fill="#111827">seconds from arrival to the last byte</text>`)
  body.push(`<text transform="translate(14 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#111827">visitors done</text>`)
  if (options.boundMs != null && options.boundMs > 0) {
    const bx = n(x(options.boundMs / 1000))
    body.push(`<line x1="${bx}" y1="${m.top}" x2="${bx}" y2="${m.top + plotH}" stroke="#111827" stroke-dasharray="4 3"/>`)
    body.push(`<text x="${n(x(options.boundMs / 1000) + 4)}" y="${m.top + 14}" font-size="11" fill="#111827">bound ${(options.boundMs / 1000).toFixed(1)} s</text>`)
  }
  series.forEach((s, i) => {
    const color = colorOf(s.name, i)
    const sorted = [...s.valuesMs].sort((a, b) => a - b)
    const of = Math.max(1, s.of)
    let d = `M ${n(x(0))} ${n(y(0))}`
    sorted.forEach((ms, k) => {
      d += ` H ${n(x(ms / 1000))} V ${n(y((k + 1) / of))}`
    })
    body.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`)
    const ly = m.top + 12 + i * 20
    body.push(`<line x1="${m.left + plotW + 14}" y1="${ly}" x2="${m.left + plotW + 34}" y2="${ly}" stroke="${color}" stroke-width="3"/>`)
    body.push(`<text x="${m.left + plotW + 40}" y="${ly + 4}" fill="#111827">${escapeXml(s.name)} (${sorted.length}/${s.of})</text>`)
  })
  return frame(width, height, options.title, body)
}

/** Horizontal stacked bars: bytes each system's visitors got from peers and from the origin. */
export function bytesChart (rows: BytesRow[], options: { title: string, width?: number }): string {
  const width = options.width ?? 640
  const barH = 26
  const gap = 14
  const m = { left: 96, right: 24, top: 40, bottom: 72 }
  const plotW = width - m.left - m.right
  const plotH = rows.length * (barH + gap) - gap
  const height = m.top + plotH + m.bottom
  const MiB = 1024 * 1024
  const maxMiB = Math.max(1 / 1024, ...rows.map(r => (r.fromPeers + r.fromOrigin) / MiB))
  const ticks = niceTicks(maxMiB)
  const xMax = ticks.at(-1)!
  const x = (mib: number): number => m.left + mib / xMax * plotW
  const body: string[] = []
  for (const t of ticks) {
    body.push(`<line x1="${n(x(t))}" y1="${m.top - 4}" x2="${n(x(t))}" y2="${m.top + plotH + 4}" stroke="#e5e7eb"/>`)
    body.push(`<text x="${n(x(t))}" y="${m.top + plotH + 20}" text-anchor="middle" fill="#374151">${t}</text>`)
  }
  body.push(`<text x="${m.left + plotW / 2}" y="${m.top + plotH + 36}" text-anchor="middle" fill="#111827">MiB delivered to visitors (all runs)</text>`)
  rows.forEach((r, i) => {
    const top = m.top + i * (barH + gap)
    const peers = r.fromPeers / MiB
    const origin = r.fromOrigin / MiB
    const total = peers + origin
    body.push(`<text x="${m.left - 8}" y="${top + barH / 2 + 4}" text-anchor="end" fill="#111827">${escapeXml(r.name)}</text>`)
    body.push(`<rect x="${m.left}" y="${top}" width="${n(x(peers) - m.left)}" height="${barH}" fill="#2563eb"/>`)
    body.push(`<rect x="${n(x(peers))}" y="${top}" width="${n(x(total) - x(peers))}" height="${barH}" fill="#f59e0b"/>`)
    // rounded as the report's table rounds it
    const share = total > 0 ? Math.round(Number((peers / total).toFixed(3)) * 100) : 0
    const label = `${share} % from peers`
    const inside = x(total) - m.left > 130
    body.push(`<text x="${n(inside ? x(total) - 6 : x(total) + 6)}" y="${top + barH / 2 + 4}" text-anchor="${inside ? 'end' : 'start'}" fill="${inside ? '#ffffff' : '#111827'}">${escapeXml(label)}</text>`)
  })
  const ly = height - 12
  body.push(`<rect x="${m.left}" y="${ly - 10}" width="12" height="12" fill="#2563eb"/><text x="${m.left + 18}" y="${ly}" fill="#111827">from peers</text>`)
  body.push(`<rect x="${m.left + 110}" y="${ly - 10}" width="12" height="12" fill="#f59e0b"/><text x="${m.left + 128}" y="${ly}" fill="#111827">from the origin</text>`)
  return frame(width, height, options.title, body)
}
