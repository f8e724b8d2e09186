// The few parts of webtorrent 3, bittorrent-tracker 11, create-torrent 6 and memory-chunk-store 1
// that the WebTorrent baseline uses; none of them ships type declarations.

declare module 'webtorrent' {
  import type { EventEmitter } from 'node:events'

  export interface WebTorrentOptions {
    tracker?: false | { rtcConfig?: RTCConfiguration, [key: string]: unknown }
    /** bytes/s over all torrents; -1 (default) = unlimited */
    uploadLimit?: number
    downloadLimit?: number
    maxConns?: number
    dht?: boolean
    lsd?: boolean
    webSeeds?: boolean
  }

  export interface AddOptions {
    announce?: string[]
    urlList?: string[]
    /** a chunk store constructor (abstract-chunk-store) */
    store?: unknown
    strategy?: 'sequential' | 'rarest'
    /** unchoke slots; 0 = never upload */
    uploads?: number | false
    maxWebConns?: number
    destroyStoreOnDestroy?: boolean
  }

  export interface Wire extends EventEmitter {
    /** 'webrtc', 'webSeed', 'tcpIncoming'… */
    type: string
    downloaded: number
    uploaded: number
  }

  export interface TorrentFile {
    name: string
    length: number
    arrayBuffer(): Promise<ArrayBuffer>
  }

  export interface Torrent extends EventEmitter {
    infoHash: string
    length: number
    done: boolean
    /** wire bytes in, protocol overhead included */
    received: number
    /** wire bytes out, protocol overhead included */
    uploaded: number
    numPeers: number
    files: TorrentFile[]
    wires: Wire[]
    destroy(options?: { destroyStore?: boolean }, callback?: (err?: Error) => void): void
  }

  export default class WebTorrent extends EventEmitter {
    constructor (options?: WebTorrentOptions)
    torrents: Torrent[]
    add(torrentId: Uint8Array | string, options?: AddOptions, onTorrent?: (torrent: Torrent) => void): Torrent
    throttleUpload(rate: number): void
    destroy(callback?: (err?: Error) => void): void
  }
}

declare module 'memory-chunk-store' {
  const MemoryChunkStore: new (chunkLength: number, options?: unknown) => unknown
  export default MemoryChunkStore
}

declare module 'create-torrent' {
  export interface CreateTorrentOptions {
    name?: string
    announceList?: string[][]
    urlList?: string[]
    pieceLength?: number
    createdBy?: string
    creationDate?: Date | number
    private?: boolean
    comment?: string
  }
  export default function createTorrent (input: string | Uint8Array, options: CreateTorrentOptions, callback: (err: Error | null, torrent: Uint8Array) => void): void
}

declare module 'bittorrent-tracker' {
  import type { EventEmitter } from 'node:events'
  import type { Server as HttpServer } from 'node:http'

  export interface ServerOptions {
    http?: boolean | object
    udp?: boolean | object
    ws?: boolean | object
    stats?: boolean
    /** ms between announces that the tracker asks clients for */
    interval?: number
  }

  export class Server extends EventEmitter {
    constructor (options?: ServerOptions)
    http: HttpServer | null
    /** the `ws` WebSocketServer */
    ws: EventEmitter | null
    torrents: Record<string, { peers: { length: number } }>
    listen(port: number, hostname: string, onListening?: () => void): void
    close(callback?: (err?: Error | null) => void): void
  }
  const Client: unknown
  export default Client
}
