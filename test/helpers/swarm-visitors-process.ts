/** Starts and drives a `swarm-visitors.ts` child process: several swarm visitors in one Node process. */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { ROOT } from './relay-process.ts'
import type { SwarmStats } from '../../src/index.ts'

export interface VisitorsConfig {
  bootstrap: string[]
  manifest: string
  count: number
  seedDir?: string
  blockDeadlineMs?: number
  preferPeers?: boolean
}

export interface VisitorInfo {
  peerId: string
  /** Peer ids of the relays holding its reservation now. */
  reservations: string[]
  /** Reservations made and lost since start, with Date.now() times (this machine's clock). */
  events: Array<{ type: 'reserved' | 'lost', relay: string, at: number }>
}

export interface VisitorFetch {
  status: number
  sha256: string
  length: number
  elapsedMs: number
  stats: SwarmStats
}

export interface VisitorsProcess {
  peerIds: string[]
  info(): Promise<VisitorInfo[]>
  fetch(index: number, path: string): Promise<VisitorFetch>
  stop(): Promise<void>
}

export async function startVisitorsProcess (config: VisitorsConfig, timeoutMs = 120_000): Promise<VisitorsProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'test/helpers/swarm-visitors.ts'), JSON.stringify(config)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
    if (process.env.SWARMSITE_PEER_DEBUG === '1') process.stderr.write(chunk)
  })
  const waiting = new Map<number, PromiseWithResolvers<any>>()
  let ready: PromiseWithResolvers<string[]> | undefined = Promise.withResolvers<string[]>()
  const exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
  child.once('exit', (code) => {
    const err = new Error(`visitors process exited (${code}): ${stderr}`)
    ready?.reject(err)
    for (const w of waiting.values()) w.reject(err)
    waiting.clear()
  })
  createInterface({ input: child.stdout }).on('line', line => {
    let message: any
    try { message = JSON.parse(line) } catch { return }
    if (message.ready === true) { ready?.resolve(message.peerIds); ready = undefined; return }
    const w = waiting.get(message.id)
    if (w == null) return
    waiting.delete(message.id)
    if (message.ok === true) w.resolve(message)
    else w.reject(new Error(message.error))
  })
  const timer = setTimeout(() => { ready?.reject(new Error(`visitors not ready after ${timeoutMs} ms: ${stderr}`)) }, timeoutMs)
  let peerIds: string[]
  try {
    peerIds = await ready.promise
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  } finally {
    clearTimeout(timer)
  }
  let nextId = 0
  const call = async (cmd: string, args: Record<string, unknown> = {}, callTimeoutMs = 150_000): Promise<any> => {
    const id = nextId++
    const w = Promise.withResolvers<any>()
    waiting.set(id, w)
    child.stdin.write(JSON.stringify({ id, cmd, ...args }) + '\n')
    const t = setTimeout(() => { waiting.delete(id); w.reject(new Error(`${cmd} timed out after ${callTimeoutMs} ms`)) }, callTimeoutMs)
    try { return await w.promise } finally { clearTimeout(t) }
  }
  return {
    peerIds,
    info: async () => (await call('info')).visitors,
    fetch: async (index, path) => call('fetch', { index, path }),
    async stop () {
      if (child.exitCode != null) return
      await call('stop', {}, 20_000).catch(() => {})
      const killer = setTimeout(() => { child.kill('SIGKILL') }, 5_000)
      await exited
      clearTimeout(killer)
    }
  }
}
