import { createServer } from 'node:http'
import type { Registry } from 'prom-client'
import type { AddressInfo } from 'node:net'

export interface HttpSideInit {
  host: string
  port: number
  registry: Registry
  health(): Record<string, unknown>
}

export interface HttpSide {
  url: string
  close(): Promise<void>
}

/** The relay's side port: `/health` (JSON) and `/metrics` (Prometheus text). */
export async function startHttpSide (init: HttpSideInit): Promise<HttpSide> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
    } else if (path === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(init.health()))
    } else if (path === '/metrics') {
      init.registry.metrics().then(text => {
        res.writeHead(200, { 'content-type': init.registry.contentType }).end(text)
      }, (err: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(err.message)
      })
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /health or /metrics\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.port, init.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const host = init.host.includes(':') ? `[${init.host}]` : init.host
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    async close () {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}
