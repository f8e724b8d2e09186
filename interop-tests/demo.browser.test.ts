import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { freePort } from '../test/helpers/free-port.ts'
import { ROOT } from '../test/helpers/relay-process.ts'
import { launchChromium } from './harness/chromium.ts'
import type { LaunchedChromium } from './harness/chromium.ts'
import type { ChildProcess } from 'node:child_process'

describe('npm start: the mesh demo in two real Chromium tabs', { timeout: 120_000 }, () => {
  let start: ChildProcess
  let url: string
  let chromium: LaunchedChromium

  before(async () => {
    const port = await freePort()
    start = spawn(process.execPath, [join(ROOT, 'examples/start.ts')], {
      env: { ...process.env, PORT: String(port), RELAY_PORT: String(await freePort()) },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('npm start printed no URL')) }, 60_000)
      createInterface({ input: start.stdout! }).on('line', line => {
        const match = /Open (http:\/\/\S+)/.exec(line)
        if (match != null) { clearTimeout(timer); resolve(match[1]!) }
      })
    })
    chromium = await launchChromium()
  })

  after(async () => {
    await chromium?.close()
    if (start != null && start.exitCode == null) {
      const exited = new Promise(resolve => start.once('exit', resolve))
      start.kill('SIGINT')
      const timer = setTimeout(() => start.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
  })

  it('each tab shows its peer id and reservation, and the tabs connect directly over WebRTC', async () => {
    const context = await chromium.newContext(new URL(url).origin)
    const tabs = [await context.newPage(), await context.newPage()]
    for (const tab of tabs) await tab.goto(url)
    for (const tab of tabs) {
      await tab.waitForFunction(() => document.getElementById('reservation')?.textContent?.startsWith('reserved on'), undefined, { timeout: 30_000 })
      assert.match(await tab.textContent('#peer-id') ?? '', /^12D3Koo\w+$/)
      assert.match(await tab.textContent('#relay') ?? '', /^connected to \/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\//)
    }
    const [a, b] = await Promise.all(tabs.map(async t => t.textContent('#peer-id')))
    for (const [tab, other] of [[tabs[0]!, b], [tabs[1]!, a]] as const) {
      await tab.waitForFunction(peer => [...document.querySelectorAll('#peers tr')].some(tr => tr.textContent?.includes(peer!) && tr.textContent.includes('webrtc') && tr.textContent.includes('direct')), other, { timeout: 45_000 })
    }
    const artifacts = join(ROOT, 'interop-tests/artifacts')
    await mkdir(artifacts, { recursive: true })
    await tabs[0]!.screenshot({ path: join(artifacts, 'mesh-demo.png'), fullPage: true })
  })
})
