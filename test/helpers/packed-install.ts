/**
 * The package as a user gets it: `npm pack` of this repository (its `prepack` builds dist/),
 * then `npm ci --offline` of the tarball into a fresh project outside the repository. Offline,
 * because tests run in a namespace without network: the project's lockfile is cut from this
 * repository's (the same versions the repository's own install put into npm's cache), so
 * every tarball comes from the local cache by its integrity hash.
 */
import { spawn } from 'node:child_process'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { ROOT } from './relay-process.ts'

interface LockEntry {
  version?: string
  resolved?: string
  integrity?: string
  link?: boolean
  dev?: boolean
  optional?: boolean
  devOptional?: boolean
  peer?: boolean
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
  [key: string]: unknown
}

interface Lockfile { name: string, version: string, lockfileVersion: number, requires: boolean, packages: Record<string, LockEntry> }

export interface RunResult { code: number | null, stdout: string, stderr: string }

/** Runs a command to its end (bounded); resolves with its exit code and output. */
export async function run (cmd: string, args: string[], options: { cwd: string, env?: Record<string, string>, timeoutMs?: number }): Promise<RunResult> {
  const child = spawn(cmd, args, {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Node 22+ first on PATH: npm scripts and bins (#!/usr/bin/env node) run under this Node
    env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...options.env }
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, options.timeoutMs ?? 180_000)
  const code = await new Promise<number | null>(resolve => { child.once('close', code => { resolve(code) }) })
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/** `npm pack` of this repository into `dest` (runs its prepack build); resolves with the tarball's path. */
export async function packRepository (dest: string): Promise<string> {
  const packed = await run('npm', ['pack', '--json', '--pack-destination', dest], { cwd: ROOT, timeoutMs: 300_000 })
  if (packed.code !== 0) throw new Error(`npm pack failed (${packed.code}):\n${packed.stderr}`)
  // the prepack build prints before npm's JSON
  const json = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('\n[') + 1)) as Array<{ filename: string }>
  const tarball = join(dest, json[0]!.filename)
  if (!(await readdir(dest)).includes(basename(tarball))) throw new Error(`npm pack wrote no ${tarball}`)
  return tarball
}

/** Where node would find `name` from the package at lock path `from` (nearest node_modules up the tree). */
function resolveIn (packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from
  for (;;) {
    const candidate = `${base === '' ? '' : `${base}/`}node_modules/${name}`
    if (packages[candidate] != null) return candidate
    if (base === '') return undefined
    const cut = base.lastIndexOf('/node_modules/')
    base = cut === -1 ? '' : base.slice(0, cut)
  }
}

/**
 * A lockfile for a project depending on the packed tarball (and `extra` packages of this
 * repository's install, e.g. vite): the part of this repository's lock those need, re-rooted.
 */
export async function lockfileFor (tarballName: string, extra: string[]): Promise<{ packageJson: object, lock: Lockfile }> {
  const ours = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as Lockfile
  const root = ours.packages['']!
  const wanted = new Map<string, LockEntry>()
  const queue: string[] = []
  const need = (from: string, name: string, optional: boolean): void => {
    const at = resolveIn(ours.packages, from, name)
    if (at == null) {
      if (optional) return // another platform's binary, or an optional peer
      throw new Error(`${name} (needed by ${from === '' ? 'swarmsite' : from}) is not in package-lock.json`)
    }
    if (!wanted.has(at)) { wanted.set(at, ours.packages[at]!); queue.push(at) }
  }
  for (const name of Object.keys(root.dependencies ?? {})) need('', name, false)
  for (const name of extra) need('', name, false)
  while (queue.length > 0) {
    const at = queue.shift()!
    const entry = ours.packages[at]!
    for (const name of Object.keys(entry.dependencies ?? {})) need(at, name, false)
    for (const name of Object.keys(entry.optionalDependencies ?? {})) need(at, name, true)
    for (const name of Object.keys(entry.peerDependencies ?? {})) need(at, name, true) // a peer this install lacks is one nobody here needs
  }
  const version = (name: string): string => ours.packages[`node_modules/${name}`]!.version!
  const dependencies = { swarmsite: `file:${tarballName}` }
  const devDependencies = Object.fromEntries(extra.map(name => [name, version(name)]))
  const packages: Record<string, LockEntry> = {
    '': { name: 'swarmsite-user-project', dependencies, devDependencies },
    'node_modules/swarmsite': {
      version: ours.version,
      resolved: `file:${tarballName}`,
      license: root.license,
      dependencies: root.dependencies,
      ...(root.peerDependencies != null ? { peerDependencies: root.peerDependencies, peerDependenciesMeta: root.peerDependenciesMeta } : {}),
      bin: root.bin,
      engines: root.engines
    }
  }
  for (const [at, entry] of [...wanted].sort(([a], [b]) => a.localeCompare(b))) {
    // dev/optional flags describe our project, not this one: npm recomputes what it needs
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...rest } = entry
    packages[at] = rest
  }
  return {
    packageJson: { name: 'swarmsite-user-project', private: true, type: 'module', dependencies, devDependencies },
    lock: { name: 'swarmsite-user-project', version: '', lockfileVersion: ours.lockfileVersion, requires: true, packages }
  }
}

/** Installs the tarball (and `extra` packages) into `project` with `npm ci --offline`. */
export async function installPacked (project: string, tarball: string, extra: string[] = []): Promise<RunResult> {
  const { packageJson, lock } = await lockfileFor(basename(tarball), extra)
  await writeFile(join(project, basename(tarball)), await readFile(tarball))
  await writeFile(join(project, 'package.json'), JSON.stringify(packageJson, null, 2) + '\n')
  await writeFile(join(project, 'package-lock.json'), JSON.stringify(lock, null, 2) + '\n')
  const installed = await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: project, timeoutMs: 300_000 })
  if (installed.code !== 0) throw new Error(`npm ci --offline of the packed tarball failed (${installed.code}):\n${installed.stderr}`)
  return installed
}
