import { cleanup } from 'node-datachannel'
import { RTCPeerConnection } from 'node-datachannel/polyfill'

let running = 0

/**
 * node-datachannel (WebRTC in Node) keeps native threads alive after incoming data
 * channels close (node-datachannel#349), so a process would never exit. When the last
 * swarm node of the process stops, we release the library; it reloads on next use.
 */
export const webRTCRuntime = {
  acquire (): void { running++ },
  release (): void {
    running = Math.max(0, running - 1)
    if (running === 0) cleanup()
  }
}

/** The RTCPeerConnection that @libp2p/webrtc uses in Node (its node-datachannel polyfill). */
export const peerConnectionClass: { prototype: Pick<globalThis.RTCPeerConnection, 'createDataChannel'> } | undefined = RTCPeerConnection
