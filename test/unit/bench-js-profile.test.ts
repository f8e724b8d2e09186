import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bundleModules, sumProfiles } from '../../benchmarks/lib/js-profile.ts'
import type { JsProfile } from '../../benchmarks/lib/js-profile.ts'

describe('bench js-profile', () => {
  it('finds the module markers of an esbuild bundle, node_modules behind a symlink included', () => {
    const script = [
      'var __defProp = Object.defineProperty;', // 0: prelude
      '// ../main/node_modules/@libp2p/gossipsub/dist/src/gossipsub.js', // 1
      'function heartbeat () {}',
      '// node_modules/it-queue/dist/src/index.js', // 3
      'function later () {}',
      '// src/node/relayed-connections.ts', // 5
      '// a comment that is no module marker',
      '// ../main/node_modules/@libp2p/kad-dht/node_modules/p-queue/dist/index.js' // 7
    ].join('\n')
    assert.deepEqual(bundleModules(script), {
      lines: [1, 3, 5, 7],
      names: ['@libp2p/gossipsub', 'it-queue', 'src/node/relayed-connections.ts', 'p-queue']
    })
  })

  it('adds up the profiles of several pages, by key', () => {
    const one = (ms: number): JsProfile => ({
      wallMs: 1000,
      busyMs: ms,
      selfByPackageMs: { '@libp2p/ping': ms },
      selfByFunctionMs: { '@libp2p/ping handlePing': ms },
      totalByFunctionMs: { '@libp2p/ping handlePing': ms, '(gc) (garbage collector)': 1 }
    })
    const sum = sumProfiles([one(2), one(3)])
    assert.equal(sum.wallMs, 2000)
    assert.equal(sum.busyMs, 5)
    assert.deepEqual(sum.selfByPackageMs, { '@libp2p/ping': 5 })
    assert.deepEqual(sum.totalByFunctionMs, { '@libp2p/ping handlePing': 5, '(gc) (garbage collector)': 2 })
  })
})
