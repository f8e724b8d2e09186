import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { VIVALDI_ERROR_MAX, VIVALDI_HEIGHT_MIN_MS } from '../../src/content/locality/constants.ts'
import { estimateRttMs, initialCoordinate, updateCoordinate, validCoordinate, vivaldi } from '../../src/content/locality/vivaldi.ts'
import type { Coordinate, Vivaldi } from '../../src/content/locality/vivaldi.ts'

/** mulberry32: a small seeded PRNG, so every run sees the same network and the same samples. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface TrueNode { cluster: number, x: number, y: number, height: number }

/**
 * 20 nodes in 3 clusters (7, 7, 6) whose true RTTs are a plane distance plus both access
 * heights: ~5–15 ms inside a cluster, ~40, ~80 and ~120 ms between clusters, like the
 * emulated WAN's regions.
 */
function network (random: () => number): { nodes: TrueNode[], rtt: (i: number, j: number) => number } {
  const centres = [[0, 0], [40, 0], [0, 120]]
  const sizes = [7, 7, 6]
  const nodes: TrueNode[] = []
  sizes.forEach((size, cluster) => {
    for (let k = 0; k < size; k++) {
      nodes.push({ cluster, x: centres[cluster]![0]! + (random() - 0.5) * 8, y: centres[cluster]![1]! + (random() - 0.5) * 8, height: 1 + random() * 3 })
    }
  })
  const rtt = (i: number, j: number): number => {
    const a = nodes[i]!
    const b = nodes[j]!
    return Math.hypot(a.x - b.x, a.y - b.y) + a.height + b.height
  }
  return { nodes, rtt }
}

function relativeErrors (nodes: Vivaldi[], rtt: (i: number, j: number) => number): number[] {
  const out: number[] = []
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const truth = rtt(i, j)
      out.push(Math.abs(estimateRttMs(nodes[i]!.coordinate(), nodes[j]!.coordinate()) - truth) / truth)
    }
  }
  return out.sort((a, b) => a - b)
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

describe('vivaldi coordinates', () => {
  it('converge on a 20-node network of 3 clusters: small RTT error, settled error estimates, nearest peers in the own cluster', () => {
    const random = prng(12)
    const { nodes: truth, rtt } = network(random)
    const nodes = truth.map(() => vivaldi({ random }))
    const before = relativeErrors(nodes, rtt)
    const rounds = 100
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < nodes.length; i++) {
        let j = Math.floor(random() * (nodes.length - 1))
        if (j >= i) j++
        // ±5 % measurement noise
        const sample = rtt(i, j) * (1 + (random() - 0.5) * 0.1)
        nodes[i]!.observe(String(j), nodes[j]!.coordinate(), sample)
      }
    }
    const after = relativeErrors(nodes, rtt)
    const median = quantile(after, 0.5)
    const p90 = quantile(after, 0.9)
    assert.ok(quantile(before, 0.5) > 0.9, 'the start should be far off (all at the origin)')
    assert.ok(median < 0.05, `median relative error ${median.toFixed(3)} after ${rounds} rounds`)
    assert.ok(p90 < 0.25, `90th percentile relative error ${p90.toFixed(3)} after ${rounds} rounds`)
    for (const [i, n] of nodes.entries()) {
      assert.ok(n.coordinate().error < 0.3, `node ${i} error estimate ${n.coordinate().error.toFixed(3)}`)
      // the peer the coordinates say is nearest is one of the node's own cluster
      let nearest = -1
      let best = Infinity
      for (const [j, m] of nodes.entries()) {
        if (j === i) continue
        const d = estimateRttMs(n.coordinate(), m.coordinate())
        if (d < best) { best = d; nearest = j }
      }
      assert.equal(truth[nearest]!.cluster, truth[i]!.cluster, `node ${i}'s nearest by coordinates is in another cluster`)
    }
  })

  it('a sample longer than predicted pushes apart, a shorter one pulls together', () => {
    const a: Coordinate = { x: 0, y: 0, height: 1, error: 0.5 }
    const b: Coordinate = { x: 10, y: 0, height: 1, error: 0.5 }
    assert.equal(estimateRttMs(a, b), 12)
    const pushed = updateCoordinate(a, b, 50)
    assert.ok(estimateRttMs(pushed, b) > 12 && estimateRttMs(pushed, b) < 50)
    assert.ok(pushed.x < 0, 'moved away from b')
    const pulled = updateCoordinate(a, b, 4)
    assert.ok(estimateRttMs(pulled, b) < 12 && pulled.x > 0)
  })

  it('adaptive timestep: a confident node barely moves on a newcomer\'s sample, a newcomer moves a lot on a confident one\'s', () => {
    const settled: Coordinate = { x: 0, y: 0, height: 1, error: 0.05 }
    const newcomer: Coordinate = { x: 10, y: 0, height: 1, error: VIVALDI_ERROR_MAX }
    const settledAfter = updateCoordinate(settled, newcomer, 100)
    const newcomerAfter = updateCoordinate(newcomer, settled, 100)
    assert.ok(Math.abs(settledAfter.x) < 1, `settled node moved ${settledAfter.x}`)
    assert.ok(newcomerAfter.x - newcomer.x > 10, `newcomer moved only ${newcomerAfter.x - newcomer.x}`)
    // a sample that matches the prediction lowers the error estimate
    const right = updateCoordinate(newcomer, settled, estimateRttMs(newcomer, settled))
    assert.ok(right.error < newcomer.error)
  })

  it('two nodes in one place are pushed apart in a direction from the injected random', () => {
    const start = initialCoordinate()
    const moved = updateCoordinate(start, start, 20, { random: () => 0.25 })
    // angle π/2: straight along +y
    assert.ok(Math.abs(moved.x) < 1e-9 && moved.y > 0)
    assert.equal(moved.height, VIVALDI_HEIGHT_MIN_MS)
  })

  it('ignores bad samples and refuses invalid remote coordinates', () => {
    const a: Coordinate = { x: 1, y: 2, height: 1, error: 1 }
    const b: Coordinate = { x: 20, y: 2, height: 1, error: 1 }
    for (const rtt of [0, -5, Number.NaN, Infinity, 60_000]) assert.deepEqual(updateCoordinate(a, b, rtt), a)
    for (const bad of [{ x: Number.NaN, y: 0, height: 1, error: 1 }, { x: 1e9, y: 0, height: 1, error: 1 }, { x: 0, y: 0, height: -1, error: 1 }, { x: '1', y: 0, height: 1, error: 1 }, null, 'c']) {
      assert.equal(validCoordinate(bad), undefined)
      assert.deepEqual(updateCoordinate(a, bad as unknown as Coordinate, 30), a)
    }
    assert.deepEqual(validCoordinate({ x: 1, y: 2, height: 0, error: 9 }), { x: 1, y: 2, height: VIVALDI_HEIGHT_MIN_MS, error: VIVALDI_ERROR_MAX })
  })

  it('the per-peer median filter: one late reply among steady ones does not fling the coordinate', () => {
    const remote: Coordinate = { x: 30, y: 0, height: 1, error: 0.1 }
    const node = vivaldi({ start: { x: 0, y: 0, height: 1, error: 0.2 }, random: prng(1) })
    node.observe('p', remote, 32)
    node.observe('p', remote, 32)
    const steady = node.coordinate()
    node.observe('p', remote, 900)
    // the median of [32, 32, 900] is 32: the spike moved nothing much
    assert.ok(Math.abs(estimateRttMs(node.coordinate(), remote) - estimateRttMs(steady, remote)) < 1)
    assert.throws(() => vivaldi({ cc: 2 }), { name: 'InvalidCoordinateError' })
    assert.throws(() => vivaldi({ start: { x: Number.NaN, y: 0, height: 1, error: 1 } }), { name: 'InvalidCoordinateError' })
  })
})
