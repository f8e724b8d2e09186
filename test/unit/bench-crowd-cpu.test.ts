import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { cpuBreakdownLines, cpuSection, jsProfileLines, splitFunctionKey } from '../../benchmarks/crowd/cpu-report.ts'
import { rendererSplit } from '../../benchmarks/crowd/machine.ts'
import { bundlePage } from '../../benchmarks/crowd/pages.ts'
import { profiledVisitors } from '../../benchmarks/crowd/profile.ts'
import { swarmSystem } from '../../benchmarks/crowd/systems/swarm.ts'
import { bundleModules, sumProfiles } from '../../benchmarks/lib/js-profile.ts'
import type { SystemRun } from '../../benchmarks/crowd/runner.ts'
import type { CpuMark } from '../../benchmarks/lib/cpu.ts'
import type { JsProfile } from '../../benchmarks/lib/js-profile.ts'

function run (extra: Partial<SystemRun> = {}): SystemRun {
  return {
    system: 'swarm',
    run: 1,
    startedAt: '2026-12-02T12:00:00.000Z',
    chromium: '156.0.0.0',
    setupMs: 5000,
    setupStepsMs: {},
    originPorts: 2,
    visitors: Array.from({ length: 4 }, (_, i) => ({ visitor: i, system: 'swarm', arrivedAtMs: i, scheduledAtMs: i, firstByteMs: 1, completeMs: 2, bytes: 1, fromPeers: 0, fromOrigin: 1, uploaded: 0, ok: true })),
    lastCompletionMs: 10_000,
    origin: { bytesServed: 4, requests: 4 },
    cpu: {
      wallS: 10,
      chromiumS: 12,
      chromiumByRoleS: { renderer: 9, browser: 2, network: 1 },
      chromiumTopThreadsS: { 'renderer:main': 6, 'renderer:WebRTC_Network': 2 },
      relayS: 1,
      driverS: 0.5,
      interruptsS: 0.2,
      otherProcessesS: 0,
      oursShare: 0.7,
      otherProcessesShare: 0
    },
    chromiumPssMiB: 500,
    pageErrors: [],
    errors: [],
    ...extra
  }
}

const profile: JsProfile = {
  wallMs: 20_000,
  busyMs: 4000,
  selfByPackageMs: { '@libp2p/gossipsub': 1000, '(gc)': 800, 'src/content/fetch/scheduler.ts': 200 },
  selfByFunctionMs: { '@libp2p/gossipsub heartbeat': 600, '(bundle prelude) __name': 5, 'a|b pipe': 1 },
  totalByFunctionMs: { 'src/swarm/swarm.ts onMessage': 1500, '(program) (program)': 900 }
}

describe('bench crowd CPU report', () => {
  it('picks profiled visitors spread over the arrival order, first and last included', () => {
    assert.deepEqual(profiledVisitors(20, 4), [0, 6, 13, 19])
    assert.deepEqual(profiledVisitors(20, 2), [0, 19])
    assert.deepEqual(profiledVisitors(20, 1), [9])
    assert.deepEqual(profiledVisitors(3, 5), [0, 1, 2])
    assert.deepEqual(profiledVisitors(20, 0), [])
    // distinct whenever n <= peers
    for (let peers = 1; peers <= 30; peers++) {
      for (let n = 1; n <= peers; n++) assert.equal(new Set(profiledVisitors(peers, n)).size, n, `${n} of ${peers}`)
    }
  })

  it('splits function keys, packages with a space included', () => {
    assert.deepEqual(splitFunctionKey('@libp2p/gossipsub heartbeat'), { pkg: '@libp2p/gossipsub', fn: 'heartbeat' })
    assert.deepEqual(splitFunctionKey('(bundle prelude) __name'), { pkg: '(bundle prelude)', fn: '__name' })
    assert.deepEqual(splitFunctionKey('(gc) (garbage collector)'), { pkg: '(gc)', fn: '(garbage collector)' })
    assert.deepEqual(splitFunctionKey('src/swarm/swarm.ts get stats'), { pkg: 'src/swarm/swarm.ts', fn: 'get stats' })
  })

  it('sums whole per-page profiles and cuts only the sum', () => {
    const page = (tail: string): JsProfile => ({ wallMs: 1, busyMs: 3, selfByPackageMs: { a: 2, [tail]: 1 }, selfByFunctionMs: {}, totalByFunctionMs: {} })
    // 'c' is each page's tail, so a per-page cut to one entry would lose it; the sum keeps it above 'b'
    const sum = sumProfiles([page('c'), page('c'), page('c'), { wallMs: 1, busyMs: 2.5, selfByPackageMs: { b: 2.5 }, selfByFunctionMs: {}, totalByFunctionMs: {} }], { packages: 2, functions: 1, total: 1 })
    assert.deepEqual(sum.selfByPackageMs, { a: 6, c: 3 })
  })

  it('writes CPU by role and thread per run, and nothing for results without them', () => {
    const lines = cpuBreakdownLines([run()])
    assert.equal(lines.length, 1)
    assert.match(lines[0]!, /^- swarm run 1: Chromium 12\.0 s over 10\.0 s \(1\.20 cores\)/)
    assert.match(lines[0]!, /By process role: renderer 9\.0, browser 2\.0, network 1\.0\./)
    assert.match(lines[0]!, /`renderer:main` 6\.0 \(0\.60 cores\), `renderer:WebRTC_Network` 2\.0 \(0\.20 cores\)/)
    const old = run()
    delete old.cpu!.chromiumByRoleS
    delete old.cpu!.chromiumTopThreadsS
    assert.deepEqual(cpuSection([old]), [])
  })

  it('writes the JS profile tables: packages, functions by self and by total time', () => {
    const r = run({ jsProfile: { system: 'swarm', visitors: [0, 3], samplingIntervalUs: 500, windowS: 10, jsBusyShare: 0.2, sum: profile, perPage: [] } })
    r.cpu!.renderers = { profiled: { processes: 2, mainS: 3, processS: 5, profilerS: 0.4 }, others: { processes: 2, mainS: 2, processS: 3, profilerS: 0 } }
    assert.match(cpuBreakdownLines([r])[1]!, /^ {2}Renderers of profiled pages: 2 processes, per process 2\.5 s \(main thread 1\.5 s, profiler thread 0\.2 s\); the other renderers: 2 processes, per process 1\.5 s \(main thread 1\.0 s\)\.$/)
    const md = jsProfileLines(r).join('\n')
    assert.match(md, /### swarm run 1: page JavaScript \(visitors 0, 3\)/)
    assert.match(md, /in 2 of the 4 pages over 10\.0 s each: 4\.0 s of non-idle samples on their JS threads, 2\.0 s per page \(20\.0 % of the window\)\. Samples are wall-clock time/)
    assert.match(md, /those pages' main threads used 1\.5 s of CPU each \(from \/proc\), so 1 % share ≈ 0\.01 CPU-s per page\./)
    assert.match(md, /\| `@libp2p\/gossipsub` \| 1000\.0 \| 25\.0 % \|/)
    assert.match(md, /\| `heartbeat` \| `@libp2p\/gossipsub` \| 600\.0 \| 15\.0 % \|/)
    assert.match(md, /\| `__name` \| `\(bundle prelude\)` \| 5\.0 \| 0\.1 % \|/)
    // a pipe in a name stays inside its cell
    assert.match(md, /\| `pipe` \| `a\\\|b` \| 1\.0 \|/)
    assert.match(md, /Top 30 functions by total time:\n\n\| function \| package or file \| total \(ms\) \| share \|\n\|---\|---\|---:\|---:\|\n\| `onMessage` \| `src\/swarm\/swarm\.ts` \| 1500\.0 \| 37\.5 % \|\n\| `\(program\)` \| `\(program\)` \| 900\.0 \| 22\.5 % \|/)
    const section = cpuSection([r], 2).join('\n')
    assert.match(section, /^## Where the CPU went\n\n\*\*Profiled runs are slower:\*\* with `--profile-pages 2`/)
  })

  it('tells profiled renderers (those with V8\'s profiler thread) from the others', () => {
    const mark = (at: number, k: number, profilerThread: boolean): CpuMark => ({
      at,
      chromium: new Map([[10, { role: 'renderer', s: 4 * k }], [20, { role: 'renderer', s: 2 * k }], [30, { role: 'browser', s: 9 * k }]]),
      threads: new Map([
        ['10/10', { key: 'renderer:main', s: 3 * k }],
        ...(profilerThread ? [['10/11', { key: 'renderer:v8:ProfEvntProc', s: 0.5 * k }] as const] : []),
        ['20/20', { key: 'renderer:main', s: 1 * k }],
        ['20/21', { key: 'renderer:WebRTC_W_and_N', s: 0.5 * k }],
        ['30/30', { key: 'browser:main', s: 9 * k }]
      ]),
      others: {},
      driver: 0,
      machine: { busy: 0, steal: 0, irq: 0 }
    })
    assert.equal(rendererSplit(mark(0, 1, false), mark(1000, 2, false)), undefined)
    assert.deepEqual(rendererSplit(mark(0, 1, true), mark(1000, 2, true)), {
      profiled: { processes: 1, mainS: 3, processS: 4, profilerS: 0.5 },
      others: { processes: 1, mainS: 1, processS: 2, profilerS: 0 }
    })
  })

  it('bundles the swarm page unminified with module markers for profiling, and minified without', async () => {
    const driver = swarmSystem()
    const plain = bundleModules(await bundlePage(driver, { minify: false }))
    assert.ok(plain.names.includes('@libp2p/gossipsub'), 'gossipsub modules are marked')
    assert.ok(plain.names.includes('@chainsafe/libp2p-yamux'), 'yamux modules are marked')
    assert.ok(plain.names.some(n => n.startsWith('src/content/')), 'our src/content files are marked')
    assert.ok(plain.names.includes('benchmarks/crowd/systems/swarm-page.ts'), 'the page entry is marked')
    assert.equal(bundleModules(await bundlePage(driver)).lines.length, 0)
  })
})
