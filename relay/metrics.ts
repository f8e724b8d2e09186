import { Counter, Gauge, Registry } from 'prom-client'
import type { Libp2p } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

export interface RelayMetricsSources {
  libp2p: Pick<Libp2p, 'getConnections'>
  reservations(): number
  topics(): number
  datastore: Datastore
  dhtPrefix: string
  /** What `--seed` serves, when the relay seeds a site. */
  seed?(): { files: number, bytes: number, blocks: number } | undefined
}

export interface RelayMetrics {
  registry: Registry
  gossipMessage(topic: string, bytes: number): void
  /** The seeder sent a block of `bytes` to a peer. */
  seedUpload(bytes: number): void
}

/**
 * The relay's own gauges, beside libp2p's (which @libp2p/prometheus-metrics adds to the
 * same registry): what a site operator watches.
 */
export function relayMetrics (sources: RelayMetricsSources, registry = new Registry()): RelayMetrics {
  const registers = [registry]
  new Gauge({
    name: 'swarmsite_relay_connections',
    help: 'Open connections by direction and whether they are relayed (limited)',
    labelNames: ['direction', 'limited'],
    registers,
    collect () {
      this.reset()
      for (const c of sources.libp2p.getConnections()) {
        this.inc({ direction: c.direction, limited: String(c.limits != null) })
      }
    }
  })
  new Gauge({
    name: 'swarmsite_relay_reservations',
    help: 'Circuit-relay reservations currently held by peers',
    registers,
    collect () { this.set(sources.reservations()) }
  })
  new Gauge({
    name: 'swarmsite_relay_gossip_topics',
    help: 'Gossipsub topics the relay has joined',
    registers,
    collect () { this.set(sources.topics()) }
  })
  new Gauge({
    name: 'swarmsite_relay_dht_provider_records',
    help: 'DHT provider records this relay stores',
    registers,
    async collect () {
      let n = 0
      for await (const _ of sources.datastore.queryKeys({ prefix: `${sources.dhtPrefix}/provider` })) n++
      this.set(n)
    }
  })
  new Gauge({
    name: 'swarmsite_relay_seed_files',
    help: 'Files of the site the relay seeds (--seed); 0 when it seeds none',
    registers,
    collect () { this.set(sources.seed?.()?.files ?? 0) }
  })
  new Gauge({
    name: 'swarmsite_relay_seed_bytes',
    help: 'Bytes of the files the relay seeds (--seed)',
    registers,
    collect () { this.set(sources.seed?.()?.bytes ?? 0) }
  })
  new Gauge({
    name: 'swarmsite_relay_seed_blocks',
    help: 'Distinct blocks the relay seeds (--seed)',
    registers,
    collect () { this.set(sources.seed?.()?.blocks ?? 0) }
  })
  const seedBytes = new Counter({ name: 'swarmsite_relay_seed_uploaded_bytes_total', help: 'Block bytes the seeder sent to peers', registers })
  const seedBlocks = new Counter({ name: 'swarmsite_relay_seed_uploaded_blocks_total', help: 'Blocks the seeder sent to peers', registers })
  const messages = new Counter({ name: 'swarmsite_relay_gossip_messages_total', help: 'Gossip messages received, by topic', labelNames: ['topic'], registers })
  const bytes = new Counter({ name: 'swarmsite_relay_gossip_bytes_total', help: 'Gossip payload bytes received, by topic', labelNames: ['topic'], registers })
  return {
    registry,
    gossipMessage (topic, size) {
      messages.inc({ topic })
      bytes.inc({ topic }, size)
    },
    seedUpload (size) {
      seedBytes.inc(size)
      seedBlocks.inc()
    }
  }
}
