// The `swarm` system's headless visitor: the same visit as the Chromium page (swarm-visit.ts)
// in Node (node-datachannel WebRTC, memory blockstore). Many of them share one process
// (../node-host.ts), each with its own createSwarm, so its own libp2p node, key and store.
import { createHash } from 'node:crypto'
import { createSwarmVisitor } from './swarm-visit.ts'
import type { SwarmVisitor } from './swarm-visit.ts'
import type { ReadBody } from './page-common.ts'

/**
 * Reads a body to its end, hashing as it goes: a page keeps the whole body to hash it with
 * WebCrypto, but 200 visitors in a few processes would hold 200 copies of the asset beside
 * their blockstores.
 */
async function readBodyHashing (body: ReadableStream<Uint8Array> | null, started: number): Promise<ReadBody> {
  const hash = createHash('sha256')
  let length = 0
  let firstByteMs = -1
  const reader = body?.getReader()
  while (reader != null) {
    const { value, done } = await reader.read()
    if (done) break
    if (firstByteMs < 0) firstByteMs = performance.now() - started
    hash.update(value)
    length += value.byteLength
  }
  const completeMs = performance.now() - started
  return { bytes: length, firstByteMs, completeMs, sha256: hash.digest('hex') }
}

export function createNodeVisitor (): SwarmVisitor {
  return createSwarmVisitor({ runtime: 'node', readBody: readBodyHashing })
}
