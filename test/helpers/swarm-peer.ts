/**
 * A swarm visitor as its own Node process, for integration tests: `node swarm-peer.ts '<json>'`.
 * Config: { bootstrap, manifest (URL), seedDir?, serve?: 'honest' | 'corrupt' | 'stall',
 * blockDeadlineMs?, upload?: { maxBytesPerSecond? } (null = Infinity), uploadProbe?: CongestionProbeInit }. With `seedDir` it imports the manifest's files from disk first. 'corrupt'
 * flips a byte in every block it serves and 'stall' never answers: misbehaving peers as a
 * faulty or hostile implementation would be. Commands arrive as JSON lines on stdin
 * ({ id, cmd: 'fetch' | 'stats' | 'upload' | 'stop', path?, range? }); each gets one JSON line on stdout
 * ('upload': the budget's rate and congestion state and the probe's stats; Infinity as "Infinity";
 * 'stats' also: `served`, blocks sent per requester, and `asked`, every store read after seeding,
 * which for a seed that fetches nothing itself is the wants peers sent it, answered or not).
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { createMemoryBlockstore, createSwarm } from '../../src/index.ts'
import type { CongestionProbeInit, SwarmBlockstore } from '../../src/index.ts'

interface PeerConfig {
  bootstrap: string[]
  manifest: string
  seedDir?: string
  serve?: 'honest' | 'corrupt' | 'stall'
  blockDeadlineMs?: number
  upload?: { maxBytesPerSecond?: number | null }
  uploadProbe?: CongestionProbeInit
}

const config = JSON.parse(process.argv[2] ?? '{}') as PeerConfig
const out = (message: unknown): void => { process.stdout.write(JSON.stringify(message) + '\n') }

/** Wants this process was asked to serve (every `get` of the exchange), whatever it did with them: what a fault suite counts. */
const asked = { wants: 0, firstAt: 0, lastAt: 0 }

function misbehaving (store: SwarmBlockstore, serve: PeerConfig['serve']): SwarmBlockstore {
  if (serve == null || serve === 'honest') {
    return {
      kind: store.kind,
      open: async (o) => store.open(o),
      close: async () => store.close(),
      has: async (c, o) => store.has(c, o),
      put: async (c, b, o) => store.put(c, b, o),
      delete: async (c, o) => store.delete(c, o),
      cids: (o) => store.cids(o),
      usage: () => store.usage(),
      async get (cid, options) {
        if (serving) countWant()
        return store.get(cid, options)
      }
    }
  }
  return {
    kind: store.kind,
    open: async (o) => store.open(o),
    close: async () => store.close(),
    has: async (c, o) => store.has(c, o),
    put: async (c, b, o) => store.put(c, b, o),
    delete: async (c, o) => store.delete(c, o),
    cids: (o) => store.cids(o),
    usage: () => store.usage(),
    async get (cid, options) {
      if (serving) countWant()
      if (serve === 'stall') {
        // hold the want until the requester cancels or the exchange stops
        await new Promise((_resolve, reject) => { options?.signal?.addEventListener('abort', () => { reject(options.signal?.reason) }, { once: true }) })
      }
      const bytes = await store.get(cid, options)
      if (bytes == null) return bytes
      const bad = bytes.slice()
      bad[bad.length >> 1] = (bad[bad.length >> 1] ?? 0) ^ 0xff
      return bad
    }
  }
}

function countWant (): void {
  const now = Date.now()
  if (asked.wants++ === 0) asked.firstAt = now
  asked.lastAt = now
}

/** Set once seeding is done: from then on every store read is a peer's want. */
let serving = false
/** Blocks sent, per requester (the exchange's `block:uploaded`), with when the first and last went (Date.now()). */
const served = new Map<string, { blocks: number, bytes: number, firstAt: number, lastAt: number }>()

const events: Array<{ type: string, detail: unknown }> = []
const swarm = await createSwarm({
  bootstrap: config.bootstrap,
  manifest: config.manifest,
  iceServers: [],
  dhtServerAfterMs: 300,
  blockstore: misbehaving(createMemoryBlockstore(), config.serve),
  ...(config.blockDeadlineMs != null ? { blockDeadlineMs: config.blockDeadlineMs } : {}),
  ...(config.upload != null ? { upload: { saveData: false, maxBytesPerSecond: config.upload.maxBytesPerSecond ?? Infinity } } : {}),
  ...(config.uploadProbe != null ? { uploadProbe: config.uploadProbe } : {})
})
swarm.addEventListener('peer:banned', (evt) => { events.push({ type: 'peer:banned', detail: { peer: evt.detail.peer.toString(), reason: evt.detail.reason } }) })
swarm.addEventListener('block:uploaded', (evt) => {
  const key = evt.detail.peer.toString()
  const now = Date.now()
  const s = served.get(key) ?? { blocks: 0, bytes: 0, firstAt: now, lastAt: now }
  s.blocks++
  s.bytes += evt.detail.bytes
  s.lastAt = now
  served.set(key, s)
})
await swarm.start()
if (config.seedDir != null) {
  for (const file of swarm.manifest.files) {
    await swarm.importFile(file.path, await readFile(join(config.seedDir, file.path)))
  }
}
serving = true
await swarm.node.waitUntilReachable({ signal: AbortSignal.timeout(30_000) })
out({ ready: true, peerId: swarm.peerId.toString() })

const lines = createInterface({ input: process.stdin })
for await (const line of lines) {
  const { id, cmd, path, range } = JSON.parse(line) as { id: number, cmd: string, path?: string, range?: string }
  try {
    if (cmd === 'fetch') {
      const started = performance.now()
      const response = await swarm.fetch(path!, { headers: range != null ? { Range: range } : {}, signal: AbortSignal.timeout(120_000) })
      const hash = createHash('sha256')
      let length = 0
      let firstByteMs = -1
      const reader = response.body?.getReader()
      while (reader != null) {
        const { value, done } = await reader.read()
        if (done) break
        if (firstByteMs < 0) firstByteMs = performance.now() - started
        hash.update(value)
        length += value.byteLength
      }
      out({ id, ok: true, status: response.status, headers: Object.fromEntries(response.headers), sha256: hash.digest('hex'), length, firstByteMs, elapsedMs: performance.now() - started, stats: swarm.stats() })
    } else if (cmd === 'stats') {
      out({ id, ok: true, stats: swarm.stats(), events, served: Object.fromEntries(served), asked })
    } else if (cmd === 'upload') {
      const state = { bytesPerSecond: swarm.upload.currentBytesPerSecond(), uploaded: swarm.upload.uploaded(), congestion: swarm.upload.congestion(), probe: swarm.uploadProbe?.stats() }
      process.stdout.write(JSON.stringify({ id, ok: true, ...state }, (_key, value) => value === Infinity ? 'Infinity' : value) + '\n')
    } else if (cmd === 'stop') {
      await swarm.stop()
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
