import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { pairBaseDelayMs } from '../../benchmarks/lib/dht-sim/latency.ts'
import { createSimNode, stopAll } from '../../benchmarks/lib/dht-sim/network.ts'
import { runSize } from '../../benchmarks/lib/dht-sim/run-size.ts'
import { lineChartSvg } from '../../benchmarks/lib/svg-line-chart.ts'
import type { SimNode } from '../../benchmarks/lib/dht-sim/network.ts'

describe('dht-sim latency model', () => {
  it('gives each pair one base delay, the same both ways, within [0.4, 1.4) × mean', () => {
    const model = { oneWayMeanMs: 20, seed: 7 }
    const bases: number[] = []
    for (let i = 0; i < 500; i++) {
      const a = `peer-a-${i}`
      const b = `peer-b-${i}`
      const base = pairBaseDelayMs(model, a, b)
      assert.equal(base, pairBaseDelayMs(model, b, a))
      assert.ok(base >= 0.4 * 20 && base < 1.4 * 20, `base ${base} out of range`)
      bases.push(base)
    }
    const mean = bases.reduce((x, y) => x + y, 0) / bases.length
    // base averages 0.9 × mean; the jitter adds the other 0.1
    assert.ok(Math.abs(mean - 18) < 1.5, `mean base ${mean}`)
    assert.equal(pairBaseDelayMs({ oneWayMeanMs: 0, seed: 7 }, 'a', 'b'), 0)
  })
})

describe('dht-sim nodes', () => {
  it('connect over the delayed memory transport with either stack', async () => {
    for (const stack of ['noise', 'plaintext'] as const) {
      const nodes: SimNode[] = []
      try {
        for (let i = 0; i < 2; i++) nodes.push(await createSimNode({ tag: `unit-${stack}-${process.pid}`, index: i, latency: { oneWayMeanMs: 5, seed: 1 }, stack }))
        await Promise.all(nodes.map(async node => node.start()))
        const connection = await nodes[0]!.dial(nodes[1]!.getMultiaddrs(), { signal: AbortSignal.timeout(10_000) })
        assert.ok(connection.remotePeer.equals(nodes[1]!.peerId), stack)
        assert.equal(connection.encryption, stack === 'noise' ? '/noise' : '/plaintext/2.0.0')
        const rtt = await nodes[0]!.services.ping.ping(nodes[1]!.peerId, { signal: AbortSignal.timeout(10_000) })
        assert.ok(Number.isFinite(rtt))
      } finally {
        await stopAll(nodes)
      }
    }
  })
})

describe('dht-sim run', () => {
  it('builds a 20-node network and every lookup succeeds', { timeout: 60_000 }, async () => {
    const result = await runSize({
      n: 20,
      lookups: 5,
      latencyMs: 2,
      stack: 'noise',
      maxConnections: 64,
      seed: 3,
      bootstrapDials: 3,
      joinConcurrency: 4,
      joinTimeoutMs: 20_000,
      lookupTimeoutMs: 10_000,
      provideTimeoutMs: 10_000,
      lookupConcurrency: 1,
      provideConcurrency: 2,
      buildBudgetMs: 60_000,
      rssLimitBytes: Number.MAX_SAFE_INTEGER,
      settleMs: 0,
      stopNodes: true
    })
    assert.equal(result.n, 20)
    assert.equal(result.reached, 20)
    assert.equal(result.stoppedBy, undefined)
    assert.equal(result.build.joinsFailed, 0)
    assert.equal(result.build.joinMs?.n, 19, 'every node but the first joins')
    assert.ok((result.network.routingTable?.min ?? 0) > 0, 'every node has peers in its routing table')
    assert.equal(result.provide.succeeded, 5)
    for (const kind of ['findProviders', 'findPeer'] as const) {
      const stats = result[kind]
      assert.equal(stats.attempted, 5, kind)
      assert.equal(stats.succeeded, 5, `${kind}: ${JSON.stringify(stats.errors)}`)
      assert.equal(stats.successRate, 1, kind)
      assert.equal(stats.ms?.n, 5, kind)
      assert.ok(stats.hops != null && stats.rpcs != null, kind)
    }
    for (const figure of [result.memory.rssPerNodeKiB, result.memory.heapPerNodeKiB, result.build.ms, result.settle.wallS, result.lookupCpu.wallS]) {
      assert.ok(Number.isFinite(figure))
    }
    assert.ok(result.memory.afterLookups != null)
  })
})

describe('svg line chart', () => {
  it('draws one path per series with more than one point, and a legend entry each', () => {
    const svg = lineChartSvg({
      title: 'a < b',
      xLabel: 'nodes',
      yLabel: 'ms',
      logX: true,
      series: [
        { name: 'p50', color: '#000', points: [[100, 10], [1000, 20]] },
        { name: 'p95', color: '#f00', dashed: true, points: [[100, 30]] }
      ]
    })
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/)
    assert.match(svg, /<\/svg>$/)
    assert.equal(svg.match(/<path /g)?.length, 1)
    assert.equal(svg.match(/<circle /g)?.length, 3)
    assert.ok(svg.includes('a &lt; b'))
    assert.ok(svg.includes('>p95</text>'))
  })
})
