import { join } from 'node:path'
import { bundleForBrowser } from './bundle.ts'
import { launchChromium } from './chromium.ts'
import { serveRoutes } from './static-server.ts'
import type { LaunchedChromium } from './chromium.ts'
import type { StaticServer } from './static-server.ts'
import type { SwarmNodeInit } from '../../src/index.ts'
import type { Page } from 'playwright-core'

const TEST_PAGE = join(new URL('..', import.meta.url).pathname, 'page/test-page.ts')

const HTML = '<!doctype html><meta charset="utf-8"><title>swarmsite test page</title><script type="module" src="/test-page.js"></script>'

export interface SwarmPage {
  page: Page
  peerId: string
  /** The page's console output (libp2p logs when SWARMSITE_PAGE_DEBUG names namespaces). */
  logs: string[]
  /** Calls a method of `window.swarmsiteTest` in the page. */
  call<T = any>(method: string, ...args: unknown[]): Promise<T>
}

export interface SwarmPages {
  chromium: LaunchedChromium
  server: StaticServer
  pages: SwarmPage[]
  /** Opens one more page whose node bootstraps from `init.bootstrap`. */
  open(init: SwarmNodeInit): Promise<SwarmPage>
  close(): Promise<void>
}

/** Serves the test page, launches Chromium and opens pages that each run a swarm node. */
export async function startSwarmPages (): Promise<SwarmPages> {
  // bundle before any page waits for it: on a busy machine esbuild alone can take a while
  await bundleForBrowser(TEST_PAGE)
  const server = await serveRoutes({
    '/': { type: 'text/html', body: HTML },
    '/test-page.js': { type: 'text/javascript', body: async () => bundleForBrowser(TEST_PAGE) }
  })
  const chromium = await launchChromium()
  const context = await chromium.newContext(server.url)
  const pages: SwarmPage[] = []
  return {
    chromium,
    server,
    pages,
    async open (init) {
      const page = await context.newPage()
      page.setDefaultTimeout(60_000)
      const logs: string[] = []
      page.on('console', message => { logs.push(message.text()) })
      await page.goto(server.url)
      await page.waitForFunction(() => window.swarmsiteTest != null)
      const call = async <T>(method: string, ...args: unknown[]): Promise<T> =>
        page.evaluate(async ({ method, args }) => (window.swarmsiteTest as any)[method](...args), { method, args }) as Promise<T>
      if (process.env.SWARMSITE_PAGE_DEBUG != null) await call('enableLogs', process.env.SWARMSITE_PAGE_DEBUG)
      const { peerId } = await call<{ peerId: string }>('start', init)
      const swarmPage = { page, peerId, logs, call }
      pages.push(swarmPage)
      return swarmPage
    },
    async close () {
      await Promise.allSettled(pages.map(async p => p.call('stop')))
      await chromium.close()
      await server.close()
    }
  }
}
