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
  child: ChildProcess
  stderr(): string
  /** Sends SIGTERM and waits (bounded) for a clean exit; returns the exit code. */
  stop(): Promise<number | null>
}

export interface RelayProcessOptions {
  keyFile?: string
  wsPort?: number
  args?: string[]
  timeoutMs?: number
}

/** Starts the real relay binary as a child process on 127.0.0.1 and waits for its addresses. */
export async function startRelayProcess (options: RelayProcessOptions = {}): Promise<RelayProcess> {
  const dir = options.keyFile == null ? await mkdtemp(join(tmpdir(), 'swarmsite-relay-')) : undefined
  const keyFile = options.keyFile ?? join(dir!, 'relay.key')
  const child = spawn(process.execPath, [CLI, 'relay', '--json', '--host', '127.0.0.1', '--ws-port', String(options.wsPort ?? 0), '--tcp-port', '0', '--http-port', '0', '--key', keyFile, ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env }
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const lines = createInterface({ input: child.stdout! })
  const info = await new Promise<any>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`relay did not start in time: ${stderr}`)) }, options.timeoutMs ?? 20_000)
    lines.once('line', line => { clearTimeout(timer); resolve(JSON.parse(line)) })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`relay exited with ${code}: ${stderr}`)) })
  })
  lines.close()
  const exited = new Promise<number | null>(resolve => { child.once('exit', code => { resolve(code) }) })
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
