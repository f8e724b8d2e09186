/**
 * The frame of a benchmark run: a whole-run deadline, SIGINT/SIGTERM, teardown of what the run
 * started (last started, first stopped; bounded, then SIGKILL of any child left), and the
 * JSON result written either way (`<out>.aborted.json` when cut short). As in mesh.ts.
 */
import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, relative } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { descendants, listProcesses } from './proc.ts'
import { roundTo } from './stats.ts'

export interface Teardown {
  /** Registers a clean-up step; steps run in reverse order of registration. */
  add(step: () => Promise<void>): void
}

export interface RunFrame {
  name: string
  /** the JSON result file */
  out: string
  timeoutS: number
  progress(message: string): void
}

/** The commit measured, and any uncommitted change to what runs. */
export function codeVersion (root: string): { commit: string | null, uncommitted: string[] } {
  const git = (...args: string[]): string | null => {
    try {
      return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    } catch {
      return null
    }
  }
  const status = git('status', '--porcelain', '--', 'src', 'relay', 'interop-tests', 'benchmarks', 'patches', 'package.json', 'package-lock.json')
  return {
    commit: git('rev-parse', 'HEAD')?.trim() ?? null,
    uncommitted: (status ?? '').split('\n').filter(Boolean).map(line => line.trim())
  }
}

/**
 * Runs `body`, then tears down and writes the result JSON to `frame.out`, then calls `report`.
 * Resolves with the exit code: 0 when the result has no `errors`, else 1; on the deadline or
 * a signal the process exits (1, 130, 143) after writing what it has.
 */
export async function withTeardown (frame: RunFrame, body: (result: Record<string, any>, teardown: Teardown) => Promise<void>, report: (result: Record<string, any>) => Promise<void>): Promise<number> {
  const started = performance.now()
  const result: Record<string, any> = {}
  const steps: Array<() => Promise<void>> = []
  let tornDown: Promise<void> | undefined
  const teardown = async (): Promise<void> => {
    tornDown ??= (async () => {
      frame.progress('tearing down')
      for (const step of steps.reverse()) await step().catch(() => {})
    })()
    return tornDown
  }
  let aborting = false
  const abort = async (reason: string, code: number): Promise<never> => {
    aborting = true
    frame.progress(`${reason}: aborting`)
    result.aborted = reason
    const partial = frame.out.replace(/\.json$/, '') + '.aborted.json'
    await mkdir(dirname(partial), { recursive: true }).then(async () => writeFile(partial, JSON.stringify(result, null, 2) + '\n')).catch(() => {})
    const clean = await Promise.race([teardown().then(() => true), delay(30_000, undefined, { ref: false }).then(() => false)])
    if (!clean) {
      for (const p of descendants(process.pid, listProcesses())) {
        if (p.pid !== process.pid) try { process.kill(p.pid, 'SIGKILL') } catch {}
      }
    }
    frame.progress(`partial results in ${relative(process.cwd(), partial)}`)
    process.exit(code)
  }
  const timer = setTimeout(() => { void abort(`global timeout of ${frame.timeoutS} s`, 1) }, frame.timeoutS * 1000)
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => { if (!aborting) void abort(signal, code) })
  }
  try {
    await body(result, { add: step => { steps.push(step) } })
  } catch (err: any) {
    if (aborting) return await new Promise<number>(() => {}) // abort() ends the process
    frame.progress(`failed: ${err.stack ?? err.message}`)
    result.errors = [...(result.errors ?? []), { phase: 'run', error: String(err.message).split('\n')[0] }]
  }
  await Promise.race([teardown(), delay(60_000, undefined, { ref: false })])
  clearTimeout(timer)
  result.durationS = roundTo((performance.now() - started) / 1000, 1)
  await mkdir(dirname(frame.out), { recursive: true })
  await writeFile(frame.out, JSON.stringify(result, null, 2) + '\n')
  frame.progress(`wrote ${relative(process.cwd(), frame.out)}`)
  await report(result)
  return (result.errors?.length ?? 0) === 0 ? 0 : 1
}
