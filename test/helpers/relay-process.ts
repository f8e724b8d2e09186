import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { ChildProcess } from 'node:child_process'

export const ROOT = new URL('../../', import.meta.url).pathname
export const CLI = join(ROOT, 'src/cli/index.ts')

export interface RelayProcess {
  peerId: string
  multiaddrs: string[]
  /** The relay's WebSockets multiaddr on 127.0.0.1, for nodes to bootstrap from. */
  ws: string
  tcp: string | undefined
  http: string
  keyFile: string
  /** Whether this run created the key file (the CLI's `keyCreated`). */
  keyCreated: boolean
  child: ChildProcess
  stderr(): string
  /** Sends SIGTERM and waits (bounded) for a clean exit; returns the exit code. */
  stop(): Promise<number | null>
}

export interface RelayProcessOptions {
  keyFile?: string
  wsPort?: number
  args?: string[]
  /** Extra environment variables for the relay, on top of this process's. */
  env?: Record<string, string | undefined>
  timeoutMs?: number
}

/** Starts the real relay binary as a child process on 127.0.0.1 and waits for its addresses. */
export async function startRelayProcess (options: RelayProcessOptions = {}): Promise<RelayProcess> {
  const dir = options.keyFile == null ? await mkdtemp(join(tmpdir(), 'swarmsite-relay-')) : undefined
  const keyFile = options.keyFile ?? join(dir!, 'relay.key')
  const child = spawn(process.execPath, [CLI, 'relay', '--json', '--host', '127.0.0.1', '--ws-port', String(options.wsPort ?? 0), '--tcp-port', '0', '--http-port', '0', '--key', keyFile, ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env }
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const lines = createInterface({ input: child.stdout! })
  let info: any
  try {
    info = await new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`relay did not start in time: ${stderr}`)) }, options.timeoutMs ?? 20_000)
      lines.once('line', line => {
        clearTimeout(timer)
        try { resolve(JSON.parse(line)) } catch { child.kill('SIGKILL'); reject(new Error(`relay printed ${JSON.stringify(line)}, not its JSON addresses: ${stderr}`)) }
      })
      child.once('exit', code => { clearTimeout(timer); reject(new Error(`relay exited with ${code}: ${stderr}`)) })
    })
  } catch (err) {
    if (dir != null) await rm(dir, { recursive: true, force: true })
    throw err
  } finally {
    lines.close()
  }
  const exited = new Promise<number | null>(resolve => {
    if (child.exitCode != null || child.signalCode != null) resolve(child.exitCode)
    else child.once('exit', code => { resolve(code) })
  })
  return {
    ...info,
    ws: info.multiaddrs.find((a: string) => a.includes('/ws/')),
    tcp: info.multiaddrs.find((a: string) => !a.includes('/ws/')),
    keyFile,
    child,
    stderr: () => stderr,
    async stop () {
      if (child.exitCode == null && child.signalCode == null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const code = await exited
      clearTimeout(timer)
      if (dir != null) await rm(dir, { recursive: true, force: true })
      return code
    }
  }
}

function cleanEnv (): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] =>
    entry[1] != null && entry[0] !== 'DEBUG' && !entry[0].startsWith('SWARMSITE_RELAY_')))
}

export interface CliRun {
  child: ChildProcess
  stdout(): string
  stderr(): string
  /** Settles when the process exits: its exit code, or the signal that ended it. */
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** Waits up to `timeoutMs` for the process to exit on its own, then SIGKILLs it; never rejects. */
  kill(timeoutMs?: number): Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/**
 * Runs `node src/cli/index.ts ...args` with this process's environment minus DEBUG and
 * every SWARMSITE_RELAY_* variable (so the caller's settings never leak in), plus `env`.
 */
export function spawnCli (args: string[], options: { env?: Record<string, string>, cwd?: string } = {}): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd ?? ROOT,
    env: { ...cleanEnv(), ...options.env }
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => {
    // 'close' rather than 'exit': by then stdout and stderr are fully read
    child.once('close', (code, signal) => { resolve({ code, signal }) })
  })
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async kill (timeoutMs = 0) {
      let timer: ReturnType<typeof setTimeout> | undefined
      if (child.exitCode == null && child.signalCode == null) {
        timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      }
      const result = await exited
      clearTimeout(timer)
      return result
    }
  }
}
