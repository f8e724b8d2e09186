/**
 * Chromium pages running the interop test page, for benchmarks. Like the interop
 * harness's startSwarmPages() (same bundle, Chromium flags and server), but opening a page and
 * starting its node are separate steps, so the driver can time start() on its own.
 */
import { join } from 'node:path'
import { bundleForBrowser } from '../../interop-tests/harness/bundle.ts'
import { launchChromium } from '../../interop-tests/harness/chromium.ts'
import { serveRoutes } from '../../interop-tests/harness/static-server.ts'
import type { LaunchedChromium } from '../../interop-tests/harness/chromium.ts'
import type { StaticServer } from '../../interop-tests/harness/static-server.ts'
import type { BrowserContext, Page } from 'playwright-core'

const TEST_PAGE = join(new URL('../../interop-tests/', import.meta.url).pathname, 'page/test-page.ts')

const HTML = '<!doctype html><meta charset="utf-8"><title>swarmsite benchmark page</title><script type="module" src="/test-page.js"></script>'

export interface BenchPage {
  index: number
  page: Page
  /** Set once the benchmark has called start(). */
  peerId: string
  /** Calls a method of `window.swarmsiteTest` in the page. */
  call<T = any>(method: string, ...args: unknown[]): Promise<T>
  /** Stops the page's node (if started) and closes the tab; never rejects. */
  close(): Promise<void>
}

export interface BenchPages {
  chromium: LaunchedChromium
  server: StaticServer
  context: BrowserContext
  /** The bundled test page, and the URL pages load it from (for profiles). */
  script: string
  scriptUrl: string
  /** Every page opened and not yet closed. */
  pages: Set<BenchPage>
  /** Opens a tab with the test page loaded (its node not started yet). */
  open(index: number): Promise<BenchPage>
  close(): Promise<void>
}

export async function startBenchPages (): Promise<BenchPages> {
  // bundle before anything is timed
  const script = await bundleForBrowser(TEST_PAGE)
  const server = await serveRoutes({
    '/': { type: 'text/html', body: HTML },
    '/test-page.js': { type: 'text/javascript', body: script }
  })
  let chromium: LaunchedChromium
  try {
    chromium = await launchChromium({ handleSignals: false })
  } catch (err) {
    await server.close()
    throw err
  }
  const context = await chromium.newContext(server.url)
  const pages = new Set<BenchPage>()
  return {
    chromium,
    server,
    context,
    script,
    scriptUrl: new URL('/test-page.js', server.url).toString(),
    pages,
    async open (index) {
      const page = await context.newPage()
      page.setDefaultTimeout(60_000)
      await page.goto(server.url)
      await page.waitForFunction(() => window.swarmsiteTest != null)
      const call = async <T>(method: string, ...args: unknown[]): Promise<T> =>
        page.evaluate(async ({ method, args }) => (window.swarmsiteTest as any)[method](...args), { method, args }) as Promise<T>
      const benchPage: BenchPage = {
        index,
        page,
        peerId: '',
        call,
        async close () {
          pages.delete(benchPage)
          await Promise.race([call('stop'), new Promise(resolve => setTimeout(resolve, 10_000).unref())]).catch(() => {})
          await page.close().catch(() => {})
        }
      }
      pages.add(benchPage)
      return benchPage
    },
    async close () {
      await Promise.allSettled([...pages].map(async p => p.close()))
      await chromium.close()
      await server.close()
    }
  }
}
