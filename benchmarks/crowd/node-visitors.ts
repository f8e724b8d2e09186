/**
 * The crowd runner's headless visitors: a few Node processes (./node-host.ts), each hosting many
 * visitors of one system (its `nodeVisitor` module), driven like Chromium pages: `visit` at the
 * visitor's arrival time, `after` at the end of the run.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { setTimeout as delay } from 'node:timers/promises'
import type { VisitResult } from './pages.ts'
import type { ChildProcess } from 'node:child_process'

const HOST = new URL('./node-host.ts', import.meta.url).pathname

/** What the runner drives: a Chromium page (pages.ts) or a Node visitor. */
export interface CrowdVisitorHandle {
  visitor: number
  runtime: 'chromium' | 'node'
  visit(config: unknown): Promise<VisitResult>
  after(): Promise<{ uploaded: number } | undefined>
  close(): Promise<void>
}

export interface NodeHosts {
  /** the host processes' pids (for CPU accounting) */
  pids(): number[]
  /** Visitor `visitor` (the run's index) on host `slot mod count`. */
  open(visitor: number, slot: number): CrowdVisitorHandle
  /** Uncaught errors the hosts reported, and how they exited if they did early. */
  errors: string[]
  /** Stops every visitor (bounded), then the processes. */
  close(): Promise<void>
}

interface Host {
  child: ChildProcess
  call(message: Record<string, unknown>): Promise<any>
  exited: Promise<void>
}

async function startHost (module: string, index: number, errors: string[], options: NodeHostsOptions): Promise<Host> {
  const { signal } = options
  // --cpu-prof writes the host's V8 profile when it exits (process.exit included)
  const prof = options.cpuProfDir != null ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir, '--cpu-prof-name', `node-host-${index}-${process.pid}-${Date.now()}.cpuprofile`] : []
  const child = spawn(process.execPath, [...prof, HOST, module], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000) })
  const waiting = new Map<number, PromiseWithResolvers<any>>()
  const ready = Promise.withResolvers<void>()
  let stopping = false
  const exited = new Promise<void>(resolve => {
    child.once('exit', (code, sig) => {
      const err = new Error(`visitor host ${index} exited (${code ?? sig}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`)
      if (!stopping && errors.length < 50) errors.push(err.message)
      ready.reject(err)
      for (const w of waiting.values()) w.reject(err)
      waiting.clear()
      resolve()
    })
  })
  createInterface({ input: child.stdout! }).on('line', line => {
    let message: any
    try { message = JSON.parse(line) } catch { return }
    if (message.ready === true) { ready.resolve(); return }
    if (message.event === 'error') {
      if (errors.length < 50) errors.push(`visitor host ${index}: ${message.message}`)
      return
    }
    const w = waiting.get(message.id)
    if (w == null) return
    waiting.delete(message.id)
    if (message.ok === true) w.resolve(message)
    else w.reject(new Error(message.error))
  })
  const timer = setTimeout(() => { ready.reject(new Error(`visitor host ${index} not ready after 60 s: ${stderr}`)) }, 60_000)
  const onAbort = (): void => { child.kill('SIGKILL') }
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await ready.promise
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  } finally {
    clearTimeout(timer)
  }
  let nextId = 0
  return {
    child,
    exited,
    async call (message) {
      if (message.cmd === 'stop') stopping = true
      const id = nextId++
      const w = Promise.withResolvers<any>()
      waiting.set(id, w)
      child.stdin!.write(JSON.stringify({ id, ...message }) + '\n')
      return w.promise
    }
  }
}

export interface NodeHostsOptions {
  signal?: AbortSignal
  /** Run each host under V8's CPU profiler (node --cpu-prof) and write its profile here on exit. */
  cpuProfDir?: string
}

/** Starts `count` host processes for `module` (a system's nodeVisitor), at most two at a time. */
export async function startNodeHosts (module: string, count: number, options: NodeHostsOptions = {}): Promise<NodeHosts> {
  const { signal } = options
  const errors: string[] = []
  const hosts: Host[] = new Array(count)
  let next = 0
  try {
    await Promise.all(Array.from({ length: Math.min(2, count) }, async () => {
      while (next < count) {
        const i = next++
        signal?.throwIfAborted()
        hosts[i] = await startHost(module, i, errors, options)
      }
    }))
  } catch (err) {
    for (const h of hosts) h?.child.kill('SIGKILL')
    throw err
  }
  return {
    errors,
    pids: () => hosts.map(h => h.child.pid).filter((p): p is number => p != null),
    open (visitor, slot) {
      const host = hosts[slot % count]!
      return {
        visitor,
        runtime: 'node',
        async visit (config) {
          const { result, startedAt, endedAt } = await host.call({ cmd: 'visit', visitor, config })
          return { result, startedAt, endedAt }
        },
        async after () {
          return (await host.call({ cmd: 'after', visitor })).after
        },
        // a Node visitor stays until its host stops (as a page stays until the browser closes)
        async close () {}
      }
    },
    async close () {
      await Promise.all(hosts.map(async h => {
        if (h.child.exitCode != null || h.child.signalCode != null) return
        await Promise.race([h.call({ cmd: 'stop' }).catch(() => {}), delay(25_000)])
        const killer = setTimeout(() => { h.child.kill('SIGKILL') }, 5_000)
        await h.exited
        clearTimeout(killer)
      }))
    }
  }
}
