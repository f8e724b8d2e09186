// `npm start`: builds the demo site (examples/demo-site/) into .demo-site/, runs the relay
// and serves the site on 127.0.0.1. Open the printed URL in two or more tabs: the images, the
// film and the download reach each tab from the others, and the panel on the right shows it.
// Environment: PORT (default 8080), RELAY_PORT (9090), RELAY_HTTP_PORT (9092, 'none' for no
// /health), DEADLINE_MS (the page's wait for peers before the origin; default the library's),
// DEMO_DIR (where the site is built, default .demo-site/), RELAY_KEY (the relay's identity,
// default .swarmsite/relay.key, so its multiaddr stays the same across runs).
// Enter prints the origin's per-file counters; Ctrl-C stops everything.
import { join, relative, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { ROOT, startDemo } from './demo.ts'
import type { Demo } from './demo.ts'

function envPort (name: string, fallback: number): number {
  const value = process.env[name] ?? String(fallback)
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`npm start: ${name} must be a port number, got ${JSON.stringify(value)}\n`)
    process.exit(2)
  }
  return port
}

function mib (n: number): string {
  return `${(n / 1024 / 1024).toFixed(2)} MiB`
}

function printCounters (demo: Demo): void {
  const { files, total, requests } = demo.origin.stats()
  const rows = Object.entries(files).sort(([a], [b]) => a.localeCompare(b))
  process.stdout.write(`origin: ${mib(total)} in ${requests} requests\n`)
  for (const [path, bytes] of rows) process.stdout.write(`  ${mib(bytes).padStart(10)}  ${path}\n`)
}

const relayHttp = process.env.RELAY_HTTP_PORT === 'none' ? null : envPort('RELAY_HTTP_PORT', 9092)
const deadline = process.env.DEADLINE_MS == null ? undefined : Number(process.env.DEADLINE_MS)
if (deadline != null && !(Number.isFinite(deadline) && deadline >= 0)) {
  process.stderr.write(`npm start: DEADLINE_MS must be a number of milliseconds, got ${JSON.stringify(process.env.DEADLINE_MS)}\n`)
  process.exit(2)
}

const siteDir = resolve(process.env.DEMO_DIR ?? join(ROOT, '.demo-site'))
const demo = await startDemo({
  siteDir,
  port: envPort('PORT', 8080),
  relayPort: envPort('RELAY_PORT', 9090),
  relayHttpPort: relayHttp,
  relayKeyFile: resolve(process.env.RELAY_KEY ?? join(ROOT, '.swarmsite/relay.key')),
  deadlineMs: deadline
}).catch((err: any) => {
  const message = err?.code === 'EADDRINUSE' ? `port ${err.port} is in use (set PORT / RELAY_PORT)` : String(err?.message ?? err)
  process.stderr.write(`npm start: ${message}\n`)
  process.exit(1)
})

const size = demo.manifest.files.reduce((sum, f) => sum + f.size, 0)
process.stdout.write(`site   ${relative(process.cwd(), siteDir) || '.'}/: ${demo.manifest.files.length} files, ${mib(size)} (manifest swarmsite.json, site ${demo.manifest.siteId})\n`)
process.stdout.write(`relay  ${demo.relay.peerId}\n       ${demo.relay.bootstrap.join('\n       ')}\n`)
if (demo.relay.http != null) process.stdout.write(`       health ${demo.relay.http}/health\n`)
process.stdout.write(`origin ${demo.url}: bytes it served, per file: ${demo.statsUrl}\n\n`)
process.stdout.write(`Open ${demo.url} in two or more tabs. Enter prints the origin's counters; Ctrl-C stops.\n`)

if (process.stdin.isTTY) {
  createInterface({ input: process.stdin }).on('line', () => { printCounters(demo) })
}

let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  process.stdout.write('\nstopping…\n')
  printCounters(demo)
  demo.stop().then(() => { process.exit(0) }, () => { process.exit(1) })
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
// the relay going away on its own leaves the page without a swarm: say so, keep serving
demo.relay.child.once('exit', code => { if (!stopping) process.stderr.write(`npm start: the relay exited (${code}); pages now get everything from the origin\n`) })
