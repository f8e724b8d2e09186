/**
 * The page side of the service-worker bridge: tells the worker this page's swarm is ready and
 * answers its requests with `swarm.fetch`, one body chunk per pull.
 */
import { logger } from '@libp2p/logger'
import { READY_ACK_TIMEOUT_MS, READY_HEARTBEAT_MS } from './bridge-protocol.ts'
import type { FetchMessage, PortReply, PortRequest, ReadyMessage } from './bridge-protocol.ts'
import type { Swarm } from '../swarm/swarm.ts'

const log = logger('swarmsite:sw-bridge')

export interface ServedRequest { url: string, range?: string, status: number }

export interface ServiceWorkerBridge {
  /** Tells the controlling worker (if any) that this page serves; resolves when it has heard it. */
  announce(): Promise<boolean>
  /** Requests the worker handed to this page, by URL and range (for dashboards and tests). */
  served(): ServedRequest[]
  stop(): void
}

function post (port: MessagePort, reply: PortReply, transfer: Transferable[] = []): void {
  port.postMessage(reply, transfer)
}

async function answer (swarm: Swarm, request: FetchMessage, port: MessagePort, served: ServedRequest[]): Promise<void> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  const controller = new AbortController()
  try {
    const response = await swarm.fetch(request.url, {
      method: request.method,
      headers: request.range != null ? { Range: request.range } : {},
      signal: controller.signal
    })
    served.push({ url: request.url, ...(request.range != null ? { range: request.range } : {}), status: response.status })
    post(port, { type: 'head', status: response.status, headers: [...response.headers] })
    reader = response.body?.getReader()
  } catch (err: any) {
    log('cannot answer %s: %s', request.url, err.message)
    post(port, { type: 'error', name: err.name ?? 'Error', message: err.message ?? String(err) })
    port.close()
    return
  }
  port.onmessage = (event) => {
    const message = event.data as PortRequest
    if (message.type === 'cancel') {
      controller.abort()
      void reader?.cancel().catch(() => {})
      port.close()
      return
    }
    if (reader == null) { post(port, { type: 'end' }); port.close(); return }
    reader.read().then(({ value, done }) => {
      if (done === true) { post(port, { type: 'end' }); port.close(); return }
      // a copy the worker can own: the swarm may still hold the original buffer
      const bytes = value.slice()
      post(port, { type: 'chunk', bytes }, [bytes.buffer])
    }, (err: any) => {
      post(port, { type: 'error', name: err?.name ?? 'Error', message: err?.message ?? String(err) })
      port.close()
    })
  }
}

/** Connects `swarm` to the page's controlling service worker (if any, now or later). */
export function serviceWorkerBridge (swarm: Swarm): ServiceWorkerBridge {
  const container = navigator.serviceWorker
  const served: ServedRequest[] = []
  const ready: ReadyMessage = {
    type: 'swarmsite:ready',
    version: `${swarm.manifest.siteId}:${swarm.manifest.createdAt}`,
    origin: swarm.manifest.origin,
    paths: swarm.manifest.files.map(f => f.path)
  }
  const announce = async (): Promise<boolean> => {
    const controller = container?.controller
    if (controller == null) return false
    const channel = new MessageChannel()
    const acked = new Promise<boolean>(resolve => {
      const timer = setTimeout(() => { resolve(false) }, READY_ACK_TIMEOUT_MS)
      channel.port1.onmessage = () => { clearTimeout(timer); resolve(true) }
    })
    controller.postMessage(ready, [channel.port2])
    const ok = await acked
    channel.port1.close()
    return ok
  }
  const onControllerChange = (): void => { void announce() }
  const heartbeat = setInterval(() => { void announce() }, READY_HEARTBEAT_MS)
  const onMessage = (event: MessageEvent): void => {
    const data = event.data as FetchMessage | undefined
    if (data?.type !== 'swarmsite:fetch' || event.ports[0] == null) return
    void answer(swarm, data, event.ports[0], served)
  }
  container?.addEventListener('message', onMessage)
  container?.addEventListener('controllerchange', onControllerChange)
  container?.startMessages?.()
  void announce()
  return {
    announce,
    served: () => served,
    stop () {
      clearInterval(heartbeat)
      container?.controller?.postMessage({ type: 'swarmsite:gone' })
      container?.removeEventListener('message', onMessage)
      container?.removeEventListener('controllerchange', onControllerChange)
    }
  }
}
