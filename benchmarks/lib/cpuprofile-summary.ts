// Where a Node process's CPU went, from V8 .cpuprofile files (node --cpu-prof):
//   node benchmarks/lib/cpuprofile-summary.ts <file.cpuprofile>… [--top 25]
// Self time summed over the files, by package (node_modules/<pkg>, or src/…, benchmarks/…,
// node:internal, native/GC/idle) and by function; prints JSON.
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }
interface CpuProfile { nodes: ProfileNode[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }

/** The package or project folder a frame's script belongs to. */
export function packageOf (url: string, functionName: string): string {
  if (url === '') return functionName === '' ? '(anonymous native)' : `(${functionName})`
  const nm = url.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/')
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!
  }
  if (url.startsWith('node:')) return 'node:internal'
  const m = /\/(src|benchmarks|test|relay)\/(.*)$/.exec(url)
  if (m != null) return m[1] === 'src' ? `src/${m[2]!.split('/')[0]}` : m[1]!
  return url
}

export function summarize (profiles: CpuProfile[], top = 25): { wallMs: number, byPackageMs: Record<string, number>, byFunctionMs: Record<string, number> } {
  const byPackage: Record<string, number> = {}
  const byFunction: Record<string, number> = {}
  let wallMs = 0
  for (const p of profiles) {
    wallMs += (p.endTime - p.startTime) / 1000
    const nodes = new Map(p.nodes.map(n => [n.id, n]))
    p.samples.forEach((id, i) => {
      const ms = (p.timeDeltas[i] ?? 0) / 1000
      const n = nodes.get(id)!
      const pkg = packageOf(n.callFrame.url, n.callFrame.functionName)
      byPackage[pkg] = (byPackage[pkg] ?? 0) + ms
      const fn = `${pkg} ${n.callFrame.functionName || '(anonymous)'}`
      byFunction[fn] = (byFunction[fn] ?? 0) + ms
    })
  }
  const sorted = (r: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(r).sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => [k, Math.round(v)]))
  return { wallMs: Math.round(wallMs), byPackageMs: sorted(byPackage), byFunctionMs: sorted(byFunction) }
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' } } })
  const profiles = await Promise.all(positionals.map(async f => JSON.parse(await readFile(f, 'utf8')) as CpuProfile))
  process.stdout.write(JSON.stringify(summarize(profiles, Number(values.top ?? 25)), null, 2) + '\n')
}
