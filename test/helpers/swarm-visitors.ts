/**
 * Several swarm visitors in one Node process, for tests and benchmarks that need many:
 * `node swarm-visitors.ts '<json>'`. Config: { bootstrap, manifest (URL), count, seedDir?,
 * blockDeadlineMs?, preferPeers? }. Each visitor is a full swarm (its own libp2p node, keys and
 * memory store); they share the process's WebRTC runtime. With `seedDir` every visitor imports
 * the manifest's files first. Prints { ready: true, peerIds } once all are reachable, then
 * answers JSON lines on stdin: { id, cmd: 'info' } → per visitor its peer id, relays holding
 * its reservation and the reservation events seen (with Date.now() times); { id, cmd: 'fetch',
 * index, path } → status, sha256, length, stats; { id, cmd: 'stop' }.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { createMemoryBlockstore, createSwarm } from '../../src/index.ts'
import type { Swarm } from '../../src/index.ts'

interface VisitorsConfig {
  bootstrap: string[]
  manifest: string
  count: number
  seedDir?: string
  blockDeadlineMs?: number
  preferPeers?: boolean
}

const config = JSON.parse(process.argv[2] ?? '{}') as VisitorsConfig
const out = (message: unknown): void => { process.stdout.write(JSON.stringify(message) + '\n') }

interface Visitor {
  swarm: Swarm
  events: Array<{ type: string, relay: string, at: number }>
}

async function startVisitor (): Promise<Visitor> {
  const swarm = await createSwarm({
    bootstrap: config.bootstrap,
    manifest: config.manifest,
    iceServers: [],
    blockstore: createMemoryBlockstore(),
    ...(config.blockDeadlineMs != null ? { blockDeadlineMs: config.blockDeadlineMs } : {}),
    ...(config.preferPeers === true ? { preferPeers: true } : {})
  })
  await swarm.start()
  const events: Visitor['events'] = []
  swarm.node.addEventListener('relay:reserved', (evt) => { events.push({ type: 'reserved', relay: evt.detail.relay.toString(), at: Date.now() }) })
  swarm.node.addEventListener('relay:reservation-lost', (evt) => { events.push({ type: 'lost', relay: evt.detail.relay.toString(), at: Date.now() }) })
  if (config.seedDir != null) {
    for (const file of swarm.manifest.files) await swarm.importFile(file.path, await readFile(join(config.seedDir, file.path)))
  }
  await swarm.node.waitUntilReachable({ signal: AbortSignal.timeout(60_000) })
  return { swarm, events }
}

const visitors = await Promise.all(Array.from({ length: config.count }, startVisitor))
out({ ready: true, peerIds: visitors.map(v => v.swarm.peerId.toString()) })

const lines = createInterface({ input: process.stdin })
for await (const line of lines) {
  const { id, cmd, index, path } = JSON.parse(line) as { id: number, cmd: string, index?: number, path?: string }
  try {
    if (cmd === 'info') {
      out({ id, ok: true, visitors: visitors.map(v => ({ peerId: v.swarm.peerId.toString(), reservations: v.swarm.node.reservations(), events: v.events })) })
    } else if (cmd === 'fetch') {
      const { swarm } = visitors[index!]!
      const started = performance.now()
      const response = await swarm.fetch(path!, { signal: AbortSignal.timeout(120_000) })
      const hash = createHash('sha256')
      let length = 0
      const reader = response.body?.getReader()
      while (reader != null) {
        const { value, done } = await reader.read()
        if (done) break
        hash.update(value)
        length += value.byteLength
      }
      out({ id, ok: true, status: response.status, sha256: hash.digest('hex'), length, elapsedMs: performance.now() - started, stats: swarm.stats() })
    } else if (cmd === 'stop') {
      await Promise.allSettled(visitors.map(async v => v.swarm.stop()))
      out({ id, ok: true })
      break
    } else {
      out({ id, ok: false, error: `unknown command ${cmd}` })
    }
  } catch (err: any) {
    out({ id, ok: false, error: `${err.name}: ${err.message}` })
  }
}
process.exit(0)
