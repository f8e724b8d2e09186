/**
 * UDP through the emulated WAN: `send <address> <port> <bytes/s> <packet bytes> <seconds>`
 * paces datagrams at a rate (in 1 ms ticks) and prints what it sent; `recv <port> <idle ms>`
 * counts datagrams until none came for <idle ms> and prints what arrived, with the rate over
 * the time between the first and the last. One JSON line each. Runs inside a WAN host.
 */
import { createSocket } from 'node:dgram'
import { setTimeout as delay } from 'node:timers/promises'

const [mode, ...args] = process.argv.slice(2)
if (mode === 'recv') {
  const port = Number(args[0])
  const idleMs = Number(args[1] ?? 1000)
  const socket = createSocket('udp4')
  let packets = 0
  let bytes = 0
  let first = 0
  let last = 0
  let idle: NodeJS.Timeout | undefined
  const finish = (): void => {
    socket.close()
    const seconds = (last - first) / 1000
    process.stdout.write(JSON.stringify({ packets, bytes, seconds, bytesPerSecond: seconds > 0 ? bytes / seconds : 0 }) + '\n')
  }
  socket.on('message', msg => {
    const now = performance.now()
    if (packets === 0) first = now
    last = now
    packets++
    bytes += msg.length
    clearTimeout(idle)
    idle = setTimeout(finish, idleMs)
  })
  socket.bind(port, () => { process.stdout.write('listening\n') })
  // nothing at all within a minute: give up rather than hang
  idle = setTimeout(finish, 60_000)
} else if (mode === 'send') {
  const [address, port, rate, size, seconds] = [args[0]!, Number(args[1]), Number(args[2]), Number(args[3]), Number(args[4])]
  const socket = createSocket('udp4')
  const payload = Buffer.alloc(size, 7)
  const start = performance.now()
  let sent = 0
  let errors = 0
  while (performance.now() - start < seconds * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate / size)
    while (sent < due) {
      sent++
      socket.send(payload, port, address, err => { if (err != null) errors++ })
    }
    await delay(1)
  }
  await delay(200)
  socket.close()
  process.stdout.write(JSON.stringify({ packets: sent, bytes: sent * size, errors, seconds: (performance.now() - start) / 1000 }) + '\n')
} else {
  process.stderr.write('usage: udp-blast.ts send <address> <port> <bytes/s> <packet bytes> <seconds> | recv <port> <idle ms>\n')
  process.exit(2)
}
