/**
 * The load half of `--seed <dir>`: reads the site's manifest, then every file it lists from the
 * folder, checks each leaf block against the manifest the way a visitor checks bytes from the
 * origin (re-wrapped with `leafBlockFor`, hashed with `verifyBlock`) and stores it. A folder
 * that no longer matches its manifest is refused, never half-served: visitors would reject
 * every differing block anyway.
 */
import { open, readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import { DEFAULT_PROFILE, InvalidManifestError, MAX_BLOCK_BYTES, MAX_MANIFEST_BYTES, assertSupportedHash, blockKey, leafBlockFor, parseManifest, verifyBlock } from '../src/relay-api.ts'
import { DEFAULT_SEED_MANIFEST_FILE_NAME, SEED_DAG_PB_LEAF_OVERHEAD_BYTES } from './constants.ts'
import { SeedConfigError, SeedContentMismatchError } from './errors.ts'
import type { Manifest, ManifestFile, SwarmBlockstore } from '../src/relay-api.ts'
import type { AbortOptions } from '@libp2p/interface'
import type { FileHandle } from 'node:fs/promises'

export interface SeedManifest {
  manifest: Manifest
  /** Absolute path of the manifest file read. */
  manifestPath: string
  /** Absolute path of the site folder. */
  dir: string
}

/** Every distinct block of a manifest, by store key (multihash), with what the store needs to hold it. */
export interface SeedBlockIndex {
  /** Canonical CID strings of every leaf block: the only blocks the seeder serves. */
  cids: Set<string>
  /** Store keys (multihash) of those blocks. */
  keys: Set<string>
  /** Distinct blocks. */
  blocks: number
  /** Room the blocks need in a store, bytes (file bytes plus dag-pb framing slack). */
  bytesNeeded: number
}

export interface SeedImportProgress {
  path: string
  filesDone: number
  filesTotal: number
  bytesDone: number
}

export interface SeedImportOptions extends AbortOptions {
  onProgress?(progress: SeedImportProgress): void
}

function code (err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code
}

/** Reads and checks `<dir>/swarmsite.json` (or `manifestPath`); throws SeedConfigError. */
export async function readSeedManifest (dir: string, manifestPath?: string): Promise<SeedManifest> {
  const root = resolve(dir)
  const info = await stat(root).catch(err => {
    throw new SeedConfigError(code(err) === 'ENOENT' ? `seed folder ${root} does not exist` : `cannot read the seed folder ${root}: ${code(err) ?? err.message}`)
  })
  if (!info.isDirectory()) throw new SeedConfigError(`seed folder ${root} is not a folder`)
  const path = resolve(manifestPath ?? join(root, DEFAULT_SEED_MANIFEST_FILE_NAME))
  const buildHint = `build it with 'swarmsite build ${root} --origin <url>'${manifestPath == null ? '' : ` --out ${path}`}`
  const manifestInfo = await stat(path).catch(err => {
    throw new SeedConfigError(code(err) === 'ENOENT' ? `no seed manifest at ${path}: ${buildHint}` : `cannot read the seed manifest ${path}: ${code(err) ?? err.message}`)
  })
  if (!manifestInfo.isFile()) throw new SeedConfigError(`seed manifest ${path} is not a file`)
  if (manifestInfo.size > MAX_MANIFEST_BYTES) throw new SeedConfigError(`seed manifest ${path} is ${manifestInfo.size} bytes; visitors refuse manifests over ${MAX_MANIFEST_BYTES}`)
  let manifest: Manifest
  try {
    manifest = parseManifest(await readFile(path, 'utf8'))
  } catch (err: any) {
    if (err instanceof InvalidManifestError) throw new SeedConfigError(`seed manifest ${path}: ${err.message}`, { cause: err })
    throw new SeedConfigError(`cannot read the seed manifest ${path}: ${code(err) ?? err.message}`, { cause: err })
  }
  for (const file of manifest.files) {
    for (const block of file.blocks) {
      try {
        assertSupportedHash(CID.parse(block.cid))
      } catch (err: any) {
        throw new SeedConfigError(`seed manifest ${path}: ${file.path}: ${err.message}`, { cause: err })
      }
    }
  }
  return { manifest, manifestPath: path, dir: root }
}

/** The distinct blocks of a manifest and the room they need. */
export function seedBlockIndex (manifest: Manifest): SeedBlockIndex {
  const cids = new Set<string>()
  const keys = new Set<string>()
  let bytesNeeded = 0
  for (const file of manifest.files) {
    for (const block of file.blocks) {
      const cid = CID.parse(block.cid)
      cids.add(cid.toString())
      const key = blockKey(cid)
      if (keys.has(key)) continue
      keys.add(key)
      bytesNeeded += block.size + (cid.code === dagPb.code ? SEED_DAG_PB_LEAF_OVERHEAD_BYTES : 0)
    }
  }
  return { cids, keys, blocks: keys.size, bytesNeeded }
}

/** Reads exactly `length` bytes at `position`, or fewer when the file ends first. */
async function readAt (handle: FileHandle, length: number, position: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length)
  let got = 0
  while (got < length) {
    const { bytesRead } = await handle.read(bytes, got, length - got, position + got)
    if (bytesRead === 0) return bytes.subarray(0, got)
    got += bytesRead
  }
  return bytes
}

/**
 * Reads every file of the manifest from `seed.dir`, checks every block and puts it in `store`
 * (open). Throws SeedContentMismatchError naming the first file that is missing or differs.
 * Returns the file bytes read.
 */
export async function importSeedFolder (seed: SeedManifest, store: SwarmBlockstore, options: SeedImportOptions = {}): Promise<number> {
  const { manifest, dir } = seed
  const profile = manifest.profile === DEFAULT_PROFILE ? '' : ` --profile ${manifest.profile}`
  const out = seed.manifestPath === join(dir, DEFAULT_SEED_MANIFEST_FILE_NAME) ? '' : ` --out ${seed.manifestPath}`
  const rebuild = `the folder changed since its manifest was built: rebuild it with 'swarmsite build ${dir} --origin ${manifest.origin}${profile}${out}' and restart`
  const mismatch = (file: ManifestFile, what: string, cause?: unknown): SeedContentMismatchError =>
    new SeedContentMismatchError(`seed file ${file.path} ${what}; ${rebuild}`, file.path, cause == null ? undefined : { cause })

  let bytesDone = 0
  for (const [i, file] of manifest.files.entries()) {
    options.signal?.throwIfAborted()
    const absolute = join(dir, ...file.path.split('/'))
    let handle: FileHandle
    try {
      handle = await open(absolute, 'r')
    } catch (err) {
      throw mismatch(file, code(err) === 'ENOENT' ? `is missing from ${dir}` : `cannot be read (${code(err) ?? String(err)})`, err)
    }
    try {
      const info = await handle.stat()
      if (!info.isFile()) throw mismatch(file, 'is not a regular file')
      if (info.size !== file.size) throw mismatch(file, `has ${info.size} bytes, the manifest says ${file.size}`)
      for (const [j, block] of file.blocks.entries()) {
        options.signal?.throwIfAborted()
        const data = await readAt(handle, block.size, block.offset)
        if (data.byteLength !== block.size) throw mismatch(file, `ends at byte ${block.offset + data.byteLength}, the manifest says ${file.size}`)
        const cid = CID.parse(block.cid)
        const leaf = leafBlockFor(cid, data)
        if (leaf.byteLength > MAX_BLOCK_BYTES) {
          throw new SeedConfigError(`seed manifest ${seed.manifestPath}: block ${j} of ${file.path} is ${leaf.byteLength} bytes, more than the block exchange carries (${MAX_BLOCK_BYTES})`)
        }
        if (!await verifyBlock(cid, leaf)) {
          throw mismatch(file, `differs from the manifest at bytes ${block.offset}-${block.offset + block.size - 1} (block ${j}, ${block.cid})`)
        }
        try {
          await store.put(cid, leaf, options)
        } catch (err: any) {
          if (options.signal?.aborted === true) throw err
          throw new SeedConfigError(`the seed store cannot hold block ${j} of ${file.path}: ${err?.message ?? String(err)}`, { cause: err })
        }
      }
    } catch (err: any) {
      if (err instanceof SeedContentMismatchError || err instanceof SeedConfigError || options.signal?.aborted === true) throw err
      throw mismatch(file, `cannot be read (${code(err) ?? err?.message ?? String(err)})`, err)
    } finally {
      await handle.close()
    }
    bytesDone += file.size
    options.onProgress?.({ path: file.path, filesDone: i + 1, filesTotal: manifest.files.length, bytesDone })
  }
  return bytesDone
}
