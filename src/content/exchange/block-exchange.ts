/**
 * `/swarmsite/block/1.0.0`: serves the blocks of loaded manifests to peers that want them, and
 * asks peers for blocks over direct connections. Bans peers that send bad blocks; refuses peers
 * that keep breaking the protocol.
 */
import { defaultLogger } from '@libp2p/logger'
import { PriorityQueue } from '@libp2p/utils'
import { raceSignal } from 'race-signal'
import { TypedEventEmitter } from 'main-event'
import * as defaults from './constants.ts'
import { BlockNotAvailableError, ExchangeStoppedError, PeerBannedError } from './errors.ts'
import { peerSession } from './peer-session.ts'
import { serveStream } from './serve-stream.ts'
import { fairUploadOrder } from './upload-order.ts'
import type { PeerSession } from './peer-session.ts'
import type { AbortOptions, ComponentLogger, Connection, Libp2p, Logger, PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

export interface BlockExchangeInit {
  protocol?: string
  maxOutstandingWantsPerPeer?: number
  maxStrikes?: number
  openStreamTimeoutMs?: number
}

export interface BlockExchangeComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'getConnections' | 'hangUp'>
  /** The block's bytes when this node may serve it: part of a loaded manifest and held. */
  getServableBlock(cid: CID, options: AbortOptions): Promise<Uint8Array | undefined>
  /** The upload budget; rejects when this node does not upload now. */
  takeUpload(bytes: number, options: AbortOptions): Promise<void>
  /** Where the exchange logs (the node's libp2p `logger`); default `defaultLogger()`. */
  logger?: ComponentLogger
}

export interface BlockUploadedEvent { peer: PeerId, cid: CID, bytes: number }
export interface PeerBannedEvent { peer: PeerId, reason: string }
export interface PeerViolationEvent { peer: PeerId, error: Error, strikes: number }

export interface PeerHaveBlockEvent { peer: PeerId, cid: CID }

export interface BlockExchangeEvents {
  'block:uploaded': CustomEvent<BlockUploadedEvent>
  /** A linked peer told us it now holds a block (a HAVE on our stream to it). */
  'peer:have-block': CustomEvent<PeerHaveBlockEvent>
  'peer:banned': CustomEvent<PeerBannedEvent>
  'peer:violation': CustomEvent<PeerViolationEvent>
}

export interface BlockExchange extends TypedEventEmitter<BlockExchangeEvents> {
  start(): Promise<void>
  stop(): Promise<void>
  /**
   * A verified block from `peer`, over a direct connection we already have. Wanting a block
   * already wanted of that peer shares the request, and a higher priority is sent on.
   */
  want(peer: PeerId, cid: CID, options?: { priority?: number, signal?: AbortSignal }): Promise<Uint8Array>
  /** Our wants in flight with `peer`. */
  inflight(peer: PeerId): number
  /** True when a direct (not relayed) connection to `peer` is open. */
  canAsk(peer: PeerId): boolean
  /** Never ask or serve this peer again, and hang up on it. */
  ban(peer: PeerId, reason: string): void
  /** Tells every peer with a stream to us that we now hold `cid` (a HAVE on each). */
  announce(cid: CID): void
  /**
   * Opens our stream to `peer` ahead of any want, so that it can tell us (HAVEs) what it comes
   * to hold; resolves once open, rejects as opening a want's stream would.
   */
  open(peer: PeerId, options?: AbortOptions): Promise<void>
  /** Whether our stream to `peer` is open. */
  hasSession(peer: PeerId): boolean
  /** By peer id or its string form. */
  isBanned(peer: PeerId | string): boolean
}

function directConnection (connections: Connection[]): Connection | undefined {
  return connections.find(c => c.status === 'open' && c.limits == null)
}

class DefaultBlockExchange extends TypedEventEmitter<BlockExchangeEvents> implements BlockExchange {
  private readonly protocol: string
  private readonly maxOutstandingWants: number
  private readonly maxStrikes: number
  private readonly openStreamTimeoutMs: number
  private readonly sessions = new Map<string, Promise<PeerSession>>()
  private readonly banned = new Set<string>()
  private readonly strikes = new Map<string, number>()
  private readonly inbound = new Set<Stream>()
  /** Per inbound stream: sends a HAVE on it. */
  private readonly announcers = new Map<Stream, (cid: CID) => void>()
  private controller = new AbortController()
  private running = false
  /**
   * Upload grants, one at a time, fair across requesters (each its share of the bytes, in
   * start-time fair order, upload-order.ts): a want's priority is the requester's claim and
   * orders only its own stream's wants, never one peer ahead of another.
   */
  private readonly uploads = new PriorityQueue<void>({ concurrency: 1 })
  private readonly uploadOrder = fairUploadOrder()
  private readonly components: BlockExchangeComponents
  private readonly log: Logger
  private readonly sessionLog: Logger
  private readonly serveLog: Logger

  constructor (components: BlockExchangeComponents, init: BlockExchangeInit) {
    super()
    this.components = components
    const logger = components.logger ?? defaultLogger()
    this.log = logger.forComponent('swarmsite:exchange')
    this.sessionLog = logger.forComponent('swarmsite:exchange:session')
    this.serveLog = logger.forComponent('swarmsite:exchange:serve')
    this.protocol = init.protocol ?? defaults.BLOCK_PROTOCOL
    this.maxOutstandingWants = init.maxOutstandingWantsPerPeer ?? defaults.DEFAULT_MAX_OUTSTANDING_WANTS_PER_PEER
    this.maxStrikes = init.maxStrikes ?? defaults.DEFAULT_MAX_STRIKES
    this.openStreamTimeoutMs = init.openStreamTimeoutMs ?? defaults.DEFAULT_OPEN_STREAM_TIMEOUT_MS
  }

  async start (): Promise<void> {
    if (this.running) return
    this.controller = new AbortController()
    this.running = true
    await this.components.libp2p.handle(this.protocol, (stream, connection) => { this.onInbound(stream, connection) }, {
      maxInboundStreams: defaults.MAX_INBOUND_STREAMS,
      maxOutboundStreams: defaults.MAX_OUTBOUND_STREAMS,
      runOnLimitedConnection: false
    })
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.controller.abort(new ExchangeStoppedError('block exchange stopped'))
    await this.components.libp2p.unhandle(this.protocol)
    for (const session of this.sessions.values()) {
      session.then(s => { s.close() }, () => {})
    }
    this.sessions.clear()
    for (const stream of this.inbound) stream.abort(new ExchangeStoppedError('block exchange stopped'))
    this.inbound.clear()
    this.announcers.clear()
    this.uploads.abort()
  }

  private onInbound (stream: Stream, connection: Connection): void {
    const peer = connection.remotePeer
    if (!this.running || this.isBanned(peer)) {
      stream.abort(new PeerBannedError(`not serving ${peer}`))
      return
    }
    this.inbound.add(stream)
    void serveStream({
      stream,
      peer,
      maxOutstandingWants: this.maxOutstandingWants,
      getBlock: async (cid, options) => this.components.getServableBlock(cid, options),
      takeUpload: async (bytes, options) => {
        // fair across requesters, whatever priority they claim (upload-order.ts)
        const key = peer.toString()
        const tag = this.uploadOrder.tag(key, bytes)
        this.uploadOrder.queued(key)
        const granted = Promise.withResolvers<void>()
        this.uploads.add(async () => {
          this.uploadOrder.dequeued(key)
          this.uploadOrder.started(tag)
          try {
            await this.components.takeUpload(bytes, { signal: options.signal })
          } catch (err: any) {
            granted.reject(err)
            return
          }
          granted.resolve()
          // a stream is served one block at a time: a peer that was just granted (writing its
          // block, reading its next want) has no grant queued for a moment, and a peer with many
          // streams always has; picking now would hand it every other grant. Wait briefly for
          // recent requesters to queue again (upload-order.ts)
          await this.uploadOrder.settle(key, options.signal)
        }, { priority: -tag, signal: options.signal }).catch((err: any) => {
          this.uploadOrder.dequeued(key)
          granted.reject(err)
        })
        await granted.promise
      },
      onViolation: (err) => { this.strike(peer, err) },
      onBlockSent: (cid, bytes) => {
        this.safeDispatch('block:uploaded', { peer, cid, bytes })
      },
      onAnnouncer: (announce) => { this.announcers.set(stream, announce) },
      signal: this.controller.signal,
      log: this.serveLog
    }).finally(() => {
      this.inbound.delete(stream)
      this.announcers.delete(stream)
    })
  }

  private strike (peer: PeerId, error: Error): void {
    const key = peer.toString()
    const strikes = (this.strikes.get(key) ?? 0) + 1
    this.strikes.set(key, strikes)
    this.safeDispatch('peer:violation', { peer, error, strikes })
    if (strikes >= this.maxStrikes) this.ban(peer, `${strikes} protocol violations, the last: ${error.message}`)
  }

  private safeDispatch<K extends keyof BlockExchangeEvents>(type: K, detail: BlockExchangeEvents[K]['detail']): void {
    try {
      this.safeDispatchEvent(type, { detail } as any)
    } catch (err: any) {
      this.log.error('a %s listener threw: %s', type, err.message)
    }
  }

  ban (peer: PeerId, reason: string): void {
    const key = peer.toString()
    if (this.banned.has(key)) return
    this.banned.add(key)
    this.log('banned %p: %s', peer, reason)
    this.sessions.get(key)?.then(s => { s.close(new PeerBannedError(reason)) }, () => {})
    this.sessions.delete(key)
    this.components.libp2p.hangUp(peer).catch(err => { this.log.trace('hang up on %p: %s', peer, err.message) })
    this.safeDispatch('peer:banned', { peer, reason })
  }

  announce (cid: CID): void {
    for (const announce of this.announcers.values()) announce(cid)
  }

  async open (peer: PeerId, options: AbortOptions = {}): Promise<void> {
    if (!this.running) throw new ExchangeStoppedError('block exchange is not running')
    if (this.isBanned(peer)) throw new PeerBannedError(`${peer} is banned`)
    await raceSignal(this.session(peer), options.signal)
  }

  hasSession (peer: PeerId): boolean {
    const session = this.settled.get(peer.toString())
    return session != null && !session.closed
  }

  isBanned (peer: PeerId | string): boolean {
    return this.banned.has(peer.toString())
  }

  canAsk (peer: PeerId): boolean {
    return !this.isBanned(peer) && directConnection(this.components.libp2p.getConnections(peer)) != null
  }

  inflight (peer: PeerId): number {
    return this.settled.get(peer.toString())?.inflight() ?? 0
  }

  /** Sessions whose stream is open, for synchronous inflight counts. */
  private readonly settled = new Map<string, PeerSession>()

  private async session (peer: PeerId): Promise<PeerSession> {
    const key = peer.toString()
    let session = this.sessions.get(key)
    if (session == null) {
      session = this.openSession(peer)
      this.sessions.set(key, session)
      session.catch(() => { if (this.sessions.get(key) === session) this.sessions.delete(key) })
    }
    return session
  }

  private async openSession (peer: PeerId): Promise<PeerSession> {
    const key = peer.toString()
    const connection = directConnection(this.components.libp2p.getConnections(peer))
    if (connection == null) throw new BlockNotAvailableError(`no direct connection to ${peer}`)
    const stream = await connection.newStream(this.protocol, {
      signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.openStreamTimeoutMs)])
    })
    const session: PeerSession = peerSession({
      peer,
      stream,
      onHave: (cid) => { this.safeDispatch('peer:have-block', { peer, cid }) },
      onInvalidBlock: (cid) => { this.ban(peer, `sent bytes that do not match ${cid}`) },
      onViolation: (err) => { this.strike(peer, err) },
      onClose: () => {
        if (this.settled.get(key) === session) this.settled.delete(key)
        this.sessions.delete(key)
      },
      log: this.sessionLog
    })
    this.settled.set(key, session)
    return session
  }

  async want (peer: PeerId, cid: CID, options: { priority?: number, signal?: AbortSignal } = {}): Promise<Uint8Array> {
    if (!this.running) throw new ExchangeStoppedError('block exchange is not running')
    if (this.isBanned(peer)) throw new PeerBannedError(`${peer} is banned`)
    const session = await this.session(peer)
    return session.want(cid, options)
  }
}

export function blockExchange (init: BlockExchangeInit = {}): (components: BlockExchangeComponents) => BlockExchange {
  return (components) => new DefaultBlockExchange(components, init)
}
