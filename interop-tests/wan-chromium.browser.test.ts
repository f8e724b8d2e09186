/**
 * Chromium's WebRTC crosses the emulated WAN (benchmarks/wan): two Chromiums, each inside a
 * host of a different region, open a data channel (signalled through the driver, no network)
 * and its round trip is the configured one within 10 %, never less; the selected candidate
 * pair is the two hosts' WAN addresses. Pages are served by playwright's router from
 * http://localhost (a secure context that may be granted media permission, without which
 * Chromium gathers no candidates), so no page server is needed.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { launchChromiumIn } from '../benchmarks/wan/chromium.ts'
import { startWan } from '../benchmarks/wan/wan.ts'
import type { LaunchedChromium } from './harness/chromium.ts'
import type { Wan } from '../benchmarks/wan/wan.ts'
import type { Page } from 'playwright-core'

const ORIGIN = 'http://localhost:9'
const ONE_WAY_MS = 40

async function openPage (chromium: LaunchedChromium): Promise<Page> {
  const context = await chromium.newContext(ORIGIN)
  await context.route(`${ORIGIN}/**`, async route => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>wan</title>' }))
  const page = await context.newPage()
  await page.goto(`${ORIGIN}/`)
  return page
}

/** Creates the page's peer connection (offerer or echoing answerer) and returns its complete local description. */
async function describeLocal (page: Page, role: 'offer' | 'answer', remote?: RTCSessionDescriptionInit): Promise<RTCSessionDescriptionInit> {
  return page.evaluate(async ({ role, remote }) => {
    const w = window as unknown as { pc: RTCPeerConnection, dc?: RTCDataChannel }
    w.pc = new RTCPeerConnection({ iceServers: [] })
    if (role === 'offer') {
      w.dc = w.pc.createDataChannel('rtt')
    } else {
      w.pc.ondatachannel = e => {
        const dc = e.channel
        dc.onmessage = m => { dc.send(m.data as string) }
      }
    }
    if (remote != null) await w.pc.setRemoteDescription(remote)
    await w.pc.setLocalDescription(role === 'offer' ? await w.pc.createOffer() : await w.pc.createAnswer())
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('ICE gathering did not complete')) }, 10_000)
      const check = (): void => { if (w.pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve() } }
      w.pc.onicegatheringstatechange = check
      check()
    })
    return w.pc.localDescription!.toJSON() as RTCSessionDescriptionInit
  }, { role, remote })
}

describe('emulated WAN: Chromium WebRTC', { timeout: 120_000 }, () => {
  let wan: Wan
  const browsers: LaunchedChromium[] = []

  before(async () => {
    wan = await startWan({ regions: [{ name: 'a', hosts: 1 }, { name: 'b', hosts: 1 }], links: [[5, ONE_WAY_MS], [ONE_WAY_MS, 5]] })
  })
  after(async () => {
    await Promise.all(browsers.map(async b => b.close()))
    await wan?.stop()
  })

  it('a data channel between Chromiums in two regions sees the configured round trip', async () => {
    const a = wan.host('a', 1)
    const b = wan.host('b', 1)
    for (const host of [a, b]) browsers.push(await launchChromiumIn(host, { handleSignals: false }))
    const [pageA, pageB] = await Promise.all(browsers.map(openPage))
    const offer = await describeLocal(pageA!, 'offer')
    const answer = await describeLocal(pageB!, 'answer', offer)
    const result = await pageA!.evaluate(async answer => {
      const w = window as unknown as { pc: RTCPeerConnection, dc: RTCDataChannel }
      await w.pc.setRemoteDescription(answer)
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error('the data channel did not open')) }, 20_000)
        if (w.dc.readyState === 'open') { clearTimeout(timer); resolve() } else w.dc.onopen = () => { clearTimeout(timer); resolve() }
      })
      const rttMs: number[] = []
      for (let i = 0; i < 10; i++) {
        const sent = performance.now()
        await new Promise<void>(resolve => { w.dc.onmessage = () => { resolve() }; w.dc.send(`ping ${i}`) })
        rttMs.push(performance.now() - sent)
      }
      const stats = await w.pc.getStats()
      let pair: { localCandidateId: string, remoteCandidateId: string } | undefined
      stats.forEach(s => { if (s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded') pair = s })
      return { rttMs, local: stats.get(pair!.localCandidateId).address as string, remote: stats.get(pair!.remoteCandidateId).address as string }
    }, answer)
    assert.equal(result.local, a.address)
    assert.equal(result.remote, b.address)
    const sorted = [...result.rttMs].sort((x, y) => x - y)
    const configured = 2 * ONE_WAY_MS
    assert.ok(sorted[0]! >= configured, `a round trip of ${sorted[0]!.toFixed(2)} ms is shorter than the configured ${configured} ms`)
    const median = sorted[Math.floor(sorted.length / 2)]!
    assert.ok(median <= configured * 1.1, `median ${median.toFixed(2)} ms is more than 10 % over the configured ${configured} ms`)
  })
})
