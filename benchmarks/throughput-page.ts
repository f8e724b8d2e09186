// Runs in each page of the throughput benchmark (benchmarks/throughput.ts), driven as
// `window.throughputBench`: a swarm that fetches one file, and a raw RTCPeerConnection with
// one data channel whose signalling goes through the driver. Times are epoch milliseconds
// (performance.timeOrigin + performance.now()), so the two pages' clocks compare.
import { createSwarm } from '../src/index.ts'
import type { Swarm, SwarmInit, SwarmStats } from '../src/index.ts'

const now = (): number => performance.timeOrigin + performance.now()

function hex (bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map(b => b.toString(16).padStart(2, '0')).join('')
}

export interface PageTransfer {
  bytes: number
  /** the call (fetch, or the first send) */
  startedAt: number
  /** the first chunk or message in the receiving page, and its size */
  firstAt: number
  firstBytes: number
  /** the last byte in the receiving page */
  lastAt: number
}

export interface LibraryTransfer extends PageTransfer {
  status: number
  stats: SwarmStats
}

let swarm: Swarm | undefined
let lastBody: Uint8Array[] = []
let pc: RTCPeerConnection | undefined
let channel: RTCDataChannel | undefined

function current (): Swarm {
  if (swarm == null) throw new Error('call start() first')
  return swarm
}

/** The local description once ICE gathering is complete (or after 3 s with what there is). */
async function gathered (conn: RTCPeerConnection): Promise<RTCSessionDescriptionInit> {
  if (conn.iceGatheringState !== 'complete') {
    await new Promise<void>(resolve => {
      const timer = setTimeout(resolve, 3000)
      conn.addEventListener('icegatheringstatechange', () => {
        if (conn.iceGatheringState === 'complete') { clearTimeout(timer); resolve() }
      })
    })
  }
  const { type, sdp } = conn.localDescription!
  return { type, sdp }
}

async function opened (dc: RTCDataChannel, timeoutMs = 20_000): Promise<void> {
  if (dc.readyState === 'open') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`data channel not open after ${timeoutMs} ms (${dc.readyState})`)) }, timeoutMs)
    dc.addEventListener('open', () => { clearTimeout(timer); resolve() }, { once: true })
  })
}

/** The transfer being counted on the receiving side (armed by rawArm). */
let transfer: { t: PageTransfer, size: number, resolve: (t: PageTransfer) => void } | undefined
let transferDone: Promise<PageTransfer> | undefined

function onMessage (evt: MessageEvent<ArrayBuffer>): void {
  const x = transfer
  if (x == null) return
  if (x.t.bytes === 0) { x.t.firstAt = now(); x.t.firstBytes = evt.data.byteLength }
  x.t.bytes += evt.data.byteLength
  if (x.t.bytes >= x.size) {
    x.t.lastAt = now()
    transfer = undefined
    x.resolve(x.t)
  }
}

function closeRaw (): void {
  channel?.close()
  pc?.close()
  channel = undefined
  pc = undefined
  transfer = undefined
  transferDone = undefined
}

const api = {
  async start (init: SwarmInit): Promise<{ peerId: string }> {
    swarm = await createSwarm(init)
    await swarm.start()
    return { peerId: swarm.peerId.toString() }
  },
  async waitReachable (timeoutMs: number): Promise<void> {
    await current().node.waitUntilReachable({ signal: AbortSignal.timeout(timeoutMs) })
  },
  /** swarm.fetch(path), read to the end and kept for lastSha256(). */
  async fetch (path: string, timeoutMs: number): Promise<LibraryTransfer> {
    const startedAt = now()
    const response = await current().fetch(path, { signal: AbortSignal.timeout(timeoutMs) })
    const reader = response.body!.getReader()
    const chunks: Uint8Array[] = []
    const t = { bytes: 0, startedAt, firstAt: 0, firstBytes: 0, lastAt: 0 }
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      if (t.bytes === 0) { t.firstAt = now(); t.firstBytes = value.byteLength }
      t.bytes += value.byteLength
      chunks.push(value)
    }
    t.lastAt = now()
    lastBody = chunks
    return { ...t, status: response.status, stats: current().stats() }
  },
  /** SHA-256 of the last fetched body (a separate call, so the hashing is outside the fetch's CPU figures). */
  async lastSha256 (): Promise<string> {
    const all = new Uint8Array(lastBody.reduce((sum, c) => sum + c.byteLength, 0))
    let at = 0
    for (const chunk of lastBody) { all.set(chunk, at); at += chunk.byteLength }
    lastBody = []
    return hex(await crypto.subtle.digest('SHA-256', all))
  },
  stats (): SwarmStats { return current().stats() },
  async stop (): Promise<void> {
    closeRaw()
    await swarm?.stop()
    swarm = undefined
  },

  /** Sender: a new connection with one ordered data channel; returns the offer. */
  async rawOffer (): Promise<RTCSessionDescriptionInit> {
    closeRaw()
    pc = new RTCPeerConnection({ iceServers: [] })
    channel = pc.createDataChannel('throughput', { ordered: true })
    await pc.setLocalDescription(await pc.createOffer())
    return gathered(pc)
  },
  /** Receiver: answers the offer; the channel's messages are counted once armed (rawArm). */
  async rawAnswer (offer: RTCSessionDescriptionInit): Promise<RTCSessionDescriptionInit> {
    closeRaw()
    const conn = pc = new RTCPeerConnection({ iceServers: [] })
    conn.addEventListener('datachannel', evt => {
      channel = evt.channel
      channel.binaryType = 'arraybuffer'
      channel.onmessage = onMessage
    }, { once: true })
    await conn.setRemoteDescription(offer)
    await conn.setLocalDescription(await conn.createAnswer())
    return gathered(conn)
  },
  /** Sender: applies the answer and waits for the channel to open. */
  async rawConnect (answer: RTCSessionDescriptionInit): Promise<void> {
    await pc!.setRemoteDescription(answer)
    await opened(channel!)
  },
  /** Receiver: waits for the channel to open, then counts the next `size` bytes (call before rawSend). */
  async rawArm (size: number, timeoutMs: number): Promise<void> {
    const started = performance.now()
    while (channel == null) {
      if (performance.now() - started > timeoutMs) throw new Error('no data channel arrived')
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    await opened(channel, timeoutMs)
    transferDone = new Promise(resolve => {
      transfer = { t: { bytes: 0, startedAt: 0, firstAt: 0, firstBytes: 0, lastAt: 0 }, size, resolve }
    })
  },
  /** Receiver: resolves once the armed transfer is complete. */
  async rawWait (timeoutMs: number): Promise<PageTransfer> {
    if (transferDone == null) throw new Error('call rawArm() first')
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      return await Promise.race([transferDone, new Promise<never>((resolve, reject) => {
        timer = setTimeout(() => { reject(new Error(`${transfer?.t.bytes ?? 0} of ${transfer?.size} bytes arrived in ${timeoutMs} ms`)) }, timeoutMs)
      })])
    } finally {
      clearTimeout(timer)
    }
  },
  /**
   * Sender: `size` bytes in `messageBytes` messages; sends while the channel's bufferedAmount
   * is below `highBytes`, then waits for it to fall to `lowBytes` (bufferedamountlow).
   */
  async rawSend (size: number, messageBytes: number, highBytes: number, lowBytes: number): Promise<{ startedAt: number, queuedAt: number, pauses: number }> {
    const dc = channel!
    await opened(dc)
    dc.bufferedAmountLowThreshold = lowBytes
    const message = new Uint8Array(messageBytes)
    crypto.getRandomValues(message.subarray(0, Math.min(messageBytes, 65_536)))
    let pauses = 0
    const startedAt = now()
    for (let sent = 0; sent < size;) {
      if (dc.bufferedAmount >= highBytes) {
        pauses++
        await new Promise<void>(resolve => {
          dc.addEventListener('bufferedamountlow', () => { resolve() }, { once: true })
          if (dc.bufferedAmount <= lowBytes) resolve()
        })
        if (dc.readyState !== 'open') throw new Error(`data channel ${dc.readyState} after ${sent} bytes`)
      }
      const n = Math.min(messageBytes, size - sent)
      dc.send(n === messageBytes ? message : message.subarray(0, n))
      sent += n
    }
    return { startedAt, queuedAt: now(), pauses }
  },
  /** The selected ICE path of the raw connection and what its transport has sent so far (UDP payload bytes, packets). */
  async rawPath (): Promise<{ protocol: string, localType: string, bytesSent: number, packetsSent: number, bytesReceived: number }> {
    const stats = await pc!.getStats()
    let pairId: string | undefined
    let transport: any
    stats.forEach((r: any) => { if (r.type === 'transport') { transport = r; pairId = r.selectedCandidatePairId } })
    const pair: any = pairId != null ? stats.get(pairId) : undefined
    const local: any = pair != null ? stats.get(pair.localCandidateId) : undefined
    return {
      protocol: local?.protocol ?? 'unknown',
      localType: local?.candidateType ?? 'unknown',
      bytesSent: transport?.bytesSent ?? 0,
      packetsSent: transport?.packetsSent ?? 0,
      bytesReceived: transport?.bytesReceived ?? 0
    }
  },
  rawClose (): void { closeRaw() }
}

export type ThroughputPageApi = typeof api

;(window as unknown as { throughputBench: ThroughputPageApi }).throughputBench = api
