// The init-channel race of @libp2p/webrtc 6.0.33 on real WebRTC (node-datachannel, the
// stack @libp2p/webrtc uses in Node): the answering side closes the `init` channel as soon as
// it sees it, as libp2p's muxer does; the offering side only looks at its channel after it
// opened and closed, as a busy dialler does. Its wait, written as @libp2p/webrtc writes it,
// ends with the guard and never ends without it.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { cleanup } from 'node-datachannel'
import { RTCPeerConnection } from 'node-datachannel/polyfill'
import { pEvent } from 'p-event'
import { INIT_CHANNEL_LABEL, guardInitChannels } from '../../src/node/init-channel-guard.ts'
import { peerConnectionClass } from '../../src/node/webrtc-runtime.ts'

/** @libp2p/webrtc 6.0.33's dialler after ICE connected, unchanged (initiate-connection.js). */
async function upstreamInitWait (channel: RTCDataChannel, signal: AbortSignal): Promise<void> {
  if (channel.readyState !== 'open') await pEvent(channel, 'open', { signal })
  channel.close()
  await pEvent(channel, 'close', { signal })
}

/** Two peer connections in this process; the answerer closes every channel it is offered. */
async function connectedPair (label: string): Promise<{ channel: RTCDataChannel, close: () => void }> {
  const offerer = new RTCPeerConnection({ iceServers: [] })
  const answerer = new RTCPeerConnection({ iceServers: [] })
  offerer.onicecandidate = ({ candidate }) => { if (candidate?.candidate) void answerer.addIceCandidate(candidate) }
  answerer.onicecandidate = ({ candidate }) => { if (candidate?.candidate) void offerer.addIceCandidate(candidate) }
  answerer.ondatachannel = ({ channel }) => { channel.close() }
  const channel = offerer.createDataChannel(label)
  const closed = pEvent(channel, 'close', { signal: AbortSignal.timeout(20_000) })
  await offerer.setLocalDescription(await offerer.createOffer())
  await answerer.setRemoteDescription(offerer.localDescription!)
  await answerer.setLocalDescription(await answerer.createAnswer())
  await offerer.setRemoteDescription(answerer.localDescription!)
  // the dialler's code runs only now: its channel has come and gone
  await closed
  assert.equal(channel.readyState, 'closed')
  return { channel, close: () => { offerer.close(); answerer.close() } }
}

describe('the init-channel race on real WebRTC (node-datachannel)', { timeout: 60_000 }, () => {
  const pairs: Array<{ close: () => void }> = []
  after(() => {
    for (const pair of pairs) pair.close()
    cleanup()
  })

  it('is the class @libp2p/webrtc dials with in Node', () => {
    assert.equal(peerConnectionClass, RTCPeerConnection)
  })

  it('without the guard (a channel of another label), the dialler\'s wait never ends', async () => {
    const pair = await connectedPair('unguarded')
    pairs.push(pair)
    const controller = new AbortController()
    const waiting = upstreamInitWait(pair.channel, controller.signal).then(() => 'ended', () => 'still waiting')
    setTimeout(() => { controller.abort() }, 1_000)
    assert.equal(await waiting, 'still waiting')
  })

  it('with the guard, the same wait on an init channel ends', async () => {
    guardInitChannels(peerConnectionClass)
    const pair = await connectedPair(INIT_CHANNEL_LABEL)
    pairs.push(pair)
    await upstreamInitWait(pair.channel, AbortSignal.timeout(10_000))
  })
})
