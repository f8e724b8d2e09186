// What the emulated WAN does, measured: ping and data channel (node-datachannel) round trips
// against the configured ones, and UDP throughput through the router with its CPU cost.
//   node benchmarks/wan/measure.ts [--rate 10MiB/s] [--seconds 4] [--packet 1100]
// Runs itself inside a loopback-only namespace (scripts/in-netns.sh); needs root.
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { parseRate } from '../crowd/units.ts'
import { reexecInNetns } from '../lib/netns.ts'
import { startWan } from './wan.ts'
import type { WanHost } from './wan.ts'

const HERE = new URL('.', import.meta.url).pathname
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function dataChannelRtt (from: WanHost, to: WanHost, rounds: number): Promise<number[]> {
  const offer = from.spawn(process.execPath, [`${HERE}dc-peer.ts`, 'offer', String(rounds)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const answer = to.spawn(process.execPath, [`${HERE}dc-peer.ts`, 'answer'], { stdio: ['pipe', 'pipe', 'inherit'] })
  let rtt: number[] = []
  createInterface({ input: offer.stdout! }).on('line', line => {
    const m = JSON.parse(line) as { type: string, rttMs?: number[] }
    if (m.type === 'rtt') rtt = m.rttMs!
    else if (answer.stdin!.writable) answer.stdin!.write(line + '\n')
  })
  createInterface({ input: answer.stdout! }).on('line', line => { if (offer.stdin!.writable) offer.stdin!.write(line + '\n') })
  await Promise.all([once(offer, 'exit'), once(answer, 'exit')])
  return rtt
}

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { rate: { type: 'string' }, seconds: { type: 'string' }, packet: { type: 'string' } } })
  const rate = parseRate(values.rate ?? '10MiB/s', 'rate')
  const seconds = Number(values.seconds ?? 4)
  const packet = Number(values.packet ?? 1100)
  const oneWay = [[5, 40, 120], [40, 5, 120], [120, 120, 5]]
  const wan = await startWan({ regions: [{ name: 'eu', hosts: 2 }, { name: 'us', hosts: 1 }, { name: 'ap', hosts: 1 }], links: oneWay })
  try {
    const eu1 = wan.host('eu', 1)
    for (const [to, configured] of [[wan.host('eu', 2), 10], [wan.host('us', 1), 80], [wan.host('ap', 1), 240]] as const) {
      const ping = await wan.ping(eu1, to, { count: 20, intervalMs: 20 })
      const dc = await dataChannelRtt(eu1, to, 20)
      process.stdout.write(`${eu1.name} → ${to.name}: configured RTT ${configured} ms; ping median ${median(ping.rttMs).toFixed(2)} (min ${Math.min(...ping.rttMs).toFixed(2)}, ${ping.received}/${ping.sent}); data channel median ${median(dc).toFixed(2)} (min ${Math.min(...dc).toFixed(2)}, n ${dc.length})\n`)
    }
    const to = wan.host('us', 1)
    const recv = to.spawn(process.execPath, [`${HERE}udp-blast.ts`, 'recv', '9000', '1000'], { stdio: ['ignore', 'pipe', 'inherit'] })
    const lines = createInterface({ input: recv.stdout! })[Symbol.asyncIterator]()
    await lines.next()
    const cpuBefore = (await wan.stats()).cpuSeconds
    const send = eu1.spawn(process.execPath, [`${HERE}udp-blast.ts`, 'send', to.address, '9000', String(rate), String(packet), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] })
    await once(send, 'exit')
    const got = JSON.parse((await lines.next()).value as string) as { packets: number, bytes: number, bytesPerSecond: number }
    const stats = await wan.stats()
    const link = stats.links.find(l => l.from === 1 && l.to === 2)!
    const cpu = stats.cpuSeconds - cpuBefore
    process.stdout.write(`UDP ${packet} B at ${(rate / 1048576).toFixed(1)} MiB/s offered for ${seconds} s: received ${(got.bytesPerSecond / 1048576).toFixed(2)} MiB/s, ${got.packets} of ${link.packets} packets the router forwarded (router delivered ${link.delivered}, no-buffer drops ${stats.noMemory}); router CPU ${cpu.toFixed(2)} s = ${(cpu / (got.bytes / 1048576)).toFixed(4)} CPU-s/MiB\n`)
  } finally {
    await wan.stop()
  }
}

const reexec = reexecInNetns(new URL(import.meta.url).pathname)
if (reexec != null) process.exit(await reexec)
else await main()
