import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { spawnCli, startRelayProcess } from '../helpers/relay-process.ts'
import { waitFor } from '../helpers/wait.ts'
import type { CliRun, RelayProcess, RelayProcessOptions } from '../helpers/relay-process.ts'
import type { AddressInfo, Server } from 'node:net'

/**
 * Longest a CLI run may take to start or to exit by itself before it is killed and the test
 * fails. Generous: a run takes 1-2 s, but several times that on a loaded 2-core machine.
 */
const EXIT_TIMEOUT_MS = 60_000

/** Bad-flag runs at once: each loads the whole libp2p stack. */
const PARALLEL_RUNS = 3

describe('swarmsite relay CLI (real process on 127.0.0.1)', { timeout: 300_000 }, () => {
  let dir: string
  const runs: CliRun[] = []
  const relays: RelayProcess[] = []
  const servers: Server[] = []

  /** Spawns the CLI in the temp dir (so a default key file never lands in the repository). */
  const cli = (args: string[], env: Record<string, string> = {}): CliRun => {
    const run = spawnCli(args, { cwd: dir, env })
    runs.push(run)
    return run
  }

  /** Waits (bounded) for a run to exit by itself; a run that had to be killed fails the test. */
  const finished = async (run: CliRun): Promise<{ code: number | null, stdout: string, stderr: string }> => {
    const { code, signal } = await run.kill(EXIT_TIMEOUT_MS)
    assert.equal(signal, null, `the CLI did not exit by itself within ${EXIT_TIMEOUT_MS} ms; stderr: ${run.stderr()}`)
    return { code, stdout: run.stdout(), stderr: run.stderr() }
  }

  const relay = async (options: RelayProcessOptions = {}): Promise<RelayProcess> => {
    const r = await startRelayProcess({ timeoutMs: EXIT_TIMEOUT_MS, ...options })
    relays.push(r)
    return r
  }

  /** Signals a relay and waits (bounded) for it to exit by itself; returns its exit code and signal. */
  const signalRelay = async (r: RelayProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null, signal: NodeJS.Signals | null }> => {
    if (r.child.exitCode != null || r.child.signalCode != null) return { code: r.child.exitCode, signal: r.child.signalCode }
    const exited = once(r.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
    r.child.kill(signal)
    const timer = setTimeout(() => r.child.kill('SIGKILL'), EXIT_TIMEOUT_MS)
    const [code, killedBy] = await exited
    clearTimeout(timer)
    await r.stop()
    return { code, signal: killedBy }
  }

  /** Waits (bounded) for a `--json` run's first line; fails with its stderr if it exits first. */
  const jsonLine = async (run: CliRun): Promise<any> => {
    await waitFor('the relay\'s JSON line', () => run.stdout().includes('\n') || run.child.exitCode != null, EXIT_TIMEOUT_MS)
    assert.ok(run.stdout().includes('\n'), `the relay exited with ${run.child.exitCode}: ${run.stderr()}`)
    return JSON.parse(run.stdout().split('\n')[0]!)
  }

  /** A TCP server holding a free port on 127.0.0.1, closed in teardown. */
  const occupyPort = async (): Promise<number> => {
    const server = createServer()
    servers.push(server)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return (server.address() as AddressInfo).port
  }

  function assertOneLineError (result: { code: number | null, stdout: string, stderr: string }, mentions: string | RegExp): void {
    const lines = result.stderr.split('\n')
    assert.equal(lines.length, 2, `exactly one stderr line ending in a newline, got ${JSON.stringify(result.stderr)}`)
    assert.equal(lines[1], '')
    assert.ok(lines[0]!.startsWith('swarmsite: error: '), lines[0])
    if (typeof mentions === 'string') assert.ok(lines[0]!.includes(mentions), `${JSON.stringify(lines[0])} should mention ${JSON.stringify(mentions)}`)
    else assert.match(lines[0]!, mentions)
    assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace')
    assert.notEqual(result.code, 0)
    assert.equal(result.code, 2, 'a known configuration error exits with 2')
    assert.equal(result.stdout, '', 'nothing on stdout')
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-relay-cli-'))
  })

  after(async () => {
    // every process this file started: still-running CLI runs are killed at once, relays get SIGTERM then SIGKILL
    await Promise.all(runs.map(async run => run.kill(0)))
    await Promise.all(relays.map(async r => r.stop()))
    await Promise.all(servers.map(async server => new Promise<void>(resolve => { server.close(() => { resolve() }) })))
    await rm(dir, { recursive: true, force: true })
  })

  it('relay --help exits 0 and prints the usage with every option', async () => {
    for (const flag of ['--help', '-h']) {
      const result = await finished(cli(['relay', flag]))
      assert.equal(result.code, 0)
      assert.equal(result.stderr, '')
      assert.match(result.stdout, /^Usage: swarmsite relay \[options\]/)
      for (const option of ['--host', '--ws-port', '--tcp-port', '--listen', '--announce', '--key', '--http-host', '--http-port', '--max-reservations', '--max-connections', '--peer', 'SWARMSITE_RELAY_PEERS', '--json', 'SWARMSITE_RELAY_WS_PORT', 'SIGTERM']) {
        assert.ok(result.stdout.includes(option), `help mentions ${option}`)
      }
    }
  })

  it('swarmsite --help exits 0; no command prints the usage and exits non-zero', async () => {
    const help = await finished(cli(['--help']))
    assert.equal(help.code, 0)
    assert.match(help.stdout, /^Usage: swarmsite <command>/)
    assert.match(help.stdout, /relay/)
    const none = await finished(cli([]))
    assert.notEqual(none.code, 0)
    assert.match(none.stdout, /^Usage: swarmsite <command>/)
  })

  it('bad flags and values end with one "swarmsite: error:" line, a non-zero exit and no stack trace', async (t) => {
    const keyDir = join(dir, 'a-directory')
    await mkdir(keyDir)
    const garbageKey = join(dir, 'garbage.key')
    await writeFile(garbageKey, 'not a key at all\n', { mode: 0o600 })
    // these would start a real relay if a bad flag slipped through: keep it on loopback, any port
    const base = ['relay', '--host', '127.0.0.1', '--ws-port', '0', '--tcp-port', 'none', '--http-port', 'none', '--key', join(dir, 'bad-flags.key')]
    const cases: Array<{ args: string[], mentions: string | RegExp }> = [
      { args: ['--listen', 'not-a-multiaddr'], mentions: 'not-a-multiaddr' },
      { args: ['--announce', '/dns4'], mentions: '--announce' },
      { args: ['--ws-port', '99999'], mentions: '99999' },
      { args: ['--ws-port', 'none'], mentions: '--ws-port' },
      { args: ['--http-port', '-1'], mentions: '--http-port' },
      { args: ['--ws-port'], mentions: '--ws-port' },
      { args: ['--json=yes'], mentions: '--json' },
      { args: ['--max-reservations', '0'], mentions: '--max-reservations' },
      { args: ['--peer', '/ip4/127.0.0.1/tcp/9091'], mentions: '--peer' },
      { args: ['--peer', 'nope'], mentions: '--peer' },
      { args: ['--max-connections', '1.5'], mentions: '--max-connections' },
      { args: ['--protocol-prefix', 'no-slash'], mentions: '--protocol-prefix' },
      { args: ['--host', 'not-an-ip'], mentions: 'not-an-ip' },
      { args: ['--bogus'], mentions: '--bogus' },
      { args: ['stray-positional'], mentions: 'stray-positional' },
      { args: ['--key', keyDir], mentions: keyDir },
      { args: ['--key', garbageKey], mentions: garbageKey }
    ]
    for (let i = 0; i < cases.length; i += PARALLEL_RUNS) {
      const batch = cases.slice(i, i + PARALLEL_RUNS)
      const results = await Promise.all(batch.map(async ({ args }) => finished(cli([...base, ...args]))))
      for (const [j, result] of results.entries()) {
        await t.test(batch[j]!.args.join(' '), () => { assertOneLineError(result, batch[j]!.mentions) })
      }
    }
    const unknownCommand = await finished(cli(['nope']))
    assertOneLineError(unknownCommand, '"nope"')
    await assert.rejects(stat(join(dir, 'bad-flags.key')), { code: 'ENOENT' }, 'no key is created when the flags are bad')
  })

  it('a WebSockets port already in use is one error line, and the process exits by itself', async () => {
    const port = await occupyPort()
    const result = await finished(cli(['relay', '--host', '127.0.0.1', '--ws-port', String(port), '--tcp-port', '0', '--http-port', '0', '--key', join(dir, 'busy.key')]))
    assertOneLineError(result, /already in use/)
    assert.ok(result.stderr.includes(`/tcp/${port}/ws`), 'names the busy address')
  })

  it('a TCP or HTTP port already in use is one error line too', async () => {
    const port = await occupyPort()
    const tcp = await finished(cli(['relay', '--host', '127.0.0.1', '--ws-port', '0', '--tcp-port', String(port), '--http-port', '0', '--key', join(dir, 'busy.key')]))
    assertOneLineError(tcp, /already in use/)
    const http = await finished(cli(['relay', '--host', '127.0.0.1', '--ws-port', '0', '--tcp-port', 'none', '--http-host', '127.0.0.1', '--http-port', String(port), '--key', join(dir, 'busy.key')]))
    assertOneLineError(http, `HTTP port ${port}`)
  })

  it('takes its settings from SWARMSITE_RELAY_* environment variables', async () => {
    const keyFile = join(dir, 'env', 'relay.key')
    const run = cli(['relay', '--json'], {
      SWARMSITE_RELAY_HOST: '127.0.0.1',
      SWARMSITE_RELAY_WS_PORT: '0',
      SWARMSITE_RELAY_TCP_PORT: 'none',
      SWARMSITE_RELAY_HTTP_HOST: '127.0.0.1',
      SWARMSITE_RELAY_HTTP_PORT: '0',
      SWARMSITE_RELAY_KEY: keyFile
    })
    const info = await jsonLine(run)
    assert.equal(info.keyFile, keyFile)
    assert.equal(info.keyCreated, true)
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600)
    assert.equal(info.multiaddrs.length, 1, `SWARMSITE_RELAY_TCP_PORT=none leaves only WebSockets: ${info.multiaddrs}`)
    assert.match(info.multiaddrs[0], new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/ws/p2p/${info.peerId}$`))
    assert.doesNotMatch(info.multiaddrs[0], /\/tcp\/0\//, 'port 0 means any free port')
    assert.match(info.http, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.doesNotMatch(info.http, /:9092$/, 'not the default HTTP port')
    const health = await (await fetch(`${info.http}/health`)).json()
    assert.equal(health.peerId, info.peerId)
    run.child.kill('SIGTERM')
    const { code } = await finished(run)
    assert.equal(code, 0)
  })

  it('flags win over environment variables; SWARMSITE_RELAY_LISTEN takes a comma-separated list', async () => {
    const run = cli(['relay', '--json', '--http-port', '0', '--key', join(dir, 'env2.key')], {
      SWARMSITE_RELAY_HTTP_PORT: 'none',
      SWARMSITE_RELAY_LISTEN: '/ip4/127.0.0.1/tcp/0/ws,/ip4/127.0.0.1/tcp/0'
    })
    const info = await jsonLine(run)
    assert.notEqual(info.http, null, '--http-port 0 beats SWARMSITE_RELAY_HTTP_PORT=none')
    assert.equal(info.multiaddrs.filter((a: string) => a.includes('/ws/')).length, 1)
    assert.equal(info.multiaddrs.filter((a: string) => !a.includes('/ws/')).length, 1)
    run.child.kill('SIGTERM')
    assert.equal((await finished(run)).code, 0)
  })

  it('a bad environment variable is reported like a bad flag', async () => {
    const result = await finished(cli(['relay'], { SWARMSITE_RELAY_WS_PORT: 'eighty', SWARMSITE_RELAY_KEY: join(dir, 'env3.key') }))
    assertOneLineError(result, '"eighty"')
  })

  it('keeps the same peer id across restarts with the same --key', async () => {
    const keyFile = join(dir, 'restart', 'relay.key')
    const first = await relay({ keyFile })
    assert.equal(first.keyCreated, true)
    assert.deepEqual(await signalRelay(first), { code: 0, signal: null })
    const second = await relay({ keyFile })
    assert.equal(second.keyCreated, false)
    assert.equal(second.peerId, first.peerId)
    assert.ok(second.ws.endsWith(`/p2p/${first.peerId}`))
    assert.deepEqual(await signalRelay(second), { code: 0, signal: null })
    const other = await relay()
    assert.notEqual(other.peerId, first.peerId, 'another key file, another identity')
    assert.deepEqual(await signalRelay(other), { code: 0, signal: null })
  })

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} stops the relay with exit code 0`, async () => {
      const r = await relay()
      const result = await signalRelay(r, signal)
      assert.equal(result.signal, null, `exited by itself on ${signal}; stderr: ${r.stderr()}`)
      assert.equal(result.code, 0, `stderr: ${r.stderr()}`)
      assert.equal(r.stderr(), '')
    })
  }

  it('without --json prints its peer id and addresses, and says when it stopped', async () => {
    const keyFile = join(dir, 'human.key')
    const run = cli(['relay', '--host', '127.0.0.1', '--ws-port', '0', '--tcp-port', 'none', '--http-port', '0', '--key', keyFile])
    await waitFor('the relay\'s addresses', () => /health: .*\n/.test(run.stdout()) || run.child.exitCode != null, EXIT_TIMEOUT_MS)
    const out = run.stdout()
    assert.match(out, /^swarmsite relay 12D3Koo\w+ \(new identity saved to .*human\.key\)\n/)
    assert.match(out, /dial it at:\n {2}\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\/12D3Koo\w+\n/)
    assert.match(out, /health: http:\/\/127\.0\.0\.1:\d+\/health {2}metrics: http:\/\/127\.0\.0\.1:\d+\/metrics\n/)
    run.child.kill('SIGINT')
    const result = await finished(run)
    assert.equal(result.code, 0)
    assert.match(result.stdout, /relay stopped\n$/)
    assert.equal(result.stderr, '')
  })

  it('serves /health as JSON and /metrics as Prometheus text', async () => {
    const r = await relay()
    const health = await fetch(`${r.http}/health`)
    assert.equal(health.status, 200)
    assert.match(health.headers.get('content-type') ?? '', /application\/json/)
    const body = await health.json()
    assert.equal(body.status, 'ok')
    assert.equal(body.peerId, r.peerId)
    assert.deepEqual(body.multiaddrs.sort(), [...r.multiaddrs].sort())
    assert.equal(body.reservations, 0)
    assert.deepEqual(body.topics, [])

    const metrics = await fetch(`${r.http}/metrics`)
    assert.equal(metrics.status, 200)
    assert.match(metrics.headers.get('content-type') ?? '', /text\/plain/)
    const text = await metrics.text()
    // assert.ok, not assert.match: a failure should not print the whole exposition
    for (const line of [
      /^# TYPE swarmsite_relay_reservations gauge$/m,
      /^swarmsite_relay_reservations 0$/m,
      /^# TYPE swarmsite_relay_connections gauge$/m,
      /^swarmsite_relay_gossip_topics 0$/m,
      /^swarmsite_relay_dht_provider_records 0$/m,
      /^libp2p_/m
    ]) {
      assert.ok(line.test(text), `/metrics has ${String(line)}`)
    }

    const missing = await fetch(`${r.http}/nope`)
    assert.equal(missing.status, 404)
    await missing.text()
    const post = await fetch(`${r.http}/health`, { method: 'POST' })
    assert.equal(post.status, 405)
    await post.text()
    assert.deepEqual(await signalRelay(r), { code: 0, signal: null })
  })
})
