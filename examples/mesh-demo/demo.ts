// The mesh demo page: starts a swarm node, shows its state, and meets other tabs of the
// page through a gossip "presence" topic, dialling each one directly over WebRTC.
import { createSwarmNode } from '../../src/index.ts'

const PRESENCE_TOPIC = 'swarmsite/mesh-demo/presence'
const $ = (id: string): HTMLElement => document.getElementById(id)!

function log (text: string, kind = ''): void {
  const line = document.createElement('div')
  line.className = kind
  line.textContent = `${new Date().toLocaleTimeString()}  ${text}`
  $('log').prepend(line)
}

const config = await (await fetch('/config.json')).json() as { bootstrap: string[] }
const node = await createSwarmNode({ bootstrap: config.bootstrap, iceServers: [] })
$('peer-id').textContent = node.peerId.toString()

node.addEventListener('relay:connected', evt => {
  $('relay').textContent = `connected to ${evt.detail.relay.toString()}`
  $('relay').className = 'ok'
})
node.addEventListener('relay:unreachable', evt => {
  $('relay').textContent = `unreachable (attempt ${evt.detail.attempt}, retrying in ${(evt.detail.retryInMs / 1000).toFixed(1)} s): ${evt.detail.error.message}`
  $('relay').className = 'err'
})
node.addEventListener('relay:reserved', evt => {
  $('reservation').textContent = `reserved on ${evt.detail.relay.toString()}`
  $('reservation').className = 'ok'
  log('relay reservation taken: other tabs can reach this one', 'ok')
})
node.addEventListener('relay:reservation-lost', () => {
  $('reservation').textContent = 'lost, waiting for the relay'
  $('reservation').className = 'warn'
})
node.addEventListener('dht:mode', evt => { log(`DHT mode is now ${evt.detail.mode}`) })
node.addEventListener('peer:connect', evt => { log(`${evt.detail.direct ? 'direct' : 'relayed'} connection to ${evt.detail.peerId.toString().slice(-8)}`) })
node.addEventListener('peer:disconnect', evt => { log(`disconnected from ${evt.detail.peerId.toString().slice(-8)}`) })

function render (): void {
  const rows = node.connections().filter(c => !config.bootstrap.some(b => b.endsWith(c.peerId.toString())))
  $('peer-count').textContent = `(${new Set(rows.map(r => r.peerId.toString())).size})`
  $('peers').replaceChildren(...rows.map(c => {
    const tr = document.createElement('tr')
    for (const text of [c.peerId.toString(), c.transport, c.direct ? 'direct' : 'relayed']) {
      const td = document.createElement('td')
      td.textContent = text
      tr.append(td)
    }
    return tr
  }))
  $('dht-mode').textContent = node.dhtModeNow
}

await node.start()
log('node started')
const pubsub = node.libp2p.services.pubsub
pubsub.subscribe(PRESENCE_TOPIC)
pubsub.addEventListener('message', evt => {
  if (evt.detail.topic !== PRESENCE_TOPIC) return
  const peer = new TextDecoder().decode(evt.detail.data)
  if (peer === node.peerId.toString() || node.connections().some(c => c.direct && c.transport === 'webrtc' && c.peerId.toString() === peer)) return
  // the larger peer id dials, so two tabs don't dial each other at once
  if (node.peerId.toString() < peer) return
  node.dial(peer, { signal: AbortSignal.timeout(30_000) }).then(
    info => { log(`dialled ${peer.slice(-8)} over ${info.transport}`, 'ok') },
    err => { log(`dial ${peer.slice(-8)} failed: ${err.message}`, 'err') }
  )
})
setInterval(() => {
  if (node.reservations().length > 0) {
    pubsub.publish(PRESENCE_TOPIC, new TextEncoder().encode(node.peerId.toString())).catch(() => {})
  }
  render()
}, 2000)
window.addEventListener('pagehide', () => { void node.stop() })
