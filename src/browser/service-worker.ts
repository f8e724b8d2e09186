/// <reference lib="webworker" />
/**
 * The swarmsite service worker (`swarmsite-sw.js`): intercepts same-origin GET/HEAD requests
 * for files of the site manifest and has a page's swarm node answer them; anything else, or
 * any failure before the first byte, goes straight to the network as if it weren't there.
 * Pages (navigations to HTML or to the site root) are never intercepted, so they always come
 * fresh from the server; navigations to other manifest files (a download link) are.
 */
import { BYPASS_HEADER, HEAD_TIMEOUT_MS } from './bridge-protocol.ts'
import type { FetchMessage, PortReply, ReadyMessage } from './bridge-protocol.ts'

declare const self: ServiceWorkerGlobalScope & typeof globalThis

interface ReadyClient { version: string, at: number }

/** The newest manifest a page reported: its origin path and files. */
let manifest: { version: string, originPath: string, paths: Set<string> } | undefined
const readyClients = new Map<string, ReadyClient>()

self.addEventListener('install', () => { void self.skipWaiting() })
self.addEventListener('activate', (event) => { event.waitUntil(self.clients.claim()) })

self.addEventListener('message', (event) => {
  const source = event.source as Client | null
  const data = event.data as ReadyMessage | { type: string } | undefined
  if (source == null || data == null || typeof data !== 'object') return
  if (data.type === 'swarmsite:ready') {
    const ready = data as ReadyMessage
    if (!Array.isArray(ready.paths) || typeof ready.version !== 'string' || typeof ready.origin !== 'string') return
    let originPath: string
    try {
      const origin = new URL(ready.origin)
      if (origin.origin !== self.location.origin) return // another host's files: not ours to intercept
      originPath = origin.pathname
    } catch {
      return
    }
    // a page with another manifest version takes over the path list; pages still on the old
    // one keep serving (their blocks are content-addressed, so they stay valid)
    if (manifest == null || manifest.version !== ready.version) {
      manifest = { version: ready.version, originPath, paths: new Set(ready.paths) }
    }
    readyClients.set(source.id, { version: ready.version, at: Date.now() })
    // the page waits for this before it lets its deferred elements load
    event.ports[0]?.postMessage({ type: 'swarmsite:ack' })
  } else if (data.type === 'swarmsite:gone') {
    readyClients.delete(source.id)
  }
})

function manifestPath (url: URL): string | undefined {
  if (manifest == null || url.origin !== self.location.origin || !url.pathname.startsWith(manifest.originPath)) return undefined
  let path: string
  try {
    path = decodeURIComponent(url.pathname.slice(manifest.originPath.length))
  } catch {
    return undefined
  }
  return manifest.paths.has(path) ? path : undefined
}

async function pickClient (preferred: string): Promise<Client | undefined> {
  const ids = preferred !== '' && readyClients.has(preferred) ? [preferred, ...readyClients.keys()] : [...readyClients.keys()]
  for (const id of ids) {
    const client = await self.clients.get(id)
    if (client != null) return client
    readyClients.delete(id) // closed without saying so
  }
  return undefined
}

/** Waits for one reply on the port, or rejects after `timeoutMs`. */
async function nextReply (port: MessagePort, timeoutMs: number): Promise<PortReply> {
  return new Promise<PortReply>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error('the page did not answer in time')) }, timeoutMs)
    port.onmessage = (event) => {
      clearTimeout(timer)
      resolve(event.data as PortReply)
    }
  })
}

async function answerFromSwarm (request: Request, clientId: string): Promise<Response> {
  const client = await pickClient(clientId)
  if (client == null) throw new Error('no page has a ready swarm node')
  const channel = new MessageChannel()
  const port = channel.port1
  const message: FetchMessage = { type: 'swarmsite:fetch', url: request.url, method: request.method as 'GET' | 'HEAD' }
  const range = request.headers.get('range')
  if (range != null) message.range = range
  client.postMessage(message, [channel.port2])
  const head = await nextReply(port, HEAD_TIMEOUT_MS)
  if (head.type !== 'head') {
    port.close()
    throw new Error(head.type === 'error' ? `${head.name}: ${head.message}` : `unexpected ${head.type}`)
  }
  if (request.method === 'HEAD' || head.status === 416) {
    port.postMessage({ type: 'cancel' })
    port.close()
    return new Response(null, { status: head.status, headers: head.headers })
  }
  const body = new ReadableStream<Uint8Array>({
    async pull (controller) {
      port.postMessage({ type: 'pull' })
      // once bytes flow, a stalled page must not hang the element forever either
      const reply = await nextReply(port, 120_000).catch((err: Error) => ({ type: 'error' as const, name: 'TimeoutError', message: err.message }))
      if (reply.type === 'chunk') controller.enqueue(reply.bytes)
      else if (reply.type === 'end') { controller.close(); port.close() }
      else { controller.error(new Error(reply.type === 'error' ? `${reply.name}: ${reply.message}` : 'unexpected reply')); port.close() }
    },
    cancel () {
      port.postMessage({ type: 'cancel' })
      port.close()
    }
  }, { highWaterMark: 1 })
  return new Response(body, { status: head.status, headers: head.headers })
}

self.addEventListener('fetch', (event) => {
  const request = event.request
  if (request.method !== 'GET' && request.method !== 'HEAD') return
  if (request.headers.has(BYPASS_HEADER)) return
  const path = manifestPath(new URL(request.url))
  if (path == null) return
  if (request.mode === 'navigate' && (path === '' || /\.html?$/i.test(path))) return
  event.respondWith(answerFromSwarm(request, event.clientId).catch(() => fetch(request)))
})
