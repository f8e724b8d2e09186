import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_SERVE_HOST, DEFAULT_SERVE_PORT, ORIGIN_STATS_PATH } from '../serve/constants.ts'
import { startOriginServer } from '../serve/origin-server.ts'
import { UsageError, flagOrEnv, formatBytes, parseBytes, parsePort } from './options.ts'

export const SERVE_HELP = `Usage: swarmsite serve <dir> [options]

Serves a site folder over HTTP as its origin: single byte ranges (206, 416), CORS, no caching,
and per-file counters of the bytes it served at ${ORIGIN_STATS_PATH} (JSON), so you can
see what the swarm saved the origin. Every option can also be set by the environment
variable shown.

  --port <port>        port, 0 for any (SWARMSITE_SERVE_PORT, default ${DEFAULT_SERVE_PORT})
  --host <ip>          listen address (SWARMSITE_SERVE_HOST, default ${DEFAULT_SERVE_HOST})
  --rate <bytes/s>     limit on body bytes per second, shared by all responses, e.g. 2M
                       (SWARMSITE_SERVE_RATE, default none)
  --json               print the address as one JSON line
  -h, --help           show this help

Stops cleanly on SIGINT or SIGTERM.`

/** `swarmsite serve`: runs until SIGINT/SIGTERM. Resolves with the process exit code. */
export async function serveCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      rate: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) {
    process.stdout.write(SERVE_HELP + '\n')
    return 0
  }
  if (positionals.length !== 1) throw new UsageError(`serve takes exactly one folder, got ${positionals.length}; try 'swarmsite serve --help'`)
  const dir = resolve(positionals[0]!)
  const info = await stat(dir).catch(() => undefined)
  if (info == null) throw new UsageError(`folder ${JSON.stringify(positionals[0])} does not exist`)
  if (!info.isDirectory()) throw new UsageError(`${JSON.stringify(positionals[0])} is not a folder`)
  const port = parsePort('port', flagOrEnv(values, 'port', 'SWARMSITE_SERVE_PORT')) ?? DEFAULT_SERVE_PORT
  const host = flagOrEnv(values, 'host', 'SWARMSITE_SERVE_HOST') ?? DEFAULT_SERVE_HOST
  const rate = parseBytes('rate', flagOrEnv(values, 'rate', 'SWARMSITE_SERVE_RATE'))

  // listen for signals before printing the address: whoever reads it may signal at once
  const signalled = new Promise<void>(resolve => {
    const shutdown = (): void => {
      process.off('SIGINT', shutdown)
      process.off('SIGTERM', shutdown)
      resolve()
    }
    process.on('SIGINT', shutdown)
    process.on('SIGTERM', shutdown)
  })

  const server = await startOriginServer({ root: dir, port, host, bytesPerSecond: rate }).catch((err: any) => {
    if (err?.code === 'EADDRINUSE') throw new UsageError(`cannot listen on ${host}:${port}: the port is in use`)
    if (err?.code === 'EADDRNOTAVAIL' || err?.code === 'ENOTFOUND' || err?.code === 'EAFNOSUPPORT') throw new UsageError(`cannot listen on ${JSON.stringify(host)}: ${err.code}`)
    if (err?.code === 'EACCES') throw new UsageError(`cannot listen on ${host}:${port}: permission denied`)
    throw err
  })
  const statsUrl = new URL(ORIGIN_STATS_PATH.slice(1), server.url).href
  if (values.json === true) {
    process.stdout.write(JSON.stringify({ url: server.url, port: server.port, root: dir, stats: statsUrl, bytesPerSecond: rate ?? null }) + '\n')
  } else {
    process.stdout.write(`serving ${dir} at ${server.url}${rate != null ? ` (at most ${formatBytes(rate)}/s)` : ''}\n`)
    process.stdout.write(`bytes served per file: ${statsUrl}\n`)
  }

  await signalled
  const { total, requests } = server.stats()
  await server.stop()
  if (values.json !== true) process.stdout.write(`stopped after ${requests} requests, ${formatBytes(total)} served\n`)
  return 0
}
