/**
 * The Kumar–Ross lower bound on the time to get one file of F bytes to N downloaders from a
 * server that uploads at u_s, when every downloader may upload at u_i and download at d_i
 * (R. Kumar, K. W. Ross, "Peer-assisted file distribution: the minimum distribution time",
 * 2006):
 *
 *   T ≥ max( F / u_s,  F / d_min,  N·F / (u_s + Σ u_i) )
 *
 * the server must send every byte at least once; the slowest downloader must receive F; and
 * N·F bytes must be uploaded in total by the server and the peers together. The bound holds for
 * any scheme, with everybody present from time 0 (so it only frames arrivals spread over time).
 */

export interface BoundInput {
  /** File size, bytes. */
  fileBytes: number
  /** Downloaders. */
  peers: number
  /** Server (origin) upload, bytes/s; Infinity when uncapped. */
  serverBytesPerSecond: number
  /** Each downloader's upload cap, bytes/s (one number for all, or one per peer); 0 = they don't upload. */
  peerUploadBytesPerSecond: number | number[]
  /** Downloaders' download caps, bytes/s; default Infinity (none configured). */
  peerDownloadBytesPerSecond?: number | number[]
}

export interface Bound {
  /** The bound, seconds: the largest of the three terms (0 when nothing is capped). */
  seconds: number
  /** F / u_s */
  serverSeconds: number
  /** F / d_min */
  downloadSeconds: number
  /** N·F / (u_s + Σ u_i) */
  aggregateSeconds: number
  /** Which term binds. */
  limitedBy: 'server' | 'download' | 'aggregate' | 'none'
}

function perPeer (value: number | number[] | undefined, peers: number, fallback: number, name: string): number[] {
  const list = value == null ? Array.from({ length: peers }, () => fallback) : Array.isArray(value) ? value : Array.from({ length: peers }, () => value)
  if (list.length !== peers) throw new RangeError(`${name} lists ${list.length} rates for ${peers} peers`)
  for (const x of list) if (!(x >= 0)) throw new RangeError(`${name} must be >= 0, got ${x}`)
  return list
}

export function kumarRossBound (input: BoundInput): Bound {
  const { fileBytes: F, peers: N, serverBytesPerSecond: us } = input
  if (!(F >= 0) || !Number.isFinite(F)) throw new RangeError(`fileBytes must be a finite number >= 0, got ${F}`)
  if (!Number.isInteger(N) || N < 1) throw new RangeError(`peers must be an integer >= 1, got ${N}`)
  if (!(us > 0)) throw new RangeError(`serverBytesPerSecond must be > 0 (Infinity when uncapped), got ${us}`)
  const up = perPeer(input.peerUploadBytesPerSecond, N, 0, 'peerUploadBytesPerSecond')
  const down = perPeer(input.peerDownloadBytesPerSecond, N, Infinity, 'peerDownloadBytesPerSecond')
  const dMin = Math.min(...down)
  const serverSeconds = F / us
  const downloadSeconds = dMin === 0 ? Infinity : F / dMin
  const aggregateSeconds = (N * F) / (us + up.reduce((a, b) => a + b, 0))
  const seconds = Math.max(serverSeconds, downloadSeconds, aggregateSeconds)
  let limitedBy: Bound['limitedBy'] = 'none'
  if (seconds > 0) limitedBy = seconds === aggregateSeconds ? 'aggregate' : seconds === serverSeconds ? 'server' : 'download'
  return { seconds, serverSeconds, downloadSeconds, aggregateSeconds, limitedBy }
}
