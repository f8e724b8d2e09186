import { byteStream } from '@libp2p/utils'
import { equals } from 'uint8arrays/equals'
import type { AbortOptions, Connection } from '@libp2p/interface'

const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_BYTES = 32

/**
 * Proves a freshly dialled connection works end to end: one ping round trip over a new
 * stream on exactly this connection. Under load the dialled side can give up its half of
 * a WebRTC upgrade after the dialler finished its own; such a connection looks open here
 * but carries nothing, and the dial should be retried instead of reported a success.
 */
export async function verifyConnection (connection: Connection, options: AbortOptions): Promise<void> {
  const stream = await connection.newStream(PING_PROTOCOL, options)
  try {
    const bytes = byteStream(stream)
    const sent = crypto.getRandomValues(new Uint8Array(PING_BYTES))
    const [, echoed] = await Promise.all([
      bytes.write(sent, options),
      bytes.read({ bytes: PING_BYTES, ...options })
    ])
    if (!equals(sent, echoed.subarray())) throw new Error('ping echo did not match')
    await stream.close(options)
  } catch (err: any) {
    stream.abort(err)
    throw err
  }
}
