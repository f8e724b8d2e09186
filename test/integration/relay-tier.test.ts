// A relay tier: three real relay processes that list each other (--peer), 31 visitors (real
// swarms, ten to a process) that list all three. Each visitor reserves on the first relay of
// its own rendezvous order, so the visitors spread over the relays; a file goes from a holder
// on one relay to a visitor on another (gossip bridged by the relays, WebRTC signalled through
// the holder's relay); the holder's relay is SIGKILLed and its visitors reserve elsewhere, and
// a visitor that moved downloads the file from peers.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { buildManifest } from '../../src/content/manifest.ts'
import { rankRelays } from '../../src/node/relay-rank.ts'
import { loadOrCreateKey } from '../../relay/key-file.ts'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { freePort } from '../helpers/free-port.ts'
import { startOriginServer } from '../helpers/origin-server.ts'
import { startRelayProcess } from '../helpers/relay-process.ts'
import { startVisitorsProcess } from '../helpers/swarm-visitors-process.ts'
import { waitFor } from '../helpers/wait.ts'
import type { OriginServer } from '../helpers/origin-server.ts'
import type { RelayProcess } from '../helpers/relay-process.ts'
import type { VisitorInfo, VisitorsProcess } from '../helpers/swarm-visitors-process.ts'

const MiB = 1024 * 1024
const RELAYS = 3
/** Visitors per process, and processes: 30 visitors besides the holder. */
const PER_PROCESS = 10
const PROCESSES = 3
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

interface TierRelay { peerId: string, ws: string, keyFile: string, port: number, process?: RelayProcess }

async function health (relay: RelayProcess): Promise<{ reservations: number, relayPeers: string[] }> {
  const response = await fetch(`${relay.http}/health`, { signal: AbortSignal.timeout(5_000) })
  return response.json() as Promise<{ reservations: number, relayPeers: string[] }>
}

describe('relay tier: three relays, 31 visitors spread over them, swarming across relays, a relay killed', { timeout: 600_000 }, () => {
  let dir: string
  let origin: OriginServer
  const relays: TierRelay[] = []
  let holder: VisitorsProcess
  const crowd: VisitorsProcess[] = []
  const file = randomBytes(3 * MiB + 4_321)
  /** Where each visitor is: [process, index in it]. */
  const where = new Map<string, [VisitorsProcess, number]>()
  let fetcher: string | undefined

  const infos = async (): Promise<VisitorInfo[]> => (await Promise.all([holder, ...crowd].map(async p => p.info()))).flat()

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-tier-'))
    await writeFile(join(dir, 'tier.bin'), file)
    // a scarce origin: the swarm is for that case
    origin = await startOriginServer({ root: dir, bytesPerSecond: 2 * MiB })
    const { manifest } = await buildManifest(dir, { origin: origin.url })
    await writeFile(join(dir, 'swarmsite.json'), JSON.stringify(manifest))
    // every relay's identity and port first, so each can list all the others
    for (let i = 0; i < RELAYS; i++) {
      const keyFile = join(dir, `relay-${i}.key`)
      const { key } = await loadOrCreateKey(keyFile)
      const port = await freePort()
      const peerId = peerIdFromPrivateKey(key).toString()
      relays.push({ peerId, keyFile, port, ws: `/ip4/127.0.0.1/tcp/${port}/ws/p2p/${peerId}` })
    }
    for (const relay of relays) {
      relay.process = await startRelayProcess({
        keyFile: relay.keyFile,
        wsPort: relay.port,
        // one list for the whole tier: a relay skips itself in it
        args: relays.flatMap(r => ['--peer', r.ws])
      })
    }
    await waitFor('every relay connected to the other two', async () => {
      const all = await Promise.all(relays.map(async r => health(r.process!)))
      return all.every(h => h.relayPeers.length === RELAYS - 1)
    }, 20_000)
    const bootstrap = relays.map(r => r.ws)
    const manifestUrl = `${origin.url}swarmsite.json`
    holder = await startVisitorsProcess({ bootstrap, manifest: manifestUrl, count: 1, seedDir: dir })
    where.set(holder.peerIds[0]!, [holder, 0])
    for (let p = 0; p < PROCESSES; p++) {
      // peers first: the origin only past a long deadline, so the bytes show where they came from
      const visitors = await startVisitorsProcess({ bootstrap, manifest: manifestUrl, count: PER_PROCESS, preferPeers: true, blockDeadlineMs: 30_000 })
      crowd.push(visitors)
      visitors.peerIds.forEach((id, i) => where.set(id, [visitors, i]))
    }
  })

  after(async () => {
    await Promise.allSettled([holder, ...crowd].map(async p => p?.stop()))
    await Promise.allSettled(relays.map(async r => r.process?.stop()))
    await origin?.stop()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('each visitor reserves on one relay, the first of its rendezvous order, and every relay holds some', async () => {
    const visitors = await infos()
    assert.equal(visitors.length, 1 + PROCESSES * PER_PROCESS)
    for (const v of visitors) {
      assert.deepEqual(v.reservations, [rankRelays(v.peerId, relays)[0]!.peerId], `visitor ${v.peerId}`)
    }
    const counts = await Promise.all(relays.map(async r => (await health(r.process!)).reservations))
    process.stdout.write(`# reservations per relay: ${counts.join(', ')}\n`)
    for (const n of counts) assert.ok(n >= 1, `reservations per relay: ${counts.join(', ')}`)
    assert.equal(counts.reduce((a, b) => a + b, 0), visitors.length)
  })

  it('a visitor on one relay gets the file from the holder on another', async () => {
    const visitors = await infos()
    const holderRelay = visitors.find(v => v.peerId === holder.peerIds[0])!.reservations[0]
    const other = visitors.find(v => v.peerId !== holder.peerIds[0] && v.reservations[0] !== holderRelay)!
    fetcher = other.peerId
    const [proc, index] = where.get(other.peerId)!
    const r = await proc.fetch(index, 'tier.bin')
    assert.equal(r.status, 200)
    assert.equal(r.length, file.byteLength)
    assert.equal(r.sha256, sha256(file))
    const fromHolder = r.stats.peers.find(p => p.peerId === holder.peerIds[0])
    process.stdout.write(`# cross-relay: visitor on ${other.reservations[0]} got ${r.stats.bytesFromPeers} bytes from peers (${fromHolder?.bytesDown ?? 0} from the holder on ${holderRelay}), ${r.stats.bytesFromOrigin} from the origin, in ${Math.round(r.elapsedMs)} ms\n`)
    assert.ok((fromHolder?.bytesDown ?? 0) > 0, 'the holder, reserved on another relay, delivered blocks')
    assert.equal(r.stats.bytesFromPeers + r.stats.bytesFromOrigin, file.byteLength)
    assert.ok(r.stats.bytesFromPeers >= file.byteLength / 2, `${r.stats.bytesFromPeers} bytes from peers`)
  })

  it('when the holder\'s relay is killed, its visitors reserve on the others and a visitor that moved downloads from peers', async () => {
    const before = await infos()
    const deadRelay = before.find(v => v.peerId === holder.peerIds[0])!.reservations[0]!
    const dead = relays.find(r => r.peerId === deadRelay)!
    const movers = before.filter(v => v.reservations.includes(deadRelay)).map(v => v.peerId)
    const live = new Set(relays.filter(r => r !== dead).map(r => r.peerId))
    const killedAt = Date.now()
    dead.process!.child.kill('SIGKILL')
    let after: VisitorInfo[] = []
    await waitFor('every visitor of the dead relay reserved on a live one', async () => {
      after = await infos()
      return after.filter(v => movers.includes(v.peerId)).every(v => v.reservations.length === 1 && live.has(v.reservations[0]!))
    }, 60_000, 200)
    const times = after.filter(v => movers.includes(v.peerId)).map(v => {
      const at = v.events.find(e => e.type === 'reserved' && e.at >= killedAt && live.has(e.relay))?.at
      return at == null ? NaN : at - killedAt
    }).sort((a, b) => a - b)
    process.stdout.write(`# failover: ${movers.length} visitors re-reserved after the SIGKILL in ms: ${times.join(', ')} (median ${times[times.length >> 1]}, max ${times.at(-1)})\n`)
    // the others did not move
    for (const v of after.filter(v => !movers.includes(v.peerId))) {
      assert.deepEqual(v.reservations, before.find(b => b.peerId === v.peerId)!.reservations)
    }
    const counts = await Promise.all(relays.filter(r => r !== dead).map(async r => (await health(r.process!)).reservations))
    assert.equal(counts.reduce((a, b) => a + b, 0), after.length, `live relays hold ${counts.join(' + ')} reservations`)

    // a visitor that moved (not the holder, not the first fetcher) downloads the file from peers
    const mover = movers.find(id => id !== holder.peerIds[0] && id !== fetcher)
    assert.ok(mover != null, `the dead relay had visitors besides the holder: ${movers.length}`)
    const [proc, index] = where.get(mover)!
    const r = await proc.fetch(index, 'tier.bin')
    assert.equal(r.sha256, sha256(file))
    process.stdout.write(`# after failover: a moved visitor got ${r.stats.bytesFromPeers} bytes from peers, ${r.stats.bytesFromOrigin} from the origin, in ${Math.round(r.elapsedMs)} ms\n`)
    assert.ok(r.stats.bytesFromPeers >= file.byteLength / 2, `${r.stats.bytesFromPeers} bytes from peers`)
  })
})
