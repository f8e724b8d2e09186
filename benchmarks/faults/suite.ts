/**
 * Runs fault scenarios: one asset and one page bundle for the invocation, a fresh world (origin,
 * relay, Chromium, holders) per run. Used by benchmarks/faults.ts (figures) and by
 * interop-tests/faults.browser.test.ts (behaviour, small).
 */
import { rm } from 'node:fs/promises'
import { buildManifest } from '../../src/content/manifest.ts'
import { makeAsset } from '../crowd/asset.ts'
import { serveFaultPages, startFaultWorld } from './world.ts'
import type { FaultOptions, FaultScenario, ScenarioResult } from './types.ts'

export interface FaultSuiteInit {
  options: FaultOptions
  scenarios: FaultScenario[]
  log?: (line: string) => void
  signal?: AbortSignal
  /** Called with each scenario's result as it ends. */
  onResult?: (result: ScenarioResult) => void
}

export async function runFaultSuite (init: FaultSuiteInit): Promise<ScenarioResult[]> {
  const { options } = init
  const log = init.log ?? (() => {})
  const asset = await makeAsset(options.sizeBytes)
  const server = await serveFaultPages()
  const out: ScenarioResult[] = []
  try {
    // built before the world writes swarmsite.json into the folder; each world points it at its origin
    const { manifest } = await buildManifest(asset.dir, { origin: 'http://127.0.0.1/' })
    for (const scenario of init.scenarios) {
      init.signal?.throwIfAborted()
      const started = performance.now()
      log(`${scenario.name}: ${scenario.summary}`)
      let r: ScenarioResult
      try {
        r = await scenario.run({
          options,
          asset,
          log,
          ...(init.signal != null ? { signal: init.signal } : {}),
          world: async () => startFaultWorld({
            asset,
            manifest,
            server,
            originBytesPerSecond: options.originBytesPerSecond,
            uploadBytesPerSecond: options.uploadBytesPerSecond,
            originPorts: Math.max(1, Math.ceil(options.visitors / 2)),
            ...(options.blockDeadlineMs != null ? { blockDeadlineMs: options.blockDeadlineMs } : {})
          })
        })
      } catch (err: any) {
        if (init.signal?.aborted === true) throw err
        log(`${scenario.name} broke: ${err?.stack ?? err}`)
        r = brokenResult(scenario, err)
      }
      log(`${scenario.name}: done in ${((performance.now() - started) / 1000).toFixed(0)} s; ${r.checks.filter(c => !c.ok).length} of ${r.checks.length} checks failed`)
      out.push(r)
      init.onResult?.(r)
    }
  } finally {
    await server.close()
    await rm(asset.dir, { recursive: true, force: true })
  }
  return out
}

function brokenResult (scenario: FaultScenario, err: any): ScenarioResult {
  const empty = (label: 'baseline' | 'fault') => ({ label, visitors: [], ok: 0, total: 0, bytesVerified: 0, byteExact: true, completionMs: null, originBytes: 0, duplicateBytes: 0, fromPeers: 0, cpu: null, extra: {} })
  return {
    scenario: scenario.name,
    summary: scenario.summary,
    mustHold: scenario.mustHold,
    baseline: empty('baseline'),
    fault: empty('fault'),
    timeRatio: null,
    originRatio: null,
    cost: {},
    checks: [{ name: 'the scenario ran', kind: 'behaviour', ok: false, detail: String(err?.message ?? err).split('\n')[0]! }],
    errors: [String(err?.stack ?? err).slice(0, 2000)]
  }
}
