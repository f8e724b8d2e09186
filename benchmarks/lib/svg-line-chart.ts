/** A small hand-written SVG line chart: logarithmic or linear x, linear y from 0, legend. */

export interface ChartSeries {
  name: string
  color: string
  dashed?: boolean
  /** [x, y] pairs; x ascending */
  points: Array<[number, number]>
}

export interface LineChart {
  title: string
  xLabel: string
  yLabel: string
  logX?: boolean
  /** Where to draw x ticks; defaults to every x in the data */
  xTicks?: number[]
  /** A line under the title (machine, configuration) */
  note?: string
  series: ChartSeries[]
}

const W = 720
const H = 420
const M = { left: 70, right: 180, top: 56, bottom: 56 }

function esc (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** 1, 2 or 5 × a power of ten, at least `x`. */
function niceCeil (x: number): number {
  if (x <= 0) return 1
  const p = 10 ** Math.floor(Math.log10(x))
  return [1, 2, 5, 10].map(m => m * p).find(v => v >= x)!
}

function fmt (x: number): string {
  return x >= 1000 ? `${x / 1000}k` : String(x)
}

export function lineChartSvg (chart: LineChart): string {
  const xs = chart.series.flatMap(s => s.points.map(p => p[0]))
  const ys = chart.series.flatMap(s => s.points.map(p => p[1]))
  const plotW = W - M.left - M.right
  const plotH = H - M.top - M.bottom
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="24" font-size="16" font-weight="bold">${esc(chart.title)}</text>`
  ]
  if (chart.note != null) out.push(`<text x="${M.left}" y="42" fill="#555">${esc(chart.note)}</text>`)
  if (xs.length === 0) {
    out.push(`<text x="${M.left}" y="${M.top + 20}">no data</text>`, '</svg>')
    return out.join('\n')
  }
  const xMin = Math.min(...xs)
  const xMax = Math.max(...xs)
  const yMax = niceCeil(Math.max(...ys) * 1.05)
  const tx = (x: number): number => {
    if (xMax === xMin) return M.left + plotW / 2
    const f = chart.logX === true ? Math.log(x / xMin) / Math.log(xMax / xMin) : (x - xMin) / (xMax - xMin)
    return M.left + f * plotW
  }
  const ty = (y: number): number => M.top + plotH - (y / yMax) * plotH
  const r = (v: number): string => v.toFixed(1)

  // grid and y ticks
  for (let i = 0; i <= 5; i++) {
    const y = (yMax / 5) * i
    out.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${r(ty(y))}" y2="${r(ty(y))}" stroke="#e5e5e5"/>`)
    out.push(`<text x="${M.left - 8}" y="${r(ty(y) + 4)}" text-anchor="end">${fmt(Number(y.toPrecision(3)))}</text>`)
  }
  // x ticks
  for (const x of chart.xTicks ?? [...new Set(xs)].sort((a, b) => a - b)) {
    out.push(`<line x1="${r(tx(x))}" x2="${r(tx(x))}" y1="${M.top + plotH}" y2="${M.top + plotH + 5}" stroke="#333"/>`)
    out.push(`<text x="${r(tx(x))}" y="${M.top + plotH + 19}" text-anchor="middle">${fmt(x)}</text>`)
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`)
  out.push(`<text x="${M.left + plotW / 2}" y="${H - 14}" text-anchor="middle">${esc(chart.xLabel)}</text>`)
  out.push(`<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(chart.yLabel)}</text>`)

  chart.series.forEach((s, i) => {
    const dash = s.dashed === true ? ' stroke-dasharray="6 4"' : ''
    const d = s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${r(tx(x))} ${r(ty(y))}`).join(' ')
    if (s.points.length > 1) out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`)
    for (const [x, y] of s.points) {
      out.push(`<circle cx="${r(tx(x))}" cy="${r(ty(y))}" r="3.5" fill="${s.color}"><title>${esc(`${s.name}: ${fmt(x)} → ${y}`)}</title></circle>`)
    }
    const ly = M.top + 14 + i * 20
    const lx = M.left + plotW + 16
    out.push(`<line x1="${lx}" x2="${lx + 26}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${dash}/>`)
    out.push(`<text x="${lx + 32}" y="${ly}">${esc(s.name)}</text>`)
  })
  out.push('</svg>')
  return out.join('\n')
}
