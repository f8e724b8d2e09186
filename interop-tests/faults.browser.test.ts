// The fault suite, small: each scenario of benchmarks/faults (real relay process, real capped
// origin, real Chromium visitors, Node visitor processes that lie or stall) with 3 visitors and a
// 1 MiB file. Asserts the behaviour checks only: every completed download byte-exact, none hangs
// past its bound, every visitor that stayed completes, liars banned at their first bad block,
// pages reserve again on a restarted relay and new visitors then swarm. The timing bounds
// (ratios to the baseline run) are the benchmark's business (`npm run bench -- faults`).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { FAULT_SCENARIOS } from '../benchmarks/faults/scenarios.ts'
import { runFaultSuite } from '../benchmarks/faults/suite.ts'
import type { FaultOptions } from '../benchmarks/faults/types.ts'

const KiB = 1024

const options: FaultOptions = {
  visitors: 3,
  sizeBytes: 1024 * KiB,
  // scarce (below the fast-origin bar): visitors ask peers, so the faulty ones are asked
  originBytesPerSecond: 256 * KiB,
  uploadBytesPerSecond: 1024 * KiB,
  arrivalMs: 1_000,
  // a hung download shows as a failed check, well inside the test's timeout
  runTimeoutMs: 90_000,
  relayDownMs: 10_000,
  seed: 11
}

describe('fault suite (small): what must hold when peers lie, stall, leave, or the relay dies', { timeout: 900_000 }, () => {
  for (const scenario of FAULT_SCENARIOS) {
    it(`${scenario.name}: ${scenario.summary}`, { timeout: 300_000 }, async () => {
      const lines: string[] = []
      const [result] = await runFaultSuite({ options, scenarios: [scenario], log: line => { lines.push(line) } })
      assert.ok(result != null)
      const behaviour = result.checks.filter(c => c.kind === 'behaviour')
      assert.ok(behaviour.length >= 7, `${behaviour.length} behaviour checks`)
      const failed = behaviour.filter(c => !c.ok)
      assert.deepEqual(failed.map(c => `${c.name}: ${c.detail}`), [], `log:\n${lines.join('\n')}\nerrors: ${result.errors.join('\n')}`)
      // the figures the benchmark reports exist for both runs
      assert.equal(result.baseline.total, options.visitors)
      assert.equal(result.fault.total, options.visitors)
      assert.equal(result.fault.bytesVerified, result.fault.ok * options.sizeBytes)
    })
  }
})
