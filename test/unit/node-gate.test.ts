import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { nodeGate } from '../../src/swarm/node-gate.ts'
import type { GateDownload, GateInput } from '../../src/swarm/node-gate.ts'

const MiB = 1024 * 1024
const input = (downloads: GateDownload[], over: Partial<GateInput> = {}): GateInput => ({
  now: 1_000, since: 0, downloads, fastBytesPerSecond: 8 * MiB, probeMs: 250, maxDeferMs: 20_000, ...over
})
const d = (over: Partial<GateDownload> = {}): GateDownload => ({ fast: false, blocks: 0, liveBytesPerSecond: undefined, activeMs: 0, requesting: true, ...over })

describe('node gate', () => {
  it('starts the node at once when nothing downloads', () => {
    assert.deepEqual(nodeGate(input([])), { start: true, reason: 'no download under way' })
  })

  it('holds the node back while every download has a fast origin', () => {
    const decision = nodeGate(input([d({ fast: true, blocks: 5 }), d({ blocks: 1, activeMs: 20, liveBytesPerSecond: 40 * MiB })]))
    assert.equal(decision.start, false)
  })

  it('starts it once one origin is slow: a block at a slow rate, or a request under way past the probe time with few bytes', () => {
    assert.equal(nodeGate(input([d({ fast: true, blocks: 5 }), d({ blocks: 1, activeMs: 300, liveBytesPerSecond: 2 * MiB })])).start, true)
    assert.equal(nodeGate(input([d({ blocks: 1, activeMs: 100, liveBytesPerSecond: 2 * MiB, requesting: false })])).start, true, 'with no request under way, what came decides')
    assert.equal(nodeGate(input([d({ blocks: 0, activeMs: 260, liveBytesPerSecond: 100_000 })])).start, true)
  })

  it('waits out the probe time for a first block before judging, then no longer than maxDeferMs', () => {
    const early = nodeGate(input([d({ blocks: 0, activeMs: 100, liveBytesPerSecond: 0 })]))
    assert.deepEqual(early, { start: false, recheckMs: 150 })
    assert.equal(nodeGate(input([d({ fast: true, blocks: 50 })], { now: 20_000 })).start, true)
  })
})
