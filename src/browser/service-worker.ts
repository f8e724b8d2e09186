/// <reference lib="webworker" />
/**
 * The swarmsite service worker (`swarmsite-sw.js`): intercepts same-origin GET/HEAD requests
 * for files of the site manifest and has a page's swarm node answer them; anything else, or
 * any failure before the first byte, goes straight to the network as if it weren't there; a
 * body that breaks later (the answering page closed, stalled or failed) goes on from the byte
 * it broke at, through another ready page or the network.
 * Pages (navigations to HTML or to the site root) are never intercepted, so they always come
 * fresh from the server; navigations to other manifest files (a download link) are.
 */
import { BODY_TIMEOUT_MS, BYPASS_HEADER, CLIENT_CHECK_MS, HEAD_TIMEOUT_MS, RESUME_PAGE_TRIES } from './bridge-protocol.ts'
import { bytesToSkip, remainingRange, responseSpan } from './resume-range.ts'
import type { FetchMessage, PortReply, ReadyMessage } from './bridge-protocol.ts'
import type { ByteSpan } from './resume-range.ts'

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

async function pickClient (preferred: string, exclude: ReadonlySet<string>): Promise<Client | undefined> {
  const ids = preferred !== '' && readyClients.has(preferred) ? [preferred, ...readyClients.keys()] : [...readyClients.keys()]
  for (const id of ids) {
    if (exclude.has(id)) continue
    const client = await self.clients.get(id)
    if (client != null) return client
    readyClients.delete(id) // closed without saying so
  }
  return undefined
}

/**
 * Waits for one reply on the port, or rejects after `timeoutMs` — or as soon as the page that
 * answers is gone (a closed tab says nothing on its ports).
 */
async function nextReply (port: MessagePort, timeoutMs: number, clientId: string): Promise<PortReply> {
  return new Promise<PortReply>((resolve, reject) => {
    const done = (): void => { clearTimeout(timer); clearInterval(check) }
    const timer = setTimeout(() => { done(); reject(new Error('the page did not answer in time')) }, timeoutMs)
    const check = setInterval(() => {
      void self.clients.get(clientId).then(client => {
        if (client != null) return
        done()
        readyClients.delete(clientId)
        reject(new Error('the page answering went away'))
      })
    }, CLIENT_CHECK_MS)
    port.onmessage = (event) => {
      done()
      resolve(event.data as PortReply)
    }
  })
}

/** Where the body's bytes come from now: a page's port or the network. */
interface BodySource {
  /** The next bytes; null at the end. Throws when the source broke. */
  read(): Promise<Uint8Array | null>
  cancel(): void
}

interface PageAnswer { clientId: string, status: number, headers: Array<[string, string]>, port: MessagePort }

/** Hands the request to a ready page (not one in `exclude`) and waits for its head. */
async function askPage (request: Request, range: string | undefined, preferred: string, exclude: Set<string>): Promise<PageAnswer> {
  const client = await pickClient(preferred, exclude)
  if (client == null) throw new Error('no page has a ready swarm node')
  const channel = new MessageChannel()
  const port = channel.port1
  const message: FetchMessage = { type: 'swarmsite:fetch', url: request.url, method: request.method as 'GET' | 'HEAD' }
  if (range != null) message.range = range
  client.postMessage(message, [channel.port2])
  const head = await nextReply(port, HEAD_TIMEOUT_MS, client.id).catch((err: Error) => ({ type: 'error' as const, name: 'Error', message: err.message }))
  if (head.type !== 'head') {
    port.close()
    exclude.add(client.id)
    throw new Error(head.type === 'error' ? `${head.name}: ${head.message}` : `unexpected ${head.type}`)
  }
  return { clientId: client.id, status: head.status, headers: head.headers, port }
}

function pageSource (answer: PageAnswer, exclude: Set<string>): BodySource {
  const { port } = answer
  return {
    async read () {
      port.postMessage({ type: 'pull' })
      // once bytes flow, a stalled page must not hang the element forever either
      const reply = await nextReply(port, BODY_TIMEOUT_MS, answer.clientId).catch((err: Error) => ({ type: 'error' as const, name: 'Error', message: err.message }))
      if (reply.type === 'chunk') return reply.bytes
      port.close()
      if (reply.type === 'end') return null
      exclude.add(answer.clientId)
      throw new Error(reply.type === 'error' ? `${reply.name}: ${reply.message}` : 'unexpected reply')
    },
    cancel () {
      port.postMessage({ type: 'cancel' })
      port.close()
    }
  }
}

/** Reads `body`, dropping its first `skip` bytes. */
function streamSource (body: ReadableStream<Uint8Array>, skip: number): BodySource {
  const reader = body.getReader()
  let toSkip = skip
  return {
    async read () {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return null
        if (toSkip >= value.byteLength) { toSkip -= value.byteLength; continue }
        const bytes = toSkip > 0 ? value.subarray(toSkip) : value
        toSkip = 0
        return bytes
      }
    },
    cancel () { void reader.cancel().catch(() => {}) }
  }
}

/**
 * The rest of a body that broke after `delivered` bytes (its page closed, stalled or failed):
 * from another ready page, else from the network, both asked for the remaining range; undefined
 * when neither continues it.
 */
async function resume (request: Request, span: ByteSpan, delivered: number, exclude: Set<string>): Promise<BodySource | undefined> {
  const range = remainingRange(span, delivered)
  if (range == null) return { read: async () => null, cancel: () => {} }
  for (let tries = 0; tries < RESUME_PAGE_TRIES; tries++) {
    let answer: PageAnswer
    try {
      answer = await askPage(request, range, '', exclude)
    } catch {
      break // no other page, or it failed (and is excluded now)
    }
    if (bytesToSkip(span, delivered, answer.status, new Headers(answer.headers)) === 0) return pageSource(answer, exclude)
    answer.port.postMessage({ type: 'cancel' })
    answer.port.close()
    exclude.add(answer.clientId)
  }
  try {
    const response = await fetch(request.url, { headers: { range }, credentials: 'same-origin' })
    const skip = bytesToSkip(span, delivered, response.status, response.headers)
    if (skip != null && response.body != null) return streamSource(response.body, skip)
    void response.body?.cancel().catch(() => {})
  } catch {}
  return undefined
}

async function answerFromSwarm (request: Request, clientId: string): Promise<Response> {
  const exclude = new Set<string>()
  const first = await askPage(request, request.headers.get('range') ?? undefined, clientId, exclude)
  if (request.method === 'HEAD' || first.status === 416) {
    first.port.postMessage({ type: 'cancel' })
    first.port.close()
    return new Response(null, { status: first.status, headers: first.headers })
  }
  const span = responseSpan(first.status, new Headers(first.headers))
  let source = pageSource(first, exclude)
  let delivered = 0
  const body = new ReadableStream<Uint8Array>({
    async pull (controller) {
      for (;;) {
        try {
          const bytes = await source.read()
          if (bytes == null) controller.close()
          else {
            delivered += bytes.byteLength
            controller.enqueue(bytes)
          }
          return
        } catch (err) {
          source.cancel()
          // another tab's download must not break with this page: go on from the byte it broke at
          const next = span != null ? await resume(request, span, delivered, exclude) : undefined
          if (next == null) {
            controller.error(err)
            return
          }
          source = next
        }
      }
    },
    cancel () { source.cancel() }
  }, { highWaterMark: 1 })
  return new Response(body, { status: first.status, headers: first.headers })
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
