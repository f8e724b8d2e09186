// The init-channel guard on a stand-in channel (an EventTarget whose readyState the test
// sets), so every state order can be forced; test/integration/webrtc-init-channel.test.ts
// runs the same waits on real node-datachannel peer connections.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { pEvent } from 'p-event'
import { guardInitChannels, releaseLateWaits } from '../../src/node/init-channel-guard.ts'

class Channel extends EventTarget {
  readyState: RTCDataChannelState = 'connecting'
  readonly label: string
  constructor (label = 'init') { super(); this.label = label }
  to (state: RTCDataChannelState): void {
    this.readyState = state
    if (state === 'open' || state === 'closed') this.dispatchEvent(new Event(state === 'open' ? 'open' : 'close'))
  }

  /** As RTCDataChannel.close(): nothing once closing or closed, else closed a little later. */
  close (): void {
    if (this.readyState === 'closing' || this.readyState === 'closed') return
    this.readyState = 'closing'
    setImmediate(() => { this.to('closed') })
  }
}

/** @libp2p/webrtc 6.0.33's dialler after ICE connected, unchanged (initiate-connection.js). */
async function upstreamInitWait (channel: Channel, signal: AbortSignal): Promise<void> {
  if (channel.readyState !== 'open') await pEvent(channel, 'open', { signal })
  channel.close()
  await pEvent(channel, 'close', { signal })
}

const settled = async (p: Promise<unknown>): Promise<'resolved' | 'aborted'> => p.then(() => 'resolved' as const, (err: Error) => {
  if (err.name === 'AbortError') return 'aborted' as const
  throw err
})

describe('init channel guard', { timeout: 10_000 }, () => {
  it('without it, the dialler waits forever on a channel that already opened and closed', async () => {
    const channel = new Channel()
    channel.to('open')
    channel.to('closed')
    const controller = new AbortController()
    const waiting = settled(upstreamInitWait(channel, controller.signal))
    await new Promise(resolve => setImmediate(resolve))
    controller.abort()
    assert.equal(await waiting, 'aborted')
  })

  for (const late of ['open then closed', 'open then closing', 'closed without opening'] as const) {
    it(`with it, the dialler's wait ends when the channel is already ${late}`, async () => {
      const channel = new Channel()
      releaseLateWaits(channel)
      if (late !== 'closed without opening') channel.to('open')
      if (late === 'open then closing') channel.readyState = 'closing'
      else channel.to('closed')
      const controller = new AbortController()
      const waiting = settled(upstreamInitWait(channel, controller.signal))
      // 'closing': the real close event comes later
      if (late === 'open then closing') setImmediate(() => { channel.to('closed') })
      await new Promise(resolve => setTimeout(resolve, 50))
      controller.abort()
      assert.equal(await waiting, 'resolved')
    })
  }

  it('an open listener added while connecting hears the channel close without opening', async () => {
    const channel = new Channel()
    releaseLateWaits(channel)
    const opened = pEvent(channel, 'open')
    channel.to('closed')
    await opened
  })

  it('delivers each late event once per listener, and not at all to a listener removed in time', async () => {
    const channel = new Channel()
    releaseLateWaits(channel)
    channel.to('open')
    channel.to('closed')
    const calls: string[] = []
    const kept = (e: Event): void => { calls.push(`kept:${e.type}`) }
    const removed = (): void => { calls.push('removed') }
    channel.addEventListener('open', kept)
    channel.addEventListener('open', removed)
    channel.removeEventListener('open', removed)
    channel.addEventListener('close', kept)
    await new Promise(resolve => setImmediate(resolve))
    channel.dispatchEvent(new Event('close')) // a stray second close reaches the listener as any event would
    assert.deepEqual(calls, ['kept:open', 'kept:close', 'kept:close'])
  })

  it('a listener for an event still to come is called by that event only', async () => {
    const channel = new Channel()
    releaseLateWaits(channel)
    const calls: string[] = []
    channel.addEventListener('open', () => { calls.push('open') })
    channel.addEventListener('close', () => { calls.push('close') })
    channel.to('open')
    channel.to('closed')
    await new Promise(resolve => setImmediate(resolve))
    assert.deepEqual(calls, ['open', 'close'])
  })

  it('guards only channels labelled init, once per class, and ignores a missing class', () => {
    class PeerConnection {
      createDataChannel (label: string): Channel { return new Channel(label) }
    }
    guardInitChannels(PeerConnection as any)
    const guarded = PeerConnection.prototype.createDataChannel
    guardInitChannels(PeerConnection as any)
    assert.equal(PeerConnection.prototype.createDataChannel, guarded, 'a second call changes nothing')
    const pc = new PeerConnection()
    assert.ok(Object.hasOwn(pc.createDataChannel('init'), 'addEventListener'))
    assert.ok(!Object.hasOwn(pc.createDataChannel(''), 'addEventListener'), 'stream channels are untouched')
    guardInitChannels(undefined)
  })
})
