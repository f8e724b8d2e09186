/**
 * What the crowd benchmark records about the machine and what its processes cost: the machine
 * description, the code measured, CPU seconds of Chromium (by process role and thread, as
 * ../lib/cpu.ts counts them), the relay and this driver (the origin runs in it) over a phase, how much of the machine other work took meanwhile, and
 * renicing Chromium's renderers (it runs all tabs but the last focused at nice 5).
 */
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import { cpuBetween as phaseBetween, cpuMark as phaseMark } from '../lib/cpu.ts'
import { descendants, listProcesses, machineBusyShare, memoryOf } from '../lib/proc.ts'
import { roundTo } from '../lib/stats.ts'
import type { CpuMark } from '../lib/cpu.ts'
import type { ProcessInfo } from '../lib/proc.ts'

const ROOT = new URL('../../', import.meta.url).pathname

export interface MachineInfo {
  os: string
  cpuModel: string
  cpus: number
  totalMemoryGiB: number
  node: string
  chromium: string | null
  loadAverageAtStart: number[]
  /** share (0..1 of all cores) of the machine busy in the 3 s before the start: other load */
  busyShareBeforeStart: number
  /** other heavy processes running at the start (not ours): command, CPU % since they started */
  otherProcessesAtStart: Array<{ pid: number, cpuPercent: number, command: string }>
}

export async function machineInfo (): Promise<MachineInfo> {
  const cpus = os.cpus()
  return {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    totalMemoryGiB: roundTo(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    chromium: null,
    loadAverageAtStart: os.loadavg().map(x => roundTo(x, 2)),
    busyShareBeforeStart: roundTo(await machineBusyShare(3000, cpus.length), 2),
    otherProcessesAtStart: busyOtherProcesses()
  }
}

/** Processes outside this benchmark's tree using the most CPU (ps's lifetime %CPU), top 5 above 5 %. */
function busyOtherProcesses (): Array<{ pid: number, cpuPercent: number, command: string }> {
  try {
    const all = listProcesses()
    const mine = new Set(descendants(process.pid, all).map(p => p.pid))
    // and the chain that started this process (npm run bench, run.ts, the netns wrapper)
    for (let p = all.find(x => x.pid === process.pid); p != null && p.ppid > 1; p = all.find(x => x.pid === p!.ppid)) mine.add(p.ppid)
    const out = execFileSync('ps', ['-eww', '-o', 'pid=,pcpu=,args=', '--sort=-pcpu'], { encoding: 'utf8' })
    return out.split('\n').map(l => l.trim()).filter(Boolean).map(line => {
      const [pid, pcpu, ...args] = line.split(/\s+/)
      return { pid: Number(pid), cpuPercent: Number(pcpu), command: args.join(' ').slice(0, 120) }
    }).filter(p => !mine.has(p.pid) && p.cpuPercent >= 5 && !p.command.startsWith('ps ')).slice(0, 5)
  } catch {
    return []
  }
}

/** The commit measured, and uncommitted changes to what runs. */
export function codeVersion (): { commit: string | null, uncommitted: string[] } {
  const git = (...args: string[]): string | null => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    } catch {
      return null
    }
  }
  const status = git('status', '--porcelain', '--', 'src', 'relay', 'benchmarks', 'patches', 'package.json', 'package-lock.json')
  return {
    commit: git('rev-parse', 'HEAD')?.trim() ?? null,
    uncommitted: (status ?? '').split('\n').filter(Boolean).map(line => line.trim()).filter(line => !line.includes('benchmarks/results/'))
  }
}

/** Chromium processes started by this process (its descendants, minus `exclude` trees). */
function chromiumProcesses (excludeRoots: number[]): ProcessInfo[] {
  const mine = descendants(process.pid, listProcesses())
  const excluded = new Set<number>()
  for (const root of excludeRoots) for (const p of descendants(root, mine)) excluded.add(p.pid)
  return mine.filter(p => p.pid !== process.pid && !excluded.has(p.pid) && /chrom/i.test(p.args) && !p.args.startsWith('ps '))
}

function chromiumPids (excludeRoots: number[]): number[] {
  return chromiumProcesses(excludeRoots).map(p => p.pid)
}

/** Sets every Chromium renderer of ours to nice 0; returns how many. */
export function reniceRenderers (): number {
  let count = 0
  for (const p of chromiumProcesses([])) {
    if (!p.args.includes('--type=renderer')) continue
    try {
      if (os.getPriority(p.pid) !== 0) os.setPriority(p.pid, 0)
      count++
    } catch {}
  }
  return count
}

export type { CpuMark }

/** Key prefix of the Node visitor hosts' trees among a mark's `others`. */
const NODE_HOST = 'nodeHost'

/**
 * CPU seconds so far of Chromium (by process and thread), the relay's process tree, the Node
 * visitor hosts' (headless visitors, ./node-visitors.ts), this driver and the whole machine.
 */
export function cpuMark (relayPid?: number, nodeHostPids: number[] = []): CpuMark {
  return phaseMark({ relay: relayPid, ...Object.fromEntries(nodeHostPids.map((pid, i) => [`${NODE_HOST}${i}`, pid])) })
}

/** Threads kept in `chromiumTopThreadsS`: a crowd's renderers, network service and browser each bring a few busy ones. */
const TOP_THREADS = 12

export interface CpuUse {
  wallS: number
  /** CPU seconds (user + system) */
  chromiumS: number
  /**
   * chromiumS by process role ('renderer', 'browser', 'network', 'gpu-process', …); absent in
   * results written before it was recorded
   */
  chromiumByRoleS?: Record<string, number>
  /**
   * the busiest threads by '<role>:<thread name>', summed over the processes of that role
   * ('renderer:main' is every page's JS thread together), largest first
   */
  chromiumTopThreadsS?: Record<string, number>
  relayS: number
  /** the Node visitor host processes (headless visitors), all together; absent without any */
  nodeVisitorsS?: number
  /** this process: the origin server, page driving, the runner */
  driverS: number
  /** kernel interrupt handling (loopback traffic), charged to no process */
  interruptsS: number
  /** machine busy time that is none of the above: other work on the machine */
  otherProcessesS: number
  /** ours / (wall × cores) */
  oursShare: number
  /** other processes / (wall × cores); above 0.05 the figures are slower than this machine can do */
  otherProcessesShare: number
  /**
   * when some pages ran the JS profiler: their renderer processes apart from the others (a
   * profiled renderer is one with V8's profiler thread), so the profiler's cost shows and the
   * profile's wall-clock samples can be set against the CPU those pages' main threads used
   */
  renderers?: { profiled: RendererGroup, others: RendererGroup }
}

export interface RendererGroup {
  processes: number
  /** CPU seconds of their main (JS) threads, of their whole processes, and of V8's profiler threads in them */
  mainS: number
  processS: number
  profilerS: number
}

/** V8's CPU profiler thread, as /proc names it (comm is cut at 15 characters). */
const PROFILER_THREAD = 'v8:ProfEvntProc'

/** Renderer CPU between two marks, profiled renderers (those with a profiler thread at `b`) apart; undefined when none is. */
export function rendererSplit (a: CpuMark, b: CpuMark): { profiled: RendererGroup, others: RendererGroup } | undefined {
  const profiledPids = new Set<number>()
  for (const [id, t] of b.threads) if (t.key === `renderer:${PROFILER_THREAD}`) profiledPids.add(Number(id.split('/')[0]))
  if (profiledPids.size === 0) return undefined
  const group = (): RendererGroup => ({ processes: 0, mainS: 0, processS: 0, profilerS: 0 })
  const out = { profiled: group(), others: group() }
  for (const [pid, { role, s }] of b.chromium) {
    if (role !== 'renderer') continue
    const g = profiledPids.has(pid) ? out.profiled : out.others
    g.processes++
    g.processS += s - (a.chromium.get(pid)?.s ?? 0)
  }
  for (const [id, { key, s }] of b.threads) {
    const [pid, tid] = id.split('/').map(Number) as [number, number]
    if (!key.startsWith('renderer:')) continue
    const g = profiledPids.has(pid) ? out.profiled : out.others
    const used = s - (a.threads.get(id)?.s ?? 0)
    if (tid === pid) g.mainS += used
    else if (key === `renderer:${PROFILER_THREAD}`) g.profilerS += used
  }
  for (const g of [out.profiled, out.others]) {
    g.mainS = roundTo(g.mainS, 2)
    g.processS = roundTo(g.processS, 2)
    g.profilerS = roundTo(g.profilerS, 2)
  }
  return out
}

export function cpuBetween (a: CpuMark, b: CpuMark): CpuUse {
  // a process that ended during the phase is missing from b: its last seconds are lost (small)
  const p = phaseBetween(a, b, TOP_THREADS)
  const relayS = Math.max(0, p.othersS.relay ?? 0)
  const hosts = Object.entries(p.othersS).filter(([k]) => k.startsWith(NODE_HOST))
  const nodeVisitorsS = roundTo(hosts.reduce((sum, [, v]) => sum + Math.max(0, v), 0), 2)
  const cores = os.cpus().length
  const renderers = rendererSplit(a, b)
  return {
    wallS: roundTo(p.wallS, 2),
    chromiumS: p.chromiumS,
    chromiumByRoleS: p.chromiumByRoleS,
    chromiumTopThreadsS: p.chromiumTopThreadsS,
    relayS,
    ...(hosts.length > 0 ? { nodeVisitorsS } : {}),
    driverS: p.driverS,
    interruptsS: p.interruptsS,
    otherProcessesS: p.otherProcessesS,
    oursShare: roundTo((p.chromiumS + relayS + nodeVisitorsS + p.driverS) / (p.wallS * cores), 2),
    otherProcessesShare: p.otherProcessesShare,
    ...(renderers != null ? { renderers } : {})
  }
}

/** PSS of every Chromium process of ours, MiB (shared pages counted once). */
export function chromiumPssMiB (relayPid?: number): number {
  let kib = 0
  for (const pid of chromiumPids(relayPid != null ? [relayPid] : [])) kib += memoryOf(pid)?.pssKiB ?? 0
  return roundTo(kib / 1024, 1)
}
