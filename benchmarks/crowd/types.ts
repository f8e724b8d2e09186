/**
 * The contract between the crowd benchmark's runner and the systems it compares (swarm, http,
 * webtorrent). A system driver prepares whatever it needs outside the browser (trackers,
 * seeds, manifests), names a page entry that the runner bundles with esbuild, and hands each
 * page a JSON config; the page does one visit and reports a VisitorResult.
 */

/** One visitor's load of the asset, as reported by its page (times in ms on the page's own clock, from the `benchVisit` call). */
export interface VisitorResult { visitor: number, system: string, arrivedAtMs: number, firstByteMs: number, completeMs: number, bytes: number, fromPeers: number, fromOrigin: number, uploaded: number, ok: boolean, error?: string, sha256?: string }

export interface CrowdAsset { path: string, size: number, sha256: string, dir: string /* folder served by the origin */ }

export interface CrowdSetup { asset: CrowdAsset, originUrls: string[] /* several ports sharing one limiter: Chromium allows 6 connections per host:port */, relayWs?: string, uploadBytesPerSecond: number, peers: number }

export interface PreparedSystem {
  /** JSON given to each page's `window.benchVisit(config, visitor)` */
  pageConfig: unknown
  cleanup(): Promise<void>
}

export interface SystemDriver {
  name: string
  /** TS entry bundled with esbuild for the page; it must set `window.benchVisit = async (config, visitor: number) => VisitorResult` (timings from the page's own clock, relative to the call) and may set `window.benchAfter = async () => ({ uploaded })` to report bytes uploaded up to the end of the run. */
  pageEntry: string
  /** esbuild options the page bundle needs (e.g. define/inject/alias for webtorrent); optional */
  bundleOptions?: Record<string, unknown>
  /**
   * A Node module for headless visitors (`--visitors node|mixed`), optional: it must export
   * `createNodeVisitor(): { visit(config, visitor) => VisitorResult, after() => { uploaded }, stop() }`;
   * ./node-host.ts runs many in one process and hands `visit` the same config as the page's.
   */
  nodeVisitor?: string
  prepare(setup: CrowdSetup): Promise<PreparedSystem>
}
