/**
 * A process that hosts many headless crowd visitors: `node node-host.ts <module>`, where the
 * module (a system's `nodeVisitor`) exports `createNodeVisitor()`. Each visitor is its own
 * createSwarm (its own libp2p node, key, connections and store); they share only the process,
 * its event loop and node-datachannel's native threads. Commands are JSON lines on stdin:
 *   { id, cmd: 'visit', visitor, config }  → { id, ok, result, startedAt, endedAt }  (Date.now())
 *   { id, cmd: 'after', visitor }          → { id, ok, after }
 *   { id, cmd: 'stop' }                    → { id, ok } once every visitor has stopped; then exits
 * Besides answers it prints { ready: true } once the module loaded, and { event: 'error',
 * message } for an error nobody caught: in a page it would land in the console and the other
 * tabs would go on, so here it must not end the other visitors of the process either.
 */
import { createInterface } from 'node:readline'
import { setTimeout as delay } from 'node:timers/promises'

interface NodeVisitor {
  visit(config: unknown, visitor: number): Promise<unknown>
  after(): Promise<{ uploaded: number }>
  stop(): Promise<void>
}

const STOP_DEADLINE_MS = 20_000

const modulePath = process.argv[2]
if (modulePath == null) {
  process.stderr.write('usage: node node-host.ts <visitor module>\n')
  process.exit(2)
}
const out = (message: unknown): void => { process.stdout.write(JSON.stringify(message) + '\n') }
let reported = 0
const report = (err: unknown): void => {
  // a few are enough to see what went wrong; a storm of them would only cost the visitors CPU
  if (reported++ < 20) out({ event: 'error', message: String((err as Error)?.stack ?? err).split('\n').slice(0, 3).join(' | ') })
}
process.on('uncaughtException', report)
process.on('unhandledRejection', report)

const mod = await import(modulePath) as { createNodeVisitor?: () => NodeVisitor }
if (typeof mod.createNodeVisitor !== 'function') {
  process.stderr.write(`${modulePath} exports no createNodeVisitor()\n`)
  process.exit(2)
}
const visitors = new Map<number, NodeVisitor>()
out({ ready: true, pid: process.pid })

const lines = createInterface({ input: process.stdin })
for await (const line of lines) {
  const { id, cmd, visitor, config } = JSON.parse(line) as { id: number, cmd: string, visitor?: number, config?: unknown }
  if (cmd === 'visit') {
    const startedAt = Date.now()
    const v = mod.createNodeVisitor()
    visitors.set(visitor!, v)
    // visits run concurrently: don't await here
    v.visit(config, visitor!).then(result => { out({ id, ok: true, result, startedAt, endedAt: Date.now() }) }, (err: any) => { out({ id, ok: false, error: String(err?.message ?? err) }) })
  } else if (cmd === 'after') {
    const v = visitors.get(visitor!)
    if (v == null) out({ id, ok: true, after: undefined })
    else v.after().then(after => { out({ id, ok: true, after }) }, (err: any) => { out({ id, ok: false, error: String(err?.message ?? err) }) })
  } else if (cmd === 'stop') {
    await Promise.race([Promise.allSettled([...visitors.values()].map(async v => v.stop())), delay(STOP_DEADLINE_MS)])
    out({ id, ok: true })
    break
  } else {
    out({ id, ok: false, error: `unknown command ${cmd}` })
  }
}
// node-datachannel's threads may outlive the last connection (webrtc-runtime.ts): leave anyway
process.exit(0)
