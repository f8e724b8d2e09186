/** Browsers manage their own WebRTC stack: nothing to acquire or release. */
export const webRTCRuntime = {
  acquire (): void {},
  release (): void {}
}
