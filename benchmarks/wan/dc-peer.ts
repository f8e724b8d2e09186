/**
 * One end of a WebRTC data channel (node-datachannel, libdatachannel) for measuring the
 * emulated WAN: `dc-peer.ts offer <rounds>` or `dc-peer.ts answer`. Signalling is JSON lines:
 * this process writes its description and candidates to stdout and reads the other end's from
 * stdin (the parent relays them, so no network is needed for it). Once the channel opens, the
 * offerer sends <rounds> small messages one at a time, each after the previous echo came
 * back, and prints {"type":"rtt","rttMs":[...],"local":…,"remote":…} with the selected
 * candidate pair's addresses, then both ends exit.
 */
import { createInterface } from 'node:readline'
import nodeDataChannel from 'node-datachannel'
import type { DataChannel } from 'node-datachannel'

const [role, roundsArg] = process.argv.slice(2)
if (role !== 'offer' && role !== 'answer') {
  process.stderr.write('usage: dc-peer.ts offer <rounds> | answer\n')
  process.exit(2)
}
const rounds = Number(roundsArg ?? 20)
const send = (message: object): void => { process.stdout.write(JSON.stringify(message) + '\n') }
const pc = new nodeDataChannel.PeerConnection(role, { iceServers: [] })
pc.onLocalDescription((sdp, type) => { send({ type: 'description', sdp, kind: type }) })
pc.onLocalCandidate((candidate, mid) => { send({ type: 'candidate', candidate, mid }) })

const finish = (code: number): void => {
  pc.close()
  nodeDataChannel.cleanup()
  process.exit(code)
}
// bounded: a channel that never opens must not hang its parent
setTimeout(() => {
  process.stderr.write(`dc-peer ${role}: timed out (state ${pc.state()}, ice ${pc.iceState()})\n`)
  finish(1)
}, 30_000).unref()

createInterface({ input: process.stdin }).on('line', line => {
  const m = JSON.parse(line) as { type: string, sdp?: string, kind?: string, candidate?: string, mid?: string }
  if (m.type === 'description') pc.setRemoteDescription(m.sdp!, m.kind as 'offer' | 'answer')
  else if (m.type === 'candidate') pc.addRemoteCandidate(m.candidate!, m.mid!)
  else if (m.type === 'bye') finish(0)
})

if (role === 'offer') {
  const dc: DataChannel = pc.createDataChannel('rtt')
  dc.onOpen(() => {
    const rttMs: number[] = []
    let sentAt = 0
    const next = (): void => {
      sentAt = performance.now()
      dc.sendMessage(`ping ${rttMs.length}`)
    }
    dc.onMessage(() => {
      rttMs.push(performance.now() - sentAt)
      if (rttMs.length < rounds) { next(); return }
      const pair = pc.getSelectedCandidatePair()
      send({ type: 'rtt', rttMs, local: pair?.local.address, remote: pair?.remote.address })
      send({ type: 'bye' })
      // let the bye reach the parent before closing
      setTimeout(() => { finish(0) }, 100)
    })
    next()
  })
} else {
  pc.onDataChannel(dc => {
    dc.onMessage(msg => { dc.sendMessage(typeof msg === 'string' ? msg : 'pong') })
  })
}
