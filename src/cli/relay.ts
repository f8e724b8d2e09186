import { parseArgs } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import * as defaults from '../../relay/constants.ts'
import { loadOrCreateKey } from '../../relay/key-file.ts'
import { createRelay } from '../../relay/relay.ts'
import { parseRelayPeers } from '../../relay/relay-peers.ts'
import { UsageError, flagOrEnv, formatBytes, listFlagOrEnv, parseBytes, parseCount, parsePort } from './options.ts'

export const RELAY_HELP = `Usage: swarmsite relay [options]

Runs the swarm's relay: bootstrap peer, circuit-relay-v2 server, DHT server and gossip hub;
with --seed, also an always-on peer that serves one site's blocks.
Every option can also be set by the environment variable shown.

  --host <ip>               listen address (SWARMSITE_RELAY_HOST, default ${defaults.DEFAULT_RELAY_HOST})
  --ws-port <port>          WebSockets port, 0 for any (SWARMSITE_RELAY_WS_PORT, default ${defaults.DEFAULT_RELAY_WS_PORT})
  --tcp-port <port|none>    TCP port (SWARMSITE_RELAY_TCP_PORT, default ${defaults.DEFAULT_RELAY_TCP_PORT})
  --listen <multiaddr>      listen on exactly these, repeatable (SWARMSITE_RELAY_LISTEN, comma-separated)
  --announce <multiaddr>    advertise these instead, e.g. a public /dns4/…/tcp/443/wss (SWARMSITE_RELAY_ANNOUNCE)
  --key <file>              identity key, created mode 0600 on first run (SWARMSITE_RELAY_KEY, default ${defaults.DEFAULT_RELAY_KEY_FILE})
  --http-host <ip>          /health and /metrics address (SWARMSITE_RELAY_HTTP_HOST, default ${defaults.DEFAULT_RELAY_HTTP_HOST})
  --http-port <port|none>   /health and /metrics port (SWARMSITE_RELAY_HTTP_PORT, default ${defaults.DEFAULT_RELAY_HTTP_PORT})
  --max-reservations <n>    relay reservations held at once (SWARMSITE_RELAY_MAX_RESERVATIONS, default ${defaults.DEFAULT_MAX_RESERVATIONS})
  --max-connections <n>     open connections at most (SWARMSITE_RELAY_MAX_CONNECTIONS, default ${defaults.DEFAULT_MAX_CONNECTIONS})
  --peer <multiaddr>        another relay of the tier, ending in /p2p/<id>, repeatable: share the DHT and
                            bridge gossip with it; our own id is skipped (SWARMSITE_RELAY_PEERS, comma-separated)
  --protocol-prefix <p>     DHT protocol prefix, as the swarm's nodes use (SWARMSITE_RELAY_PROTOCOL_PREFIX, default /swarmsite)
  --topic-prefix <p>        gossip topics the relay joins (SWARMSITE_RELAY_TOPIC_PREFIX, default ${defaults.DEFAULT_TOPIC_PREFIX})
  --max-topics <n>          gossip topics joined at most (SWARMSITE_RELAY_MAX_TOPICS, default ${defaults.DEFAULT_MAX_TOPICS})
  --seed <dir>              also serve this site folder's blocks as an always-on peer (SWARMSITE_RELAY_SEED);
                            every file is checked against the manifest first: one that differs stops the relay
  --seed-manifest <file>    the seeded site's manifest (SWARMSITE_RELAY_SEED_MANIFEST, default <dir>/${defaults.DEFAULT_SEED_MANIFEST_FILE_NAME})
  --seed-store <dir>        keep the seeded blocks in a disk store there instead of memory (SWARMSITE_RELAY_SEED_STORE)
  --seed-upload-limit <n>   seeder upload cap, bytes per second, e.g. 8M (SWARMSITE_RELAY_SEED_UPLOAD_LIMIT, default none)
  --json                    print the relay's addresses as one JSON line
  -h, --help                show this help

Stops cleanly on SIGINT or SIGTERM.`

function checkMultiaddrs (flag: string, list: string[] | undefined): string[] | undefined {
  for (const value of list ?? []) {
    try { multiaddr(value) } catch (err: any) { throw new UsageError(`--${flag}: invalid multiaddr ${JSON.stringify(value)} (${err.message})`) }
  }
  return list
}

/** `swarmsite relay`: runs until SIGINT/SIGTERM. Resolves with the process exit code. */
export async function relayCommand (argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      host: { type: 'string' },
      'ws-port': { type: 'string' },
      'tcp-port': { type: 'string' },
      listen: { type: 'string', multiple: true },
      announce: { type: 'string', multiple: true },
      key: { type: 'string' },
      'http-host': { type: 'string' },
      'http-port': { type: 'string' },
      'max-reservations': { type: 'string' },
      'max-connections': { type: 'string' },
      peer: { type: 'string', multiple: true },
      'protocol-prefix': { type: 'string' },
      'topic-prefix': { type: 'string' },
      'max-topics': { type: 'string' },
      seed: { type: 'string' },
      'seed-manifest': { type: 'string' },
      'seed-store': { type: 'string' },
      'seed-upload-limit': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) {
    process.stdout.write(RELAY_HELP + '\n')
    return 0
  }
  const env = (name: string): string => `SWARMSITE_RELAY_${name.toUpperCase().replaceAll('-', '_')}`
  const flag = (name: string): string | undefined => flagOrEnv(values, name, env(name))
  const protocolPrefix = flag('protocol-prefix')
  if (protocolPrefix != null && !/^\/[\w.-]+(\/[\w.-]+)*$/.test(protocolPrefix)) {
    throw new UsageError(`--protocol-prefix must look like '/my-site', got ${JSON.stringify(protocolPrefix)}`)
  }
  const seedDir = flag('seed')
  const seedManifest = flag('seed-manifest')
  const seedStore = flag('seed-store')
  const seedUploadLimit = parseBytes('seed-upload-limit', flag('seed-upload-limit'))
  if (seedDir == null) {
    for (const [name, value] of [['seed-manifest', seedManifest], ['seed-store', seedStore], ['seed-upload-limit', seedUploadLimit]] as const) {
      if (value != null) throw new UsageError(`--${name} needs --seed <dir>`)
    }
  } else if (seedDir === '') {
    throw new UsageError('--seed needs a folder')
  }
  const init = {
    host: flag('host'),
    wsPort: parsePort('ws-port', flag('ws-port')) ?? undefined,
    tcpPort: parsePort('tcp-port', flag('tcp-port'), true),
    listen: checkMultiaddrs('listen', listFlagOrEnv(values, 'listen', env('listen'))),
    announce: checkMultiaddrs('announce', listFlagOrEnv(values, 'announce', env('announce'))),
    httpHost: flag('http-host'),
    httpPort: parsePort('http-port', flag('http-port'), true),
    maxReservations: parseCount('max-reservations', flag('max-reservations')),
    maxConnections: parseCount('max-connections', flag('max-connections')),
    peers: checkMultiaddrs('peer', listFlagOrEnv(values, 'peer', 'SWARMSITE_RELAY_PEERS')),
    protocolPrefix,
    topicPrefix: flag('topic-prefix'),
    maxTopics: parseCount('max-topics', flag('max-topics')),
    seed: seedDir == null
      ? undefined
      : { dir: seedDir, manifestPath: seedManifest, storePath: seedStore, uploadBytesPerSecond: seedUploadLimit }
  }
  // before the key file is made: bad flags create nothing
  parseRelayPeers(init.peers)
  if (init.host != null) checkMultiaddrs('host', [`/${init.host.includes(':') ? 'ip6' : 'ip4'}/${init.host}`])
  const keyFile = flag('key') ?? defaults.DEFAULT_RELAY_KEY_FILE
  const { key, created } = await loadOrCreateKey(keyFile)
  const relay = await createRelay({ ...init, privateKey: key })

  // listen for signals before printing the addresses: whoever reads them may signal at once,
  // and until then Node's default handler would kill the relay instead of stopping it
  const signalled = new Promise<void>(resolve => {
    const shutdown = (): void => {
      process.off('SIGINT', shutdown)
      process.off('SIGTERM', shutdown)
      resolve()
    }
    process.on('SIGINT', shutdown)
    process.on('SIGTERM', shutdown)
  })

  const addrs = relay.multiaddrs().map(String)
  const seed = relay.seeder?.info()
  if (values.json === true) {
    process.stdout.write(JSON.stringify({ peerId: relay.peerId.toString(), multiaddrs: addrs, http: relay.httpUrl ?? null, keyFile, keyCreated: created, seed: seed ?? null }) + '\n')
  } else {
    process.stdout.write(`swarmsite relay ${relay.peerId.toString()}${created ? ` (new identity saved to ${keyFile})` : ''}\n`)
    process.stdout.write(`dial it at:\n${addrs.map(a => `  ${a}`).join('\n')}\n`)
    if (relay.httpUrl != null) process.stdout.write(`health: ${relay.httpUrl}/health  metrics: ${relay.httpUrl}/metrics\n`)
    if (seed != null) {
      process.stdout.write(`seeding ${seed.files} files (${formatBytes(seed.bytes)}, ${seed.blocks} blocks) of site ${seed.siteId} (${seed.origin}) from ${seed.dir}, checked in ${seed.loadMs} ms, kept in ${seed.store}\n`)
    }
  }

  await signalled
  await relay.stop()
  if (values.json !== true) process.stdout.write('relay stopped\n')
  return 0
}
