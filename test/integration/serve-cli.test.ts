import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { spawnCli } from '../helpers/relay-process.ts'
import type { CliRun } from '../helpers/relay-process.ts'
import type { AddressInfo } from 'node:net'

const EXIT_TIMEOUT_MS = 20_000

interface Served { url: string, port: number, root: string, stats: string, bytesPerSecond: number | null }

/** Starts `swarmsite serve … --json` and waits for its JSON line. */
async function serve (args: string[]): Promise<{ cli: CliRun, info: Served }> {
  const cli = spawnCli(['serve', ...args, '--json'])
  const info = await new Promise<Served>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no address printed; stderr: ${cli.stderr()}`)) }, EXIT_TIMEOUT_MS)
    createInterface({ input: cli.child.stdout! }).once('line', line => { clearTimeout(timer); resolve(JSON.parse(line)) })
    void cli.exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`exited with ${code}: ${cli.stderr()}`)) })
  })
  return { cli, info }
}

async function runToExit (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const cli = spawnCli(['serve', ...args])
  const { code, signal } = await cli.kill(EXIT_TIMEOUT_MS)
  assert.equal(signal, null, `the CLI did not exit by itself; stderr: ${cli.stderr()}`)
  return { code, stdout: cli.stdout(), stderr: cli.stderr() }
}

describe('swarmsite serve CLI (real process)', { timeout: 120_000 }, () => {
  let dir: string
  const video = randomBytes(300_000)
  const page = '<!doctype html><title>home</title>'

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmsite-serve-'))
    await mkdir(join(dir, 'media'))
    await writeFile(join(dir, 'media', 'clip.webm'), video)
    await writeFile(join(dir, 'index.html'), page)
  })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('serves files with ranges (206, 416), counts bytes per file at /__swarmsite/origin-stats, and stops on SIGTERM', async () => {
    const { cli, info } = await serve([dir, '--port', '0', '--host', '127.0.0.1'])
    try {
      assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
      assert.equal(info.stats, `${info.url}__swarmsite/origin-stats`)

      const home = await fetch(info.url)
      assert.equal(home.status, 200)
      assert.equal(home.headers.get('content-type'), 'text/html; charset=utf-8')
      assert.equal(await home.text(), page)

      const part = await fetch(`${info.url}media/clip.webm`, { headers: { Range: 'bytes=1000-1999' } })
      assert.equal(part.status, 206)
      assert.equal(part.headers.get('content-range'), `bytes 1000-1999/${video.length}`)
      assert.equal(part.headers.get('content-type'), 'video/webm')
      assert.equal(part.headers.get('access-control-allow-origin'), '*')
      assert.deepEqual(Buffer.from(await part.arrayBuffer()), video.subarray(1000, 2000))

      const tail = await fetch(`${info.url}media/clip.webm`, { headers: { Range: 'bytes=-500' } })
      assert.equal(tail.status, 206)
      assert.deepEqual(Buffer.from(await tail.arrayBuffer()), video.subarray(video.length - 500))

      const beyond = await fetch(`${info.url}media/clip.webm`, { headers: { Range: `bytes=${video.length}-` } })
      assert.equal(beyond.status, 416)
      assert.equal(beyond.headers.get('content-range'), `bytes */${video.length}`)
      await beyond.arrayBuffer()

      const whole = await fetch(`${info.url}media/clip.webm`)
      assert.equal(whole.status, 200)
      assert.equal(whole.headers.get('accept-ranges'), 'bytes')
      assert.deepEqual(Buffer.from(await whole.arrayBuffer()), video)

      const missing = await fetch(`${info.url}nope.txt`)
      assert.equal(missing.status, 404)
      await missing.arrayBuffer()

      const stats = await fetch(info.stats)
      assert.equal(stats.status, 200)
      assert.equal(stats.headers.get('access-control-allow-origin'), '*')
      assert.equal(stats.headers.get('content-type'), 'application/json')
      const counters = await stats.json() as { files: Record<string, number>, total: number, requests: number }
      assert.deepEqual(counters.files, { 'index.html': page.length, 'media/clip.webm': 1000 + 500 + video.length })
      assert.equal(counters.total, page.length + 1500 + video.length)
      assert.equal(counters.requests, 6, 'every request but the stats one is counted')
    } finally {
      cli.child.kill('SIGTERM')
    }
    const { code, signal } = await cli.kill(EXIT_TIMEOUT_MS)
    assert.equal(signal, null, `it did not stop by itself; stderr: ${cli.stderr()}`)
    assert.equal(code, 0)
    assert.equal(cli.stderr(), '')
  })

  it('limits the rate with --rate and stops on SIGINT', async () => {
    const { cli, info } = await serve([dir, '--port', '0', '--rate', '256K'])
    try {
      assert.equal(info.bytesPerSecond, 256 * 1024)
      const started = performance.now()
      const body = await (await fetch(`${info.url}media/clip.webm`)).arrayBuffer()
      const seconds = (performance.now() - started) / 1000
      assert.equal(body.byteLength, video.length)
      // 300 kB at 256 KiB/s, minus the burst the pacer allows
      assert.ok(seconds > 0.9, `took ${seconds.toFixed(2)} s`)
    } finally {
      cli.child.kill('SIGINT')
    }
    const { code } = await cli.kill(EXIT_TIMEOUT_MS)
    assert.equal(code, 0)
  })

  it('ends bad input with one error line and a non-zero exit', async () => {
    const blocker = createServer()
    await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
    const busy = (blocker.address() as AddressInfo).port
    try {
      const cases: Array<[string[], RegExp]> = [
        [[join(dir, 'nope')], /folder ".*nope" does not exist/],
        [[join(dir, 'index.html')], /is not a folder/],
        [[], /exactly one folder/],
        [[dir, '--port', '70000'], /--port must be a port number/],
        [[dir, '--rate', 'fast'], /--rate must be a positive number of bytes/],
        [[dir, '--bogus'], /Unknown option '--bogus'/],
        [[dir, '--port', String(busy)], /port is in use/]
      ]
      for (const [args, message] of cases) {
        const { code, stdout, stderr } = await runToExit(args)
        assert.notEqual(code, 0, `${args.join(' ')} exited 0`)
        assert.equal(stdout, '')
        const lines = stderr.trimEnd().split('\n')
        assert.equal(lines.length, 1, `one line for ${args.join(' ')}: ${stderr}`)
        assert.match(lines[0]!, /^swarmsite: error: /)
        assert.match(lines[0]!, message)
      }
    } finally {
      blocker.close()
    }
  })

  it('prints its help', async () => {
    const { code, stdout } = await runToExit(['--help'])
    assert.equal(code, 0)
    assert.match(stdout, /Usage: swarmsite serve <dir>/)
  })
})
