import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Route {
  type: string
  body: string | Uint8Array | (() => string | Uint8Array | Promise<string | Uint8Array>)
}

export interface StaticServer {
  url: string
  close(): Promise<void>
}

/** A minimal HTTP server on 127.0.0.1 serving fixed routes (test pages and their bundles). */
export async function serveRoutes (routes: Record<string, Route>, port = 0): Promise<StaticServer> {
  const server = createServer((req, res) => {
    const route = routes[(req.url ?? '/').split('?')[0]!]
    if (route == null) {
      res.writeHead(404).end()
      return
    }
    Promise.resolve(typeof route.body === 'function' ? route.body() : route.body).then(body => {
      res.writeHead(200, { 'content-type': route.type, 'cache-control': 'no-store' }).end(body)
    }, (err: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(err.message)
    })
  })
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close () {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}
