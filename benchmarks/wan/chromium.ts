/**
 * Debian's Chromium inside a WAN host: playwright launches a two-line wrapper that enters the
 * host's network namespace and execs Chromium, so every socket the browser opens (HTTP,
 * WebSocket, WebRTC's UDP) has the host's 10.7.x.y address and crosses the router. The
 * DevTools pipe playwright talks over is inherited file descriptors, not the network, so the
 * driver stays outside.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../interop-tests/harness/chromium.ts'
import type { LaunchedChromium } from '../../interop-tests/harness/chromium.ts'
import type { WanHost } from './wan.ts'
import { chromium } from 'playwright-core'

export async function launchChromiumIn (host: WanHost, options: { args?: string[], handleSignals?: boolean } = {}): Promise<LaunchedChromium> {
  const dir = await mkdtemp(join(tmpdir(), 'swarmsite-wan-chromium-'))
  const wrapper = join(dir, 'chromium')
  const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`
  await writeFile(wrapper, `#!/bin/sh\nexec ${host.enter.map(quote).join(' ')} ${quote(CHROMIUM_PATH)} "$@"\n`)
  await chmod(wrapper, 0o755)
  const handleSignals = options.handleSignals ?? true
  try {
    const browser = await chromium.launch({
      executablePath: wrapper,
      headless: true,
      args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
      timeout: 60_000,
      handleSIGINT: handleSignals,
      handleSIGTERM: handleSignals,
      handleSIGHUP: handleSignals
    })
    return {
      browser,
      async newContext (origin) {
        const context = await browser.newContext()
        // Chromium gathers no ICE candidates for a page without media permission; and a page
        // from http://localhost may reach the WAN's private 10.7.x.y addresses (relay, origin)
        // only with Local Network Access permission (Chromium 156 refuses it otherwise)
        await context.grantPermissions(['camera', 'microphone', 'local-network-access'], { origin })
        return context
      },
      async close () {
        await browser.close().catch(() => {})
        await rm(dir, { recursive: true, force: true })
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}
