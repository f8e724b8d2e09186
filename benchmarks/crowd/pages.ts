/**
 * The crowd benchmark's browser side: page bundles (one per system, built with esbuild and the
 * driver's own options), the server that hosts them, and visitor pages — each in a browser
 * context of its own, so storage (IndexedDB, OPFS, caches) and HTTP connection pools are separate.
 */
import { build } from 'esbuild'
import { launchChromium } from '../../interop-tests/harness/chromium.ts'
import { serveRoutes } from '../../interop-tests/harness/static-server.ts'
import type { SystemDriver, VisitorResult } from './types.ts'
import type { LaunchedChromium } from '../../interop-tests/harness/chromium.ts'
import type { StaticServer } from '../../interop-tests/harness/static-server.ts'
import type { BrowserContext, Page } from 'playwright-core'

const bundles = new Map<string, Promise<string>>()

/**
 * The system's page entry as one ESM script (cached per entry and options). Minified as a
 * site would serve it, unless `minify: false`: then every module starts with esbuild's
 * `// <path>` comment, which is what ../lib/js-profile.ts attributes samples by.
 */
export async function bundlePage (driver: SystemDriver, { minify = true }: { minify?: boolean } = {}): Promise<string> {
  const key = `${driver.pageEntry}\n${minify}\n${JSON.stringify(driver.bundleOptions ?? {})}`
  let bundled = bundles.get(key)
  if (bundled == null) {
    bundled = build({
      entryPoints: [driver.pageEntry],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      // minified: less for each of N pages to parse
      minify,
      write: false,
      logLevel: 'silent',
      ...driver.bundleOptions
    }).then(result => {
      const out = result.outputFiles.find(f => f.path.endsWith('.js')) ?? result.outputFiles[0]
      if (out == null) throw new Error(`esbuild gave no output for ${driver.pageEntry}`)
      return out.text
    })
    bundled.catch(() => { bundles.delete(key) })
    bundles.set(key, bundled)
  }
  return bundled
}

export interface PageServer extends StaticServer {
  /** each system's script as served at `${url}/<system>.js` */
  scripts: Record<string, string>
}

/** Serves `/<system>/` (a page loading `/<system>.js`) for each driver; the `unminified` systems' scripts unminified. */
export async function servePages (drivers: SystemDriver[], { unminified = [] }: { unminified?: string[] } = {}): Promise<PageServer> {
  const routes: Parameters<typeof serveRoutes>[0] = {}
  const scripts: Record<string, string> = {}
  for (const driver of drivers) {
    const script = await bundlePage(driver, { minify: !unminified.includes(driver.name) })
    scripts[driver.name] = script
    routes[`/${driver.name}/`] = {
      type: 'text/html',
      body: `<!doctype html><meta charset="utf-8"><title>swarmsite crowd benchmark: ${driver.name}</title><script type="module" src="/${driver.name}.js"></script>`
    }
    routes[`/${driver.name}.js`] = { type: 'text/javascript', body: script }
  }
  return Object.assign(await serveRoutes(routes), { scripts })
}

export interface VisitResult {
  result: VisitorResult
  /** the page's Date.now() when benchVisit was called and when it returned */
  startedAt: number
  endedAt: number
}

export interface VisitorPage {
  visitor: number
  page: Page
  context: BrowserContext
  /** Calls `window.benchVisit(config, visitor)`, stamped on the machine's wall clock in the page. */
  visit(config: unknown): Promise<VisitResult>
  /** `window.benchAfter()` if the page defines one, else undefined. */
  after(): Promise<{ uploaded: number } | undefined>
  close(): Promise<void>
}

export interface CrowdBrowser {
  chromium: LaunchedChromium
  version: string
  /** Uncaught page errors (first few per page), for the record. */
  pageErrors: string[]
  /** Opens visitor `visitor`'s page for `system` in a fresh browser context. */
  open(system: string, visitor: number): Promise<VisitorPage>
  close(): Promise<void>
}

export async function startCrowdBrowser (serverUrl: string): Promise<CrowdBrowser> {
  const chromium = await launchChromium({ handleSignals: false })
  const pageErrors: string[] = []
  const pages = new Set<VisitorPage>()
  return {
    chromium,
    version: chromium.browser.version(),
    pageErrors,
    async open (system, visitor) {
      const context = await chromium.newContext(serverUrl)
      const page = await context.newPage()
      let errors = 0
      page.on('pageerror', err => {
        if (errors++ < 3 && pageErrors.length < 50) pageErrors.push(`visitor ${visitor}: ${String(err.message).split('\n')[0]}`)
      })
      await page.goto(`${serverUrl}/${system}/`, { timeout: 60_000 })
      await page.waitForFunction(() => (window as any).benchVisit != null, undefined, { timeout: 60_000 })
      const visitorPage: VisitorPage = {
        visitor,
        page,
        context,
        async visit (config) {
          return page.evaluate(async ({ config, visitor }) => {
            const startedAt = Date.now()
            const result = await (window as any).benchVisit(config, visitor)
            return { result, startedAt, endedAt: Date.now() }
          }, { config, visitor })
        },
        async after () {
          return page.evaluate(async () => {
            const after = (window as any).benchAfter
            return typeof after === 'function' ? await after() : undefined
          })
        },
        async close () {
          pages.delete(visitorPage)
          await context.close().catch(() => {})
        }
      }
      pages.add(visitorPage)
      return visitorPage
    },
    async close () {
      // closing the browser closes every context with it, and ends each page's swarm abruptly
      // (as a visitor closing the tab would)
      pages.clear()
      await chromium.close()
    }
  }
}
