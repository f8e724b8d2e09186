import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { join } from 'node:path'

const IN_NETNS = join(new URL('../../', import.meta.url).pathname, 'scripts/in-netns.sh')

/**
 * Outside a loopback-only network namespace, runs `node <script> <this process's args>`
 * again inside one (scripts/in-netns.sh) and resolves with its exit code; inside one
 * (SWARMSITE_IN_NETNS=1, set by that script) returns undefined and the caller goes on.
 */
export function reexecInNetns (script: string): Promise<number> | undefined {
  if (process.env.SWARMSITE_IN_NETNS === '1') return undefined
  const child = spawn(IN_NETNS, [process.execPath, script, ...process.argv.slice(2)], { stdio: 'inherit' })
  // in-netns.sh execs through unshare and sh, so the child pid is the benchmark itself
  const forward = (signal: NodeJS.Signals): void => { child.kill(signal) }
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  return new Promise(resolve => {
    child.on('error', err => {
      process.stderr.write(`could not run ${IN_NETNS}: ${err.message}\n`)
      resolve(1)
    })
    child.on('exit', (code, signal) => {
      resolve(code ?? (signal != null ? 128 + (constants.signals[signal] ?? 0) : 1))
    })
  })
}
