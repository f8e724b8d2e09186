import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { kumarRossBound } from '../../benchmarks/crowd/bound.ts'
import { charts, markdownReport, summarizeCrowd, summarizeSystem, terminalReport } from '../../benchmarks/crowd/report.ts'
import { arrivalSchedule } from '../../benchmarks/crowd/runner.ts'
import { bytesChart, cdfChart, niceTicks } from '../../benchmarks/crowd/svg.ts'
import { parseDuration, parseRate, parseSize } from '../../benchmarks/crowd/units.ts'
import type { CrowdResult } from '../../benchmarks/crowd/report.ts'
import type { CrowdVisitor, SystemRun } from '../../benchmarks/crowd/runner.ts'

const MiB = 1024 * 1024
const F = 4 * MiB

function visitor (system: string, i: number, arrivedAtMs: number, completeMs: number, fromPeers: number, ok = true): CrowdVisitor {
  return {
    visitor: i,
    system,
    arrivedAtMs,
    scheduledAtMs: arrivedAtMs,
    firstByteMs: completeMs / 10,
    completeMs,
    bytes: ok ? F : 0,
    fromPeers: ok ? fromPeers : 0,
    fromOrigin: ok ? F - fromPeers : 0,
    uploaded: fromPeers,
    ok,
    ...(ok ? {} : { error: 'no result within the run deadline (60 s)' })
  }
}

function run (system: string, n: number, visitors: CrowdVisitor[], lastCompletionMs: number | null): SystemRun {
  return {
    system,
    run: n,
    startedAt: '2026-11-27T12:00:00.000Z',
    chromium: '156.0.0.0',
    setupMs: 5000,
    setupStepsMs: {},
    originPorts: 2,
    visitors,
    lastCompletionMs,
    origin: { bytesServed: visitors.reduce((s, v) => s + v.fromOrigin, 0) + 1000, requests: 10 },
    cpu: { wallS: 10, chromiumS: 8, relayS: 1, driverS: 1, interruptsS: 0.5, otherProcessesS: 2, oursShare: 0.5, otherProcessesShare: 0.1 },
    chromiumPssMiB: 500,
    pageErrors: [],
    errors: []
  }
}

/** Four visitors, two runs of swarm (one with a failure), one of http. */
function sample (): CrowdResult {
  const bound = kumarRossBound({ fileBytes: F, peers: 4, serverBytesPerSecond: 2 * MiB, peerUploadBytesPerSecond: MiB })
  return {
    benchmark: 'crowd',
    scenario: 'flash-crowd',
    date: '2026-11-27T12:00:00.000Z',
    options: { peers: 4, sizeBytes: F, originBytesPerSecond: 2 * MiB, uploadBytesPerSecond: MiB, arrival: { kind: 'window', ms: 1000 }, runs: 2, systems: ['swarm', 'http', 'webtorrent'], runTimeoutMs: 60_000, originPorts: 2, renice: true },
    asset: { path: 'asset.bin', size: F, sha256: 'ab'.repeat(32) },
    bound,
    machine: { os: 'Linux', cpuModel: 'Test CPU', cpus: 2, totalMemoryGiB: 8, node: 'v24', chromium: '156', loadAverageAtStart: [1, 1, 1], busyShareBeforeStart: 0.02, otherProcessesAtStart: [] },
    code: { commit: '0123456789abcdef', uncommitted: [] },
    skipped: [{ system: 'webtorrent', reason: 'benchmarks/crowd/systems/webtorrent.ts is not there (yet)' }],
    runs: [
      run('swarm', 1, [visitor('swarm', 0, 0, 2000, 0), visitor('swarm', 1, 300, 3000, 2 * MiB), visitor('swarm', 2, 600, 4000, 3 * MiB), visitor('swarm', 3, 1000, 5000, 3 * MiB)], 6000),
      run('http', 1, [visitor('http', 0, 0, 6000, 0), visitor('http', 1, 300, 7000, 0), visitor('http', 2, 600, 7500, 0), visitor('http', 3, 1000, 7000, 0)], 8000),
      run('swarm', 2, [visitor('swarm', 0, 0, 2500, 0), visitor('swarm', 1, 300, 3500, 2 * MiB), visitor('swarm', 2, 600, 4500, 4 * MiB), visitor('swarm', 3, 1000, 60_000, 0, false)], null)
    ]
  }
}

/** A small XML well-formedness check: balanced tags, quoted attributes, no stray `<` or `&`. */
function assertWellFormedXml (xml: string): void {
  const stack: string[] = []
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y
  let i = 0
  let roots = 0
  while (i < xml.length) {
    const lt = xml.indexOf('<', i)
    const text = xml.slice(i, lt < 0 ? xml.length : lt)
    assert.doesNotMatch(text, /&(?!(amp|lt|gt|quot|apos|#\d+);)/, `unescaped & in ${JSON.stringify(text)}`)
    assert.doesNotMatch(text, />/, `stray > in ${JSON.stringify(text)}`)
    if (lt < 0) break
    tag.lastIndex = lt
    const m = tag.exec(xml)
    assert.ok(m != null, `malformed tag at ${lt}: ${xml.slice(lt, lt + 80)}`)
    const [all, close, name, , selfClose] = m
    if (close === '/') assert.equal(stack.pop(), name, `</${name}> closes the wrong element`)
    else if (selfClose !== '/') {
      if (stack.length === 0) roots++
      stack.push(name!)
    } else if (stack.length === 0) roots++
    i = lt + all.length
  }
  assert.deepEqual(stack, [], 'unclosed elements')
  assert.equal(roots, 1, 'one root element')
}

describe('crowd benchmark report', () => {
  it('aggregates a system over its runs: offload, completion percentiles, last completion, bound', () => {
    const r = sample()
    const swarm = summarizeSystem('swarm', r.runs, r.bound.seconds)
    assert.equal(swarm.runs, 2)
    assert.equal(swarm.visitors, 8)
    assert.equal(swarm.ok, 7)
    // ok visitors: peers 0+2+3+3+0+2+4 = 14 MiB of 7 × 4 = 28 MiB
    assert.equal(swarm.fromPeersBytes, 14 * MiB)
    assert.equal(swarm.fromOriginBytes, 14 * MiB)
    assert.equal(swarm.offloadRatio, 0.5)
    assert.deepEqual([swarm.completionMs?.n, swarm.completionMs?.min, swarm.completionMs?.p50, swarm.completionMs?.max], [7, 2000, 3500, 5000])
    // only run 1 had every visitor ok: its last completion counts
    assert.equal(swarm.lastCompletionMs, 6000)
    // bound: max(4/2, 4·4/(2 + 4)) = 2.67 s
    assert.equal(r.bound.seconds, 16 / 6)
    assert.equal(swarm.lastToBound, Number((6 / (16 / 6)).toFixed(2)))
    assert.equal(swarm.cpuSeconds, 10)
    assert.equal(swarm.cpuSecondsPerMiB, Number((10 / (7 * 4 / 2)).toFixed(3)))
    assert.equal(swarm.otherProcessesShare, 0.1)
    assert.equal(swarm.errors.length, 1)
    assert.match(swarm.errors[0]!, /visitor 3 \(run 2\): no result/)
    const http = summarizeSystem('http', r.runs, r.bound.seconds)
    assert.equal(http.offloadRatio, 0)
    assert.equal(http.completionMs?.p50, 7000)
    assert.equal(http.lastCompletionMs, 8000)
    assert.equal(http.originSentBytes, 4 * F + 1000)
  })

  it('compares swarm with each other system: p50, max and last completion ratios', () => {
    const s = summarizeCrowd(sample())
    assert.deepEqual(s.systems.map(x => x.system), ['swarm', 'http'])
    assert.deepEqual(s.comparisons, [{ other: 'http', p50: Number((3500 / 7000).toFixed(2)), max: Number((5000 / 7500).toFixed(2)), last: 0.75 }])
  })

  it('has no ratio to a zero bound (uncapped origin) and no comparison without swarm', () => {
    const r = sample()
    r.bound = kumarRossBound({ fileBytes: F, peers: 4, serverBytesPerSecond: Infinity, peerUploadBytesPerSecond: MiB })
    r.options.originBytesPerSecond = null
    const s = summarizeCrowd(r)
    assert.equal(s.systems[0]!.lastToBound, null)
    assert.match(markdownReport(r, s), /nothing is capped/)
    r.runs = r.runs.filter(x => x.system === 'http')
    assert.deepEqual(summarizeCrowd(r).comparisons, [])
  })

  it('writes a markdown report with the table, ratios, bound, skipped systems and failures', () => {
    const r = sample()
    const s = summarizeCrowd(r)
    const md = markdownReport(r, s, { completion: 'x-completion.svg', bytes: 'x-bytes.svg' })
    const rows = md.split('\n').filter(l => l.startsWith('|'))
    assert.equal(rows.length, 4) // header, rule, swarm, http
    const cells = (line: string): string[] => line.split('|').slice(1, -1).map(c => c.trim())
    const header = cells(rows[0]!)
    assert.equal(header.length, cells(rows[1]!).length)
    for (const row of rows.slice(2)) assert.equal(cells(row).length, header.length)
    const swarm = Object.fromEntries(header.map((h, i) => [h, cells(rows[2]!)[i]]))
    assert.equal(swarm.system, 'swarm')
    assert.equal(swarm.ok, '7/8')
    assert.equal(swarm['from peers'], '50 %')
    assert.equal(swarm['done p50 (s)'], '3.50')
    assert.equal(swarm['max (s)'], '5.00')
    assert.equal(swarm['last done (s)'], '6.00')
    assert.equal(swarm['last ÷ bound'], '2.25')
    assert.match(md, /swarm \/ http: completion p50 0\.50, max 0\.67, last done 0\.75/)
    assert.match(md, /Kumar–Ross bound: .*= \*\*2\.67 s\*\*/)
    assert.match(md, /Skipped \*\*webtorrent\*\*/)
    assert.match(md, /visitor 3 \(run 2\)/)
    assert.match(md, /!\[completion time CDF\]\(x-completion\.svg\)/)
    assert.match(md, /Other load/)
    const term = terminalReport(r, s)
    assert.match(term, /^swarm +7\/8 +50 %/m)
    assert.match(term, /skipped webtorrent/)
    assert.match(term, /warning: other processes took 10 %/)
  })

  it('draws well-formed SVG: a CDF step line per system with the bound, stacked bars by source', () => {
    const r = sample()
    const s = summarizeCrowd(r)
    const { completion, bytes } = charts(r, s)
    assertWellFormedXml(completion)
    assertWellFormedXml(bytes)
    assert.match(completion, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
    assert.equal(completion.match(/<path /g)?.length, 2)
    assert.match(completion, /bound 2\.7 s/)
    assert.match(completion, /swarm \(7\/8\)/)
    assert.match(bytes, /50 % from peers/)
    assert.match(bytes, /0 % from peers/)
    // names are escaped, empty input still draws
    const odd = cdfChart([{ name: 'a<b & "c"', valuesMs: [], of: 3 }], { title: 'x & y' })
    assertWellFormedXml(odd)
    assert.match(odd, /a&lt;b &amp; &quot;c&quot;/)
    assertWellFormedXml(bytesChart([], { title: 'none' }))
  })

  it('chooses round axis ticks', () => {
    assert.deepEqual(niceTicks(9.3), [0, 2, 4, 6, 8, 10])
    assert.deepEqual(niceTicks(160), [0, 50, 100, 150, 200])
    assert.deepEqual(niceTicks(1), [0, 0.2, 0.4, 0.6, 0.8, 1])
    assert.deepEqual(niceTicks(0), [0, 1])
  })
})

describe('crowd benchmark arrivals and units', () => {
  it('spreads arrivals over a window or at an interval', () => {
    assert.deepEqual(arrivalSchedule('window', 2000, 5), [0, 500, 1000, 1500, 2000])
    assert.deepEqual(arrivalSchedule('window', 2000, 1), [0])
    assert.deepEqual(arrivalSchedule('interval', 3000, 4), [0, 3000, 6000, 9000])
    assert.throws(() => arrivalSchedule('window', -1, 3), RangeError)
    assert.throws(() => arrivalSchedule('window', 100, 0), RangeError)
  })

  it('reads sizes, rates and durations', () => {
    assert.equal(parseSize('16MiB', 'size'), 16 * MiB)
    assert.equal(parseSize('512k', 'size'), 512 * 1024)
    assert.equal(parseSize('1MB', 'size'), 1_000_000)
    assert.equal(parseSize('1000', 'size'), 1000)
    assert.throws(() => parseSize('lots', 'size'), /--size/)
    assert.equal(parseRate('2MiB/s', 'rate'), 2 * MiB)
    assert.equal(parseRate('none', 'rate'), Infinity)
    assert.equal(parseRate('0', 'rate'), 0)
    assert.equal(parseDuration('2000', 'arrival', 'ms'), 2000)
    assert.equal(parseDuration('2s', 'arrival', 'ms'), 2000)
    assert.equal(parseDuration('600', 'timeout', 's'), 600_000)
    assert.equal(parseDuration('10m', 'timeout', 's'), 600_000)
    assert.throws(() => parseDuration('soon', 'timeout', 's'), /--timeout/)
  })
})
