// Components log through the logger they are given (libp2p's `components.logger`), so the
// lines of several nodes in one process can be told apart; without one they log as before,
// under their plain `swarmsite:*` names.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { availability } from '../../src/content/availability/index.ts'
import { createMemoryBlockstore } from '../../src/content/blockstore/memory.ts'
import { ContentCore } from '../../src/content/core.ts'
import { contentCoreParts } from '../../src/content/core-parts.ts'
import { blockExchange } from '../../src/content/exchange/block-exchange.ts'
import { dhtModeController } from '../../src/node/dht-mode.ts'
import { createSwarmNode } from '../../src/node/swarm-node.ts'
import type { Manifest } from '../../src/content/manifest-types.ts'
import type { DhtMode } from '../../src/node/events.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { ComponentLogger, Libp2p, Logger } from '@libp2p/interface'

/** A logger that names its node and keeps every line it is asked to write (and the components asked for). */
function recordingLogger (node: string): ComponentLogger & { components: string[], lines: string[] } {
  const components: string[] = []
  const lines: string[] = []
  return {
    components,
    lines,
    forComponent (name: string): Logger {
      components.push(name)
      const base = defaultLogger().forComponent(`${node}:${name}`)
      const log = Object.assign((formatter: any, ...args: any[]) => { lines.push(`${node}:${name} ${String(formatter)}`); base(formatter, ...args) }, {
        enabled: true,
        trace: (formatter: any) => { lines.push(`${node}:${name} trace ${String(formatter)}`) },
        error: (formatter: any) => { lines.push(`${node}:${name} error ${String(formatter)}`) },
        newScope: (scope: string) => base.newScope(scope)
      })
      return log as unknown as Logger
    }
  }
}

const stubLibp2p = {
  handle: async () => {},
  unhandle: async () => {},
  getConnections: () => [],
  hangUp: async () => {}
} as unknown as Pick<Libp2p, 'handle' | 'unhandle' | 'getConnections' | 'hangUp'>

const stubPubsub = {} as unknown as GossipSub

describe('loggers per component instance', () => {
  it('two DHT-mode controllers log their lines through their own node\'s logger', () => {
    const started = ['a', 'b'].map(node => {
      const logger = recordingLogger(node)
      let mode: DhtMode = 'server'
      const controller = dhtModeController({ mode: 'auto', serverAfterMs: 60_000, onChange: () => {} })({
        dht: { getMode: () => mode, setMode: async (m) => { mode = m } },
        isReachable: () => false,
        onAddressChange: () => () => {},
        logger
      })
      controller.start() // unreachable in 'server' mode: switches to client, and says so
      controller.stop()
      return logger
    })
    assert.deepEqual(started.map(l => l.lines), [['a:swarmsite:dht-mode switching DHT to %s mode'], ['b:swarmsite:dht-mode switching DHT to %s mode']])
  })

  it('the block exchange and availability take their loggers from their components', async () => {
    const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const logger = recordingLogger('n')
    blockExchange()({ libp2p: stubLibp2p, getServableBlock: async () => undefined, takeUpload: async () => {}, logger })
    availability({ siteId: 'site' })({ peerId, pubsub: stubPubsub, logger })
    assert.deepEqual(logger.components, ['swarmsite:exchange', 'swarmsite:exchange:session', 'swarmsite:exchange:serve', 'swarmsite:availability'])
  })

  it('the content core hands its node\'s logger to the parts it attaches', async () => {
    const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const logger = recordingLogger('n')
    const manifest = { version: 1, siteId: 'site', origin: 'https://example.org/', files: [] } as unknown as Manifest
    const core = new ContentCore({ manifest, blockstore: createMemoryBlockstore() })
    core.attach({ peerId, libp2p: stubLibp2p, pubsub: stubPubsub, logger }, contentCoreParts)
    assert.deepEqual(logger.components.sort(), ['swarmsite:availability', 'swarmsite:exchange', 'swarmsite:exchange:serve', 'swarmsite:exchange:session'])
  })

  it('a swarm node gives libp2p its `logger`, and the node and its parts log through it', async () => {
    const relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const logger = recordingLogger('tab-1')
    const node = await createSwarmNode({ bootstrap: [`/ip4/127.0.0.1/tcp/9/ws/p2p/${relay}`], logger })
    assert.equal(node.libp2p.logger, logger)
    for (const name of ['libp2p', 'swarmsite:node', 'swarmsite:connection-policy', 'swarmsite:relay-keeper', 'swarmsite:dht-mode', 'swarmsite:relayed-connections']) {
      assert.ok(logger.components.includes(name), `${name} is not among ${logger.components.join(', ')}`)
    }
  })
})
