import { Counter, Gauge, Registry } from 'prom-client'
import type { Libp2p } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

export interface RelayMetricsSources {
  libp2p: Pick<Libp2p, 'getConnections'>
  reservations(): number
  topics(): number
  datastore: Datastore
  dhtPrefix: string
}

export interface RelayMetrics {
  registry: Registry
  gossipMessage(topic: string, bytes: number): void
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
  const messages = new Counter({ name: 'swarmsite_relay_gossip_messages_total', help: 'Gossip messages received, by topic', labelNames: ['topic'], registers })
  const bytes = new Counter({ name: 'swarmsite_relay_gossip_bytes_total', help: 'Gossip payload bytes received, by topic', labelNames: ['topic'], registers })
  return {
    registry,
    gossipMessage (topic, size) {
      messages.inc({ topic })
      bytes.inc({ topic }, size)
    }
  }
}
