/**
 * What the benchmark's child processes cost: CPU time from /proc/<pid>/stat and memory
 * (PSS, RSS) from /proc/<pid>/smaps_rollup, for Chromium's processes and the relay.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

export interface ProcessInfo {
  pid: number
  ppid: number
  args: string
}

let clockTicks: number | undefined
/** Clock ticks per second (utime and stime in /proc/<pid>/stat count them). */
export function ticksPerSecond (): number {
  if (clockTicks == null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      clockTicks = 100
    }
  }
  return clockTicks
}

/** Every process on the machine, from `ps` (full command lines). */
export function listProcesses (): ProcessInfo[] {
  const out = execFileSync('ps', ['-eww', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' })
  return out.split('\n').map(line => line.trim()).filter(Boolean).map(line => {
    const [pid, ppid, ...args] = line.split(/\s+/)
    return { pid: Number(pid), ppid: Number(ppid), args: args.join(' ') }
  })
}

/** `root` and its descendants among `all`. */
export function descendants (root: number, all: ProcessInfo[]): ProcessInfo[] {
  const children = new Map<number, ProcessInfo[]>()
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p])
  const out: ProcessInfo[] = []
  const self = all.find(p => p.pid === root)
  if (self != null) out.push(self)
  const stack = [root]
  while (stack.length > 0) {
    for (const child of children.get(stack.pop()!) ?? []) {
      out.push(child)
      stack.push(child.pid)
    }
  }
  return out
}

/** Chromium's role for a process: browser, renderer, gpu, network, utility, zygote… */
export function chromiumRole (args: string): string {
  const type = /--type=(\S+)/.exec(args)?.[1]
  if (type == null) return 'browser'
  if (type === 'utility') {
    const sub = /--utility-sub-type=(\S+)/.exec(args)?.[1] ?? ''
    if (sub.startsWith('network.')) return 'network'
    if (sub.startsWith('storage.')) return 'storage'
    return 'utility'
  }
  return type
}

export interface CpuSample {
  /** seconds of user + system CPU, by pid */
  seconds: Map<number, number>
  at: number
}

/** utime + stime of a process in seconds, or undefined once it is gone. */
export function cpuSeconds (pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name (field 2) may hold spaces; count fields after its closing paren
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond()
  } catch {
    return undefined
  }
}

/** The nice value of a process (field 19 of /proc/<pid>/stat). */
export function niceOf (pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])
  } catch {
    return undefined
  }
}

export interface Memory {
  pssKiB: number
  rssKiB: number
}

/** PSS and RSS of a process from /proc/<pid>/smaps_rollup, or undefined if unreadable. */
export function memoryOf (pid: number): Memory | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN)
    const pssKiB = field('Pss')
    const rssKiB = field('Rss')
    if (!Number.isFinite(pssKiB) || !Number.isFinite(rssKiB)) return undefined
    return { pssKiB, rssKiB }
  } catch {
    return undefined
  }
}

/**
 * CPU seconds of the whole machine since boot (all cores), from /proc/stat: busy (steal
 * included), steal alone (time the hypervisor gave this VM's CPUs to someone else), and
 * interrupt handling (irq + softirq: loopback packets are handled there, charged to no process).
 */
export function machineCpuSeconds (): { busy: number, steal: number, irq: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
  const t = ticksPerSecond()
  return { busy: (user! + nice! + system! + irq! + softirq! + steal!) / t, steal: steal! / t, irq: (irq! + softirq!) / t }
}

export function machineBusySeconds (): number { return machineCpuSeconds().busy }

/** Share of the machine's CPU (0..1 over all cores) that was busy during the next `ms`. */
export async function machineBusyShare (ms: number, cores: number): Promise<number> {
  const before = machineBusySeconds()
  await new Promise(resolve => setTimeout(resolve, ms))
  return (machineBusySeconds() - before) / (ms / 1000 * cores)
}

/** CPU seconds (utime + stime) of each live thread of a process, with its name (comm). */
export function threadCpuSeconds (pid: number): Map<number, { name: string, s: number }> {
  const out = new Map<number, { name: string, s: number }>()
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out.set(Number(tid), { name, s: (Number(fields[11]) + Number(fields[12])) / ticksPerSecond() })
    } catch {}
  }
  return out
}
