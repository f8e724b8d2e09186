import { chromium } from 'playwright-core'
import type { Browser, BrowserContext } from 'playwright-core'

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Flags that work on these machines (see shared NOTES): no background traffic, loopback ICE. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--disable-renderer-backgrounding',
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows'
]

export interface LaunchedChromium {
  browser: Browser
  /** A context whose pages may gather ICE candidates (media permission granted for `origin`). */
  newContext(origin: string): Promise<BrowserContext>
  close(): Promise<void>
}

/** Debian's Chromium, headless, with a fresh profile (playwright makes one per launch); never a downloaded browser. */
export async function launchChromium (options: { handleSignals?: boolean, args?: string[] } = {}): Promise<LaunchedChromium> {
  // a driver that tears down on Ctrl-C itself turns off playwright's own signal handlers,
  // which would exit before the driver's teardown and leave its relay running
  const handleSignals = options.handleSignals ?? true
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
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
      // Chromium gathers no ICE candidates for a page without media permission
      await context.grantPermissions(['camera', 'microphone'], { origin })
      return context
    },
    async close () {
      await browser.close().catch(() => {})
    }
  }
}
