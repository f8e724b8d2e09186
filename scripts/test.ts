// `npm test`: type-checks, lints, checks the API reference builds, builds, then runs every test (unit, Node integration, real
// Chromium) in a loopback-only network namespace, and ends with "N passed, N failed".
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

function run (cmd: string, args: string[]): void {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    process.stdout.write(`\n${cmd} ${args.join(' ')} failed\n0 passed, 1 failed\n`)
    process.exit(1)
  }
}

function testFiles (dir: string): string[] {
  const full = join(root, dir)
  if (!existsSync(full)) return []
  return readdirSync(full, { recursive: true, encoding: 'utf8' })
    .filter(f => f.endsWith('.test.ts'))
    .sort()
    .map(f => join(dir, f))
}

if (!existsSync(chromium)) {
  process.stderr.write(`Chromium not found at ${chromium}: install Debian's (apt-get install -y chromium) or set CHROMIUM_PATH\n`)
  process.exit(1)
}

const tsc = join(root, 'node_modules/typescript/bin/tsc')
run(process.execPath, [tsc, '--noEmit', '-p', '.'])
// lint (typescript-eslint's recommended rules, eslint.config.js) and the API reference's check
// (typedoc over the exported types, warnings as errors, nothing written)
run(process.execPath, [join(root, 'node_modules/eslint/bin/eslint.js'), '.'])
run(process.execPath, [join(root, 'node_modules/typedoc/bin/typedoc'), '--emit', 'none'])
// the same build as `npm run build` and `prepack`: the bundler and package tests use dist/
run(process.execPath, [join(root, 'scripts/build.ts')])

const files = [...testFiles('test/unit'), ...testFiles('test/integration'), ...testFiles('interop-tests')]
const only = process.argv.slice(2)
const selected = only.length > 0 ? files.filter(f => only.some(o => f.includes(o))) : files

// one file at a time: the browser tests need the machine's two cores to themselves
const child = spawn(join(root, 'scripts/in-netns.sh'), [process.execPath, '--test', '--test-concurrency=1', '--test-reporter=spec', ...selected], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit']
})
let output = ''
child.stdout.on('data', (chunk: Buffer) => {
  output += chunk.toString()
  process.stdout.write(chunk)
})
child.on('exit', code => {
  // the spec reporter closes with lines like "ℹ pass 12"
  const count = (name: string): number => Number([...output.matchAll(new RegExp(`^ℹ ${name} (\\d+)$`, 'gm'))].at(-1)?.[1] ?? 0)
  const passed = count('pass')
  const failed = count('fail') + count('cancelled')
  process.stdout.write(`\n${passed} passed, ${failed} failed\n`)
  process.exit(code === 0 && failed === 0 ? 0 : 1)
})
