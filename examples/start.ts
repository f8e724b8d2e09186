// `npm start`: the relay binary plus the mesh demo page on 127.0.0.1. Open the printed URL
// in two or more tabs. Ctrl-C stops everything.
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { build } from 'esbuild'

const root = new URL('..', import.meta.url).pathname
const pagePort = Number(process.env.PORT ?? 8080)
const relayPort = Number(process.env.RELAY_PORT ?? 9090)

const bundle = await build({
  entryPoints: [join(root, 'examples/mesh-demo/demo.ts')],
  bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, minify: true, logLevel: 'warning'
})
const js = bundle.outputFiles[0]!.text
const html = await readFile(join(root, 'examples/mesh-demo/index.html'))

const relay = spawn(process.execPath, [join(root, 'src/cli/index.ts'), 'relay', '--json', '--host', '127.0.0.1', '--ws-port', String(relayPort), '--tcp-port', 'none', '--key', join(root, '.swarmsite/relay.key')], {
  stdio: ['ignore', 'pipe', 'inherit']
})
const first = await new Promise<string>((resolve, reject) => {
  createInterface({ input: relay.stdout }).once('line', resolve)
  relay.once('exit', code => { reject(new Error(`the relay exited (${code})`)) })
}).catch((err: Error) => { process.stderr.write(`npm start: ${err.message}\n`); process.exit(1) })
const info = JSON.parse(first) as { peerId: string, multiaddrs: string[], http: string }
const bootstrap = info.multiaddrs.filter(a => a.includes('/ws/'))

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0]
  if (path === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html)
  else if (path === '/demo.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js)
  else if (path === '/config.json') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bootstrap }))
  else res.writeHead(404).end()
})
server.on('error', err => { process.stderr.write(`npm start: page server: ${err.message}\n`); relay.kill('SIGTERM'); process.exit(1) })
server.listen(pagePort, '127.0.0.1', () => {
  process.stdout.write(`relay ${info.peerId}\n  ${bootstrap.join('\n  ')}\n  health ${info.http}/health\n\n`)
  process.stdout.write(`Open http://127.0.0.1:${(server.address() as AddressInfo).port}/ in two or more tabs. Ctrl-C to stop.\n`)
})

const stop = (): void => {
  server.close()
  relay.kill('SIGTERM')
  relay.once('exit', () => process.exit(0))
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
