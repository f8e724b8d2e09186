// The libp2p plaintext/2.0.0 connection "encrypter", for the light simulation stack only.
//
// Each side writes one varint-length-prefixed protobuf `Exchange { bytes id = 1; PublicKey
// pubkey = 2 }` and reads the other's; the remote's peer id must match its public key (and
// the peer we dialled, when known). Nothing is encrypted and key possession is not proven:
// it saves noise's X25519/ChaCha20-Poly1305/signature work per connection and nothing else.
// Same wire format as @libp2p/plaintext (not installed here); written for the benchmark.
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { InvalidCryptoExchangeError, UnexpectedPeerError, serviceCapabilities } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import type { ConnectionEncrypter, MessageStream, PeerId, PrivateKey, SecureConnectionOptions, SecuredConnection } from '@libp2p/interface'

export const PLAINTEXT_PROTOCOL = '/plaintext/2.0.0'

function varint (n: number): number[] {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return out
}

function field (tag: number, bytes: Uint8Array): Uint8Array {
  const head = [tag, ...varint(bytes.byteLength)]
  const out = new Uint8Array(head.length + bytes.byteLength)
  out.set(head, 0)
  out.set(bytes, head.length)
  return out
}

function encodeExchange (id: Uint8Array, pubkey: Uint8Array): Uint8Array {
  const a = field(0x0a, id)
  const b = field(0x12, pubkey)
  const out = new Uint8Array(a.byteLength + b.byteLength)
  out.set(a, 0)
  out.set(b, a.byteLength)
  return out
}

/** Reads the two length-delimited fields of an Exchange; unknown fields are an error. */
function decodeExchange (buf: Uint8Array): { id?: Uint8Array, pubkey?: Uint8Array } {
  const out: { id?: Uint8Array, pubkey?: Uint8Array } = {}
  let i = 0
  while (i < buf.byteLength) {
    const tag = buf[i++]
    let len = 0
    let shift = 0
    for (;;) {
      const byte = buf[i++]
      if (byte == null || shift > 28) throw new InvalidCryptoExchangeError('Truncated plaintext exchange')
      len |= (byte & 0x7f) << shift
      shift += 7
      if ((byte & 0x80) === 0) break
    }
    if (i + len > buf.byteLength) throw new InvalidCryptoExchangeError('Truncated plaintext exchange')
    const value = buf.subarray(i, i + len)
    i += len
    if (tag === 0x0a) out.id = value
    else if (tag === 0x12) out.pubkey = value
    else throw new InvalidCryptoExchangeError(`Unexpected field tag ${tag} in plaintext exchange`)
  }
  return out
}

class Plaintext implements ConnectionEncrypter {
  readonly protocol = PLAINTEXT_PROTOCOL
  readonly [Symbol.toStringTag] = '@swarmsite/plaintext'
  readonly [serviceCapabilities]: string[] = ['@libp2p/connection-encryption']
  private readonly privateKey: PrivateKey
  private readonly peerId: PeerId

  constructor (components: { privateKey: PrivateKey, peerId: PeerId }) {
    this.privateKey = components.privateKey
    this.peerId = components.peerId
  }

  async secureInbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
    return this.exchange(connection, options)
  }

  async secureOutbound (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
    return this.exchange(connection, options)
  }

  private async exchange (connection: MessageStream, options?: SecureConnectionOptions): Promise<SecuredConnection> {
    const lp = lpStream(connection)
    const local = encodeExchange(this.peerId.toMultihash().bytes, publicKeyToProtobuf(this.privateKey.publicKey))
    const [, received] = await Promise.all([lp.write(local, options), lp.read(options)])
    const { id, pubkey } = decodeExchange(received.subarray())
    if (id == null || pubkey == null) throw new InvalidCryptoExchangeError('Remote did not send its peer id and public key')
    const remotePeer = peerIdFromPublicKey(publicKeyFromProtobuf(pubkey))
    if (!uint8ArrayEquals(remotePeer.toMultihash().bytes, id)) {
      throw new InvalidCryptoExchangeError('Remote peer id does not match its public key')
    }
    if (options?.remotePeer != null && !options.remotePeer.equals(remotePeer)) {
      throw new UnexpectedPeerError(`Expected ${options.remotePeer} but got ${remotePeer}`)
    }
    return { connection: lp.unwrap(), remotePeer }
  }
}

export function plaintext (): (components: { privateKey: PrivateKey, peerId: PeerId }) => ConnectionEncrypter {
  return (components) => new Plaintext(components)
}
