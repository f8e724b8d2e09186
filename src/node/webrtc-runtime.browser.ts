/** Browsers manage their own WebRTC stack: nothing to acquire or release. */
export const webRTCRuntime = {
  acquire (): void {},
  release (): void {}
}

/** The RTCPeerConnection that @libp2p/webrtc uses in browsers: the global one (absent in workers). */
export const peerConnectionClass: { prototype: Pick<RTCPeerConnection, 'createDataChannel'> } | undefined = globalThis.RTCPeerConnection
