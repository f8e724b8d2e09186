/**
 * CPU accounting for a benchmark phase: Chromium's processes (descendants of this driver),
 * other named child processes (the relay), this driver, and the whole machine, so a figure
 * can say how much of the CPU was ours and how much other work took. The same bookkeeping
 * as mesh.ts's phases, without its relay counters.
 */
import os from 'node:os'
import { chromiumRole, cpuSeconds, descendants, listProcesses, machineCpuSeconds, niceOf, threadCpuSeconds } from './proc.ts'
import { roundTo } from './stats.ts'
import type { ProcessInfo } from './proc.ts'

export interface CpuMark {
  at: number
  /** Chromium pid → role and CPU seconds */
  chromium: Map<number, { role: string, s: number }>
  /** '<pid>/<tid>' → 'role:thread name' and CPU seconds */
  threads: Map<string, { key: string, s: number }>
  /** CPU seconds of each named child process tree (e.g. relay) */
  others: Record<string, number>
  driver: number
  machine: { busy: number, steal: number, irq: number }
}

/** Chromium processes among this driver's descendants (minus the `others` trees): pid → role. */
export function chromiumProcesses (others: Record<string, number | undefined> = {}): Map<number, string> {
  const mine = descendants(process.pid, listProcesses())
  const excluded = new Set<number>()
  for (const pid of Object.values(others)) if (pid != null) for (const p of descendants(pid, mine)) excluded.add(p.pid)
  const out = new Map<number, string>()
  for (const p of mine) {
    if (p.pid === process.pid || excluded.has(p.pid) || !/chrom/i.test(p.args) || p.args.startsWith('ps ')) continue
    out.set(p.pid, chromiumRole(p.args))
  }
  return out
}

/** Sets every Chromium renderer to nice 0 (Chromium runs all but the focused tab at nice 5); returns how many. */
export function reniceRenderers (others: Record<string, number | undefined> = {}): number {
  let count = 0
  for (const [pid, role] of chromiumProcesses(others)) {
    if (role !== 'renderer' || niceOf(pid) === 0) continue
    try { os.setPriority(pid, 0); count++ } catch {}
  }
  return count
}

/** CPU seconds so far of Chromium (by process and thread), the `others` process trees, this driver and the machine. */
export function cpuMark (others: Record<string, number | undefined> = {}): CpuMark {
  const chromium = new Map<number, { role: string, s: number }>()
  const threads = new Map<string, { key: string, s: number }>()
  for (const [pid, role] of chromiumProcesses(others)) {
    const s = cpuSeconds(pid)
    if (s != null) chromium.set(pid, { role, s })
    for (const [tid, t] of threadCpuSeconds(pid)) threads.set(`${pid}/${tid}`, { key: `${role}:${tid === pid ? 'main' : t.name}`, s: t.s })
  }
  const all = listProcesses()
  const othersS: Record<string, number> = {}
  for (const [name, pid] of Object.entries(others)) {
    othersS[name] = pid == null ? 0 : descendants(pid, all).reduce((sum, p) => sum + (cpuSeconds(p.pid) ?? 0), 0)
  }
  const usage = process.cpuUsage()
  return { at: performance.now(), chromium, threads, others: othersS, driver: (usage.user + usage.system) / 1e6, machine: machineCpuSeconds() }
}

export interface CpuPhase {
  wallS: number
  /** Chromium CPU seconds (user + system), all its processes */
  chromiumS: number
  chromiumByRoleS: Record<string, number>
  /** by process role and thread name (summed over processes of that role), the largest (8 unless told) */
  chromiumTopThreadsS: Record<string, number>
  othersS: Record<string, number>
  driverS: number
  /** irq + softirq: loopback packets are handled there, charged to no process */
  interruptsS: number
  /** machine busy − ours − interrupts: work that is none of this benchmark's */
  otherProcessesS: number
  /** otherProcessesS / (wall × cores): above 0.05 the figures are slower than this machine can do */
  otherProcessesShare: number
  /** busy / (wall × cores) */
  machineBusyShare: number
  stealS: number
}

export function cpuBetween (a: CpuMark, b: CpuMark, topThreads = 8): CpuPhase {
  const byRole: Record<string, number> = {}
  let chromiumS = 0
  for (const [pid, { role, s }] of b.chromium) {
    const used = s - (a.chromium.get(pid)?.s ?? 0)
    byRole[role] = (byRole[role] ?? 0) + used
    chromiumS += used
  }
  const byThread: Record<string, number> = {}
  for (const [id, { key, s }] of b.threads) byThread[key] = (byThread[key] ?? 0) + s - (a.threads.get(id)?.s ?? 0)
  const othersS = Object.fromEntries(Object.entries(b.others).map(([k, v]) => [k, roundTo(v - (a.others[k] ?? 0), 2)]))
  const othersTotal = Object.values(othersS).reduce((x, y) => x + y, 0)
  const wallS = (b.at - a.at) / 1000
  const cores = os.cpus().length
  const driverS = b.driver - a.driver
  const interruptsS = b.machine.irq - a.machine.irq
  const busyS = b.machine.busy - a.machine.busy
  const otherProcessesS = Math.max(0, busyS - chromiumS - othersTotal - driverS - interruptsS)
  const sorted = (r: Record<string, number>, n = Infinity): Record<string, number> =>
    Object.fromEntries(Object.entries(r).filter(([, v]) => v >= 0.005).sort((x, y) => y[1] - x[1]).slice(0, n).map(([k, v]) => [k, roundTo(v, 2)]))
  return {
    wallS: roundTo(wallS, 3),
    chromiumS: roundTo(chromiumS, 2),
    chromiumByRoleS: sorted(byRole),
    chromiumTopThreadsS: sorted(byThread, topThreads),
    othersS,
    driverS: roundTo(driverS, 2),
    interruptsS: roundTo(interruptsS, 2),
    otherProcessesS: roundTo(otherProcessesS, 2),
    otherProcessesShare: roundTo(otherProcessesS / (wallS * cores), 2),
    machineBusyShare: roundTo(busyS / (wallS * cores), 2),
    stealS: roundTo(b.machine.steal - a.machine.steal, 2)
  }
}

/** This process, its descendants and its ancestors (a benchmark re-run inside a network namespace has a parent waiting for it). */
function ourPids (all: ProcessInfo[]): Set<number> {
  const mine = new Set(descendants(process.pid, all).map(p => p.pid))
  for (let p = all.find(x => x.pid === process.pid); p != null && p.ppid > 1; p = all.find(x => x.pid === p!.ppid)) mine.add(p.ppid)
  return mine
}

export interface OtherProcessesMark { at: number, seconds: Map<number, { s: number, command: string }> }

/** CPU seconds so far of every process that is not this benchmark's. */
export function otherProcessesMark (): OtherProcessesMark {
  const all = listProcesses()
  const mine = ourPids(all)
  const seconds = new Map<number, { s: number, command: string }>()
  for (const p of all) {
    if (mine.has(p.pid) || p.args.startsWith('ps ')) continue
    const s = cpuSeconds(p.pid)
    if (s != null) seconds.set(p.pid, { s, command: p.args.slice(0, 120) })
  }
  return { at: performance.now(), seconds }
}

/** The other processes that used the most CPU between two marks (at least 1 % of one core), up to `n`. */
export function busiestOtherProcesses (a: OtherProcessesMark, b: OtherProcessesMark, n = 5): Array<{ pid: number, cpuS: number, command: string }> {
  const wallS = (b.at - a.at) / 1000
  return [...b.seconds]
    .map(([pid, { s, command }]) => ({ pid, cpuS: roundTo(s - (a.seconds.get(pid)?.s ?? 0), 2), command }))
    .filter(p => p.cpuS >= 0.01 * wallS)
    .sort((x, y) => y.cpuS - x.cpuS)
    .slice(0, n)
}
