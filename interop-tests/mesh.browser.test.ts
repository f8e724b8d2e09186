import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { freePort } from '../test/helpers/free-port.ts'
import { startRelayProcess } from '../test/helpers/relay-process.ts'
import { waitFor } from '../test/helpers/wait.ts'
import { startSwarmPages } from './harness/swarm-pages.ts'
import type { SwarmPages } from './harness/swarm-pages.ts'
import type { RelayProcess } from '../test/helpers/relay-process.ts'

const PAGES = Number(process.env.SWARMSITE_TEST_PAGES ?? 10)
const TOPIC = 'swarmsite/browser-mesh-test'

async function cidOf (text: string): Promise<string> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(text))).toString()
}

describe(`real Chromium: ${PAGES} pages and the relay binary`, { timeout: 300_000 }, () => {
  let relay: RelayProcess
  let swarm: SwarmPages
  let keyDir: string
  let wsPort: number

  before(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'swarmsite-relay-key-'))
    wsPort = await freePort()
    relay = await startRelayProcess({ keyFile: join(keyDir, 'relay.key'), wsPort })
    swarm = await startSwarmPages()
    await Promise.all(Array.from({ length: PAGES }, async () => swarm.open({
      bootstrap: [relay.ws],
      iceServers: [],
      dhtServerAfterMs: 1000,
      retryMaxDelayMs: 2000,
      // 10 pages and their WebRTC stacks saturate a 2-core machine while they all dial at
      // once; dials then take seconds, not the ~0.4 s one takes alone (see the benchmark)
      dialTimeoutMs: 30_000,
      dialAttempts: 4
    })))
  })

  after(async () => {
    await swarm?.close()
    await relay?.stop()
    await rm(keyDir, { recursive: true, force: true })
  })

  it('every page takes a relay reservation and gets a /webrtc address', async () => {
    const results = await Promise.all(swarm.pages.map(async p => p.call<{ addrs: string[] }>('waitReachable', 30_000)))
    for (const [i, { addrs }] of results.entries()) {
      assert.ok(addrs.some(a => a.includes(`/p2p/${relay.peerId}/p2p-circuit/webrtc/p2p/${swarm.pages[i]!.peerId}`)), addrs.join(' '))
    }
    for (const p of swarm.pages) assert.deepEqual(await p.call('reservations'), [relay.peerId])
  })

  it('all pages dial each other in parallel, and every dial ends on a direct WebRTC connection', async () => {
    const dials = swarm.pages.flatMap((from, i) => swarm.pages.slice(i + 1).map(async to => ({
      from: i, to: to.peerId, result: await from.call<{ transport: string, direct: boolean }>('dial', to.peerId, 180_000)
    })))
    const results = await Promise.all(dials)
    assert.equal(results.length, PAGES * (PAGES - 1) / 2)
    for (const { result } of results) {
      assert.equal(result.transport, 'webrtc')
      assert.equal(result.direct, true)
    }
    // the dialled side finishes its half of the upgrade a little after the dialler
    for (const p of swarm.pages) {
      const directPeers = async (): Promise<Set<string>> => new Set((await p.call<Array<{ peerId: string, transport: string, direct: boolean }>>('connections'))
        .filter(c => c.direct && c.transport === 'webrtc').map(c => c.peerId))
      const settled = await waitFor(`page ${p.peerId} to hold direct WebRTC connections to every other page`, async () => (await directPeers()).size === PAGES - 1, 30_000, 500)
        .catch(() => false)
      if (settled === false) {
        // Known issue (see the issue notes): on a loaded machine a verified WebRTC connection
        // occasionally closes again on one side. Say so, dial the missing peers again, and
        // require the full mesh after that.
        const have = await directPeers()
        const missing = swarm.pages.filter(o => o !== p && !have.has(o.peerId))
        process.stdout.write(`# page ${p.peerId.slice(-6)} lost ${missing.length} direct connection(s) after the dials; dialling again\n`)
        for (const o of missing) await p.call('dial', o.peerId, 60_000)
        await waitFor(`page ${p.peerId} to hold direct WebRTC connections to every other page`, async () => (await directPeers()).size === PAGES - 1, 30_000, 500)
          .catch(async err => {
            const events = (await p.call<Array<{ type: string }>>('events')).filter(e => e.type === 'peer:disconnect' || e.type.startsWith('relay:'))
            throw new Error(`${err.message}: has ${(await directPeers()).size}; events ${JSON.stringify(events)}`)
          })
      }
    }
  })

  it('the relayed connections that carried the WebRTC signalling between pages are closed', async () => {
    for (const p of swarm.pages) {
      const relayed = async (): Promise<string[]> => (await p.call<Array<{ peerId: string, transport: string, direct: boolean }>>('connections'))
        .filter(c => !c.direct && c.peerId !== relay.peerId).map(c => `${c.peerId.slice(-6)} ${c.transport}`)
      await waitFor(`page ${p.peerId.slice(-6)} to hold no relayed connection to another page`, async () => (await relayed()).length === 0, 30_000, 500)
        .catch(async err => { throw new Error(`${err.message}: still ${(await relayed()).join(', ')}`) })
    }
  })

  it('pages turn DHT servers, and a record provided on one page is found from another', async () => {
    await waitFor('every page in DHT server mode', async () => {
      const modes = await Promise.all(swarm.pages.map(async p => p.call<string>('dhtMode')))
      return modes.every(m => m === 'server')
    }, 30_000, 250)
    const cid = await cidOf('provided before anything else')
    await swarm.pages[0]!.call('provide', cid, 30_000)
    const { found } = await swarm.pages[PAGES - 1]!.call<{ found: boolean }>('findProvider', cid, swarm.pages[0]!.peerId, 30_000)
    assert.equal(found, true)
  })

  it('a gossip message reaches every page', async () => {
    await Promise.all(swarm.pages.map(async p => p.call('subscribe', TOPIC)))
    await waitFor('gossip mesh', async () => {
      const peers = await Promise.all(swarm.pages.map(async p => p.call<number>('topicPeers', TOPIC)))
      return peers.every(n => n > 0)
    }, 30_000, 250)
    const sender = swarm.pages[3 % PAGES]!
    await waitFor('every page received the message', async () => {
      await sender.call('publish', TOPIC, 'hello from page 3')
      const got = await Promise.all(swarm.pages.filter(p => p !== sender).map(async p => p.call<string[]>('received', TOPIC)))
      return got.every(messages => messages.includes('hello from page 3'))
    }, 30_000, 1000)
  })

  it('after a relay restart (same key) a record provided before it is still found: the pages hold the DHT', async () => {
    const cid = await cidOf('provided before the relay restart')
    await swarm.pages[1]!.call('provide', cid, 30_000)
    const before = relay.peerId
    assert.equal(await relay.stop(), 0)
    // generous: ten pages with full WebRTC meshes keep this 2-core machine busy
    relay = await startRelayProcess({ keyFile: join(keyDir, 'relay.key'), wsPort, timeoutMs: 90_000 })
    assert.equal(relay.peerId, before, 'same key, same peer id')
    const metrics = await (await fetch(`${relay.http}/metrics`)).text()
    assert.match(metrics, /^swarmsite_relay_dht_provider_records 0$/m, 'the restarted relay holds no records')
    // right after the restart the pages' routing tables are still healing, so a lookup may end
    // early without the record: look again (bounded), as the Node mesh test does
    const found = await waitFor('the record provided before the restart', async () => {
      const { found } = await swarm.pages[PAGES - 2]!.call<{ found: boolean }>('findProvider', cid, swarm.pages[1]!.peerId, 15_000)
      return found
    }, 60_000, 1_000)
    assert.equal(found, true)
    // and the pages find their way back to the relay by themselves
    await waitFor('pages reserve again on the restarted relay', async () => {
      const reservations = await Promise.all(swarm.pages.map(async p => p.call<string[]>('reservations')))
      return reservations.every(r => r.includes(relay.peerId))
    }, 60_000, 500)
  })
})
