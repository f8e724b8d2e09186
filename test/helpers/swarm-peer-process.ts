/** Starts and drives `swarm-peer.ts` child processes (one swarm visitor each). */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { ROOT } from './relay-process.ts'
import type { CongestionProbeInit, CongestionProbeStats, SwarmStats } from '../../src/index.ts'

export interface PeerProcessConfig {
  bootstrap: string[]
  manifest: string
  seedDir?: string
  serve?: 'honest' | 'corrupt' | 'stall'
  blockDeadlineMs?: number
  /** Upload cap (null = Infinity, the default). */
  upload?: { maxBytesPerSecond?: number | null }
  uploadProbe?: CongestionProbeInit
}

/** What the `upload` command answers; "Infinity" stands for Infinity (JSON has none). */
export interface UploadState {
  bytesPerSecond: number | 'Infinity'
  uploaded: number
  congestion: Record<string, number | string | undefined> | undefined
  probe: CongestionProbeStats | undefined
}

/** What the `stats` command answers. Times are Date.now() in the peer process (the machine's wall clock). */
export interface PeerProcessStats {
  stats: SwarmStats
  events: Array<{ type: string, detail: any }>
  /** Blocks this process sent, per requester peer id (bad ones included, for a 'corrupt' peer). */
  served: Record<string, { blocks: number, bytes: number, firstAt: number, lastAt: number }>
  /** Store reads after seeding: for a seed that fetches nothing, every want it was sent (answered or not). */
  asked: { wants: number, firstAt: number, lastAt: number }
}

export interface PeerProcessOptions {
  /** A command prefix that runs the process elsewhere, e.g. `nsenter --net=… --` (a namespace). */
  enter?: string[]
}

export interface FetchResult {
  status: number
  headers: Record<string, string>
  sha256: string
  length: number
  firstByteMs: number
  elapsedMs: number
  stats: SwarmStats
}

export interface PeerProcess {
  peerId: string
  fetch(path: string, range?: string): Promise<FetchResult>
  stats(): Promise<PeerProcessStats>
  /** The upload budget's rate, congestion state and probe stats. */
  upload(): Promise<UploadState>
  stop(): Promise<void>
}

export async function startPeerProcess (config: PeerProcessConfig, timeoutMs = 60_000, options: PeerProcessOptions = {}): Promise<PeerProcess> {
  const argv = [process.execPath, join(ROOT, 'test/helpers/swarm-peer.ts'), JSON.stringify(config)]
  const enter = options.enter ?? []
  const child = spawn(enter[0] ?? argv[0]!, [...enter.slice(1), ...(enter.length > 0 ? argv : argv.slice(1))], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
    // SWARMSITE_PEER_DEBUG=1 (with DEBUG=swarmsite:*) shows what each visitor process logs
    if (process.env.SWARMSITE_PEER_DEBUG === '1') process.stderr.write(chunk)
  })
  const waiting = new Map<number, { resolve(v: any): void, reject(e: Error): void }>()
  let ready: PromiseWithResolvers<string> | undefined = Promise.withResolvers<string>()
  const exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
  child.once('exit', (code) => {
    const err = new Error(`peer process exited (${code}): ${stderr}`)
    ready?.reject(err)
    for (const w of waiting.values()) w.reject(err)
    waiting.clear()
  })
  createInterface({ input: child.stdout }).on('line', line => {
    let message: any
    try { message = JSON.parse(line) } catch { return }
    if (message.ready === true) { ready?.resolve(message.peerId); ready = undefined; return }
    const w = waiting.get(message.id)
    if (w == null) return
    waiting.delete(message.id)
    if (message.ok === true) w.resolve(message)
    else w.reject(new Error(message.error))
  })
  const timer = setTimeout(() => { ready?.reject(new Error(`peer process not ready after ${timeoutMs} ms: ${stderr}`)) }, timeoutMs)
  let peerId: string
  try {
    peerId = await ready.promise
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  } finally {
    clearTimeout(timer)
  }
  let nextId = 0
  const call = async (cmd: string, args: Record<string, unknown> = {}, callTimeoutMs = 150_000): Promise<any> => {
    const id = nextId++
    const { promise, resolve, reject } = Promise.withResolvers<any>()
    waiting.set(id, { resolve, reject })
    child.stdin.write(JSON.stringify({ id, cmd, ...args }) + '\n')
    const t = setTimeout(() => { waiting.delete(id); reject(new Error(`${cmd} timed out after ${callTimeoutMs} ms`)) }, callTimeoutMs)
    try { return await promise } finally { clearTimeout(t) }
  }
  return {
    peerId,
    fetch: async (path, range) => call('fetch', { path, range }),
    stats: async () => call('stats'),
    upload: async () => call('upload'),
    async stop () {
      if (child.exitCode != null) return
      await call('stop', {}, 15_000).catch(() => {})
      const killer = setTimeout(() => { child.kill('SIGKILL') }, 5_000)
      await exited
      clearTimeout(killer)
    }
  }
}
