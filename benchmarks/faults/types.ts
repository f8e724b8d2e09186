/**
 * The fault suite's contract. A scenario is one file exporting a `FaultScenario`, listed in
 * ./scenarios.ts: it runs the same crowd twice in one invocation (a baseline without the fault,
 * then with it) in a `FaultWorld` of real parts, and returns figures plus checks. The benchmark
 * writes the figures; the test (interop-tests/faults.browser.test.ts) runs each scenario small
 * and asserts its behaviour checks. Bound checks (ratios against the baseline: timings) are
 * reported by the benchmark and never asserted by the test.
 */
import type { Manifest, SwarmStats } from '../../src/index.ts'
import type { CrowdAsset } from '../crowd/types.ts'
import type { FaultWorld } from './world.ts'

/** JSON each visitor page gets (see visitor-page.ts). */
export interface FaultPageConfig {
  manifest: Manifest
  path: string
  size: number
  sha256: string
  originUrls: string[]
  relayWs: string
  /** null = no cap */
  uploadBytesPerSecond: number | null
  blockDeadlineMs?: number
}

/** What a visitor page kept (`window.faultsState()`); times are the page's Date.now(). */
export interface FaultPageState {
  peerId?: string
  banned: Array<{ peer: string, reason: string, at: number }>
  relay: Array<{ type: string, at: number }>
  stats: SwarmStats | undefined
}

export interface FaultOptions {
  /** Honest browser visitors (Chromium pages). */
  visitors: number
  sizeBytes: number
  /** Shared origin cap, bytes/s (Infinity = none). */
  originBytesPerSecond: number
  /** Each visitor's (and each Node holder's) upload cap, bytes/s. */
  uploadBytesPerSecond: number
  /** Visitors arrive evenly over this window, ms. */
  arrivalMs: number
  /** The swarm's blockDeadlineMs; undefined = the library's. */
  blockDeadlineMs?: number
  /** One run's deadline from its first arrival: a visitor without a result by then failed (hung). */
  runTimeoutMs: number
  /** relay killed: how long the relay stays down, ms (the issue: 10 s). */
  relayDownMs: number
  /** Seed for the scenarios' random choices (who leaves, when). */
  seed: number
  /** Share of holders (or visitors) the fault takes: corrupt liars and black holes 0.3, churn 0.5. */
  share?: number
}

export interface ScenarioContext {
  options: FaultOptions
  asset: CrowdAsset
  /** Starts a fresh world (origin, relay, Chromium; holders and visitors on demand); the scenario stops it. */
  world(): Promise<FaultWorld>
  log(line: string): void
  signal?: AbortSignal
}

/** One visitor's result in a run, times on the run's clock (ms from the first arrival). */
export interface VisitorOutcome {
  visitor: number
  peerId?: string
  /** 'ok' = every byte, SHA-256 equal; 'left' = closed by the scenario (churn); 'failed' = error; 'hung' = no result by the run deadline */
  outcome: 'ok' | 'left' | 'failed' | 'hung'
  arrivedAtMs: number
  /** arrival to last byte, ms (-1 when not ok) */
  completeMs: number
  bytes: number
  byteExact: boolean
  fromPeers: number
  fromOrigin: number
  originBytesReceived: number
  duplicateBytes: number
  error?: string
  [extra: string]: unknown
}

/** What one run (baseline or fault) measured. */
export interface RunFigures {
  label: 'baseline' | 'fault'
  visitors: VisitorOutcome[]
  ok: number
  total: number
  /** bytes of ok visitors, all verified against the asset's SHA-256 */
  bytesVerified: number
  /** every visitor that got a whole body got exactly the asset's bytes */
  byteExact: boolean
  /** last completion − first arrival among visitors expected to finish, ms; null when one of them did not */
  completionMs: number | null
  /** the origin's own counter, body bytes of the asset */
  originBytes: number
  /** the visitors' duplicate bytes (fetched twice) */
  duplicateBytes: number
  fromPeers: number
  /** CPU over the visits; otherProcessesShare ≥ 0.10 means the machine was not quiet: figures not for committing */
  cpu: { wallS: number, oursS: number, otherProcessesS: number, otherProcessesShare: number } | null
  /** whatever else the scenario measured in this run */
  extra: Record<string, unknown>
}

export interface Check {
  name: string
  ok: boolean
  detail: string
  /** 'behaviour': asserted by the test; 'bound': a must-hold figure against the baseline, reported by the benchmark */
  kind: 'behaviour' | 'bound'
}

export interface ScenarioResult {
  scenario: string
  summary: string
  mustHold: string
  baseline: RunFigures
  fault: RunFigures
  /** fault completion ÷ baseline completion (null when either did not complete) */
  timeRatio: number | null
  /** fault origin bytes ÷ baseline origin bytes */
  originRatio: number | null
  /** what the fault cost, in its own figures (bytes wasted, asks lost, …) */
  cost: Record<string, number | string | null>
  checks: Check[]
  errors: string[]
}

export interface FaultScenario {
  name: string
  summary: string
  /** the "must hold", as the report prints it */
  mustHold: string
  run(context: ScenarioContext): Promise<ScenarioResult>
}
