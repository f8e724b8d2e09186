/**
 * The emulated wide-area network (benchmarks/wan) delays what it is configured to: real
 * packets between real network namespaces, through the router process over TUN devices.
 * ICMP echo (the kernel of the far namespace answers) and a WebRTC data channel between two
 * node-datachannel processes in different regions must see the configured round trip within
 * 10 %, and never less; random loss and a link's rate must be what was asked.
 *
 * Configured vs measured is the behaviour under test here, so these assertions are on time;
 * the lower bounds are strict (the router must never release a packet early), the upper
 * ones leave 10 % for scheduling on a loaded 2-core machine.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { startWan } from '../../benchmarks/wan/wan.ts'
import type { Wan, WanHost } from '../../benchmarks/wan/wan.ts'

const PEER = new URL('../../benchmarks/wan/dc-peer.ts', import.meta.url).pathname
const BLAST = new URL('../../benchmarks/wan/udp-blast.ts', import.meta.url).pathname

function median (xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

function assertRtt (rttMs: number[], configuredMs: number, what: string): void {
  assert.ok(rttMs.length > 0, `${what}: no round trips`)
  const lowest = Math.min(...rttMs)
  const mid = median(rttMs)
  assert.ok(lowest >= configuredMs, `${what}: a round trip of ${lowest.toFixed(2)} ms is shorter than the configured ${configuredMs} ms`)
  assert.ok(mid <= configuredMs * 1.1, `${what}: median ${mid.toFixed(2)} ms is more than 10 % over the configured ${configuredMs} ms`)
}

/** A data channel from `from` to `to`; resolves with the offerer's round trips and selected pair. */
async function dataChannelRtt (from: WanHost, to: WanHost, rounds: number): Promise<{ rttMs: number[], local: string, remote: string }> {
  const offer = from.spawn(process.execPath, [PEER, 'offer', String(rounds)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const answer = to.spawn(process.execPath, [PEER, 'answer'], { stdio: ['pipe', 'pipe', 'inherit'] })
  let result: { rttMs: number[], local: string, remote: string } | undefined
  const relay = (line: string, into: typeof offer): void => { if (into.stdin!.writable) into.stdin!.write(line + '\n') }
  createInterface({ input: offer.stdout! }).on('line', line => {
    const m = JSON.parse(line) as { type: string }
    if (m.type === 'rtt') result = m as unknown as typeof result
    else relay(line, answer)
  })
  createInterface({ input: answer.stdout! }).on('line', line => { relay(line, offer) })
  const [[offerCode], [answerCode]] = await Promise.all([once(offer, 'exit'), once(answer, 'exit')])
  assert.equal(offerCode, 0, 'offerer exited with an error')
  assert.equal(answerCode, 0, 'answerer exited with an error')
  assert.ok(result != null, 'the offerer reported no round trips')
  return result
}

describe('emulated WAN: delay', { timeout: 120_000 }, () => {
  let wan: Wan
  // one-way ms; b → a is shorter than a → b, so each direction is its own link
  const links = [
    [5, 40, 120],
    [20, 5, 60],
    [120, 60, 5]
  ]

  before(async () => {
    wan = await startWan({ regions: [{ name: 'a', hosts: 2 }, { name: 'b', hosts: 1 }, { name: 'c', hosts: 1 }], links })
  })
  after(async () => { await wan?.stop() })

  it('ping between regions: the round trip is the two one-way delays', async () => {
    const a1 = wan.host('a', 1)
    const toB = await wan.ping(a1, wan.host('b', 1), { count: 10, intervalMs: 20 })
    assert.equal(toB.received, 10)
    assertRtt(toB.rttMs, 40 + 20, 'a → b')
    const toC = await wan.ping(a1, wan.host('c', 1), { count: 5, intervalMs: 20 })
    assert.equal(toC.received, 5)
    assertRtt(toC.rttMs, 120 + 120, 'a → c')
  })

  it('ping inside a region crosses the router too', async () => {
    const before = await wan.stats()
    const inside = await wan.ping(wan.host('a', 1), wan.host('a', 2), { count: 10, intervalMs: 20 })
    assert.equal(inside.received, 10)
    assertRtt(inside.rttMs, 5 + 5, 'a1 → a2')
    const after = await wan.stats()
    const sent = (s: typeof after): number => s.pairs.find(([src, dst]) => src === '10.7.1.1' && dst === '10.7.1.2')?.[2] ?? 0
    // 10 echo requests of 84 IP bytes each
    assert.equal(sent(after) - sent(before), 10 * 84)
  })

  it('a WebRTC data channel between regions sees the configured round trip', async () => {
    const a1 = wan.host('a', 1)
    const c1 = wan.host('c', 1)
    const { rttMs, local, remote } = await dataChannelRtt(a1, c1, 10)
    // the selected candidate pair is the hosts' WAN addresses: the channel crossed the router
    assert.equal(local, a1.address)
    assert.equal(remote, c1.address)
    assert.equal(rttMs.length, 10)
    assertRtt(rttMs, 120 + 120, 'data channel a → c')
  })
})

describe('emulated WAN: loss and rate', { timeout: 120_000 }, () => {
  let wan: Wan
  const RATE = 1024 * 1024
  before(async () => {
    wan = await startWan({
      regions: [{ name: 'x', hosts: 1 }, { name: 'y', hosts: 1 }],
      links: [
        [1, { oneWayMs: 10, loss: 0.25 }],
        [{ oneWayMs: 10, rateBytesPerSecond: RATE, queueMs: 50 }, 1]
      ],
      seed: 7
    })
  })
  after(async () => { await wan?.stop() })

  /** Sends `seconds` of UDP at `rate` from one host to another; what the receiver counted. */
  async function blast (from: WanHost, to: WanHost, rate: number, size: number, seconds: number): Promise<{ packets: number, bytesPerSecond: number }> {
    const recv = to.spawn(process.execPath, [BLAST, 'recv', '9000', '500'], { stdio: ['ignore', 'pipe', 'inherit'] })
    const lines = createInterface({ input: recv.stdout! })[Symbol.asyncIterator]()
    assert.equal((await lines.next()).value, 'listening')
    const send = from.spawn(process.execPath, [BLAST, 'send', to.address, '9000', String(rate), String(size), String(seconds)], { stdio: 'ignore' })
    await once(send, 'exit')
    const got = JSON.parse((await lines.next()).value as string) as { packets: number, bytesPerSecond: number }
    await once(recv, 'exit').catch(() => {})
    return got
  }

  it('drops the configured share at random, and delivers the rest', async () => {
    const got = await blast(wan.host('x', 1), wan.host('y', 1), 1024 * 1024, 1000, 1)
    const link = (await wan.stats()).links.find(l => l.from === 1 && l.to === 2)!
    assert.ok(link.packets > 900, `only ${link.packets} packets reached the router`)
    const share = link.lost / link.packets
    assert.ok(share > 0.21 && share < 0.29, `lost ${link.lost} of ${link.packets} (${share.toFixed(3)}), configured 0.25`)
    assert.equal(got.packets, link.delivered)
  })

  it('serialises at the configured rate and drops what overflows its queue', async () => {
    const size = 1000
    const got = await blast(wan.host('y', 1), wan.host('x', 1), 4 * RATE, size, 1.5)
    const link = (await wan.stats()).links.find(l => l.from === 2 && l.to === 1)!
    assert.ok(link.queueDrops > 0, 'a link offered 4× its rate dropped nothing')
    // the router's rate counts IP bytes: 28 of header per datagram
    const expected = RATE * size / (size + 28)
    assert.ok(Math.abs(got.bytesPerSecond - expected) < expected * 0.1, `received ${(got.bytesPerSecond / 1024).toFixed(0)} KiB/s, configured ${(expected / 1024).toFixed(0)} KiB/s of payload`)
  })
})
