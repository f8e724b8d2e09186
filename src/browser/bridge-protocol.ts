/**
 * Messages between the service worker and the page that runs the swarm node. Browsers don't
 * allow WebRTC in workers, so the worker asks a page: one `MessageChannel` per request, the
 * worker pulls body chunks one at a time (backpressure), and either side may end it.
 */

/** Request header that tells the worker to let a request through to the network untouched. */
export const BYPASS_HEADER = 'x-swarmsite-bypass'

/** Page → worker: this page's node is ready to serve the manifest's files. */
export interface ReadyMessage {
  type: 'swarmsite:ready'
  /** Changes with every manifest build: a newer one replaces the worker's path list. */
  version: string
  /** The manifest's origin URL (ends with '/'). */
  origin: string
  paths: string[]
}

/** Page → worker: this page's node is going away. */
export interface GoneMessage { type: 'swarmsite:gone' }

/** Worker → page (with a MessagePort): please answer this request. */
export interface FetchMessage {
  type: 'swarmsite:fetch'
  url: string
  method: 'GET' | 'HEAD'
  range?: string
}

/** Page → worker over the port. */
export type PortReply =
  | { type: 'head', status: number, headers: Array<[string, string]> }
  | { type: 'chunk', bytes: Uint8Array }
  | { type: 'end' }
  | { type: 'error', name: string, message: string }

/** Worker → page over the port. */
export type PortRequest = { type: 'pull' } | { type: 'cancel' }

/**
 * Pages repeat their ready message this often: a worker the browser stopped while idle starts
 * again without its state, and the messages also keep it from idling while pages run nodes.
 */
export const READY_HEARTBEAT_MS = 10_000

/** A page waits this long for the worker to acknowledge its ready message. */
export const READY_ACK_TIMEOUT_MS = 2_000

/** A page answers the head this fast or the worker goes to the network itself. */
export const HEAD_TIMEOUT_MS = 4_000

/** Once bytes flow, a page answers each pull this fast or the body goes on elsewhere. */
export const BODY_TIMEOUT_MS = 30_000

/** While it waits for a page, the worker checks this often that the page is still there (a closed tab says nothing). */
export const CLIENT_CHECK_MS = 500

/** Other pages a broken body is offered to before the network. */
export const RESUME_PAGE_TRIES = 2
