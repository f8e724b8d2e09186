/**
 * Blocks on disk: blockstore-fs's `FsBlockstore` (atomic writes through a temp file and a
 * rename), bounded by bytes with LRU eviction, re-verified on every read.
 *
 * How the LRU order survives a reopen: the filesystem is the index. Each block is one file
 * whose size is the block's size and whose mtime is the block's last use: written on put
 * (`utimes` right after the write) and on get (batched, at most `DEFAULT_USE_FLUSH_DELAY_MS`
 * later, and on `close()`). `open()` lists the files and stats them, which it would have to do
 * anyway to learn sizes that are true of what is on disk. We chose this over a separate index
 * file because nothing can disagree: a crash can lose at most the last second of use times
 * (then the order is approximate), never a block or its size, and there is no second file to
 * write atomically, debounce, reconcile with the blocks or repair. mtimes keep sub-millisecond
 * precision on the filesystems Node runs on (ext4, xfs, btrfs, APFS, NTFS); on a coarse one
 * (FAT: 2 s) the order after a reopen is approximate.
 *
 * File names hold the whole CID (not just the multihash, blockstore-fs's default), so `cids()`
 * gives back the codec and version a block was stored under after a reopen too.
 */
import { readdir, stat, unlink, utimes } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import { base32upper } from 'multiformats/bases/base32'
import { CID } from 'multiformats/cid'
import { BoundedBlockstore, checkMaxBytes, log, readChunks } from './bounded.ts'
import { DEFAULT_DISK_MAX_BYTES, DISK_BLOCK_EXTENSION } from './constants.ts'
import { InvalidBlockstoreOptionsError } from './errors.ts'
import { assertSupportedHash } from './verify.ts'
import type { BlockBackend, StoredBlock } from './bounded.ts'
import type { SwarmBlockstore } from './interface.ts'
import type { FsBlockstoreInit } from 'blockstore-fs'

export interface DiskBlockstoreInit {
  /** Directory of the store; created if missing. One store object per directory at a time. */
  path: string
  /** Bound on the bytes held (default `DEFAULT_DISK_MAX_BYTES`, 2 GiB). */
  maxBytes?: number
}

export function createDiskBlockstore (init: DiskBlockstoreInit): SwarmBlockstore {
  if (typeof init?.path !== 'string' || init.path.trim() === '') {
    throw new InvalidBlockstoreOptionsError(`path must name a directory, got ${JSON.stringify(init?.path)}`)
  }
  const maxBytes = checkMaxBytes(init.maxBytes ?? DEFAULT_DISK_MAX_BYTES)
  return new BoundedBlockstore(new DiskBackend(init.path), { kind: 'disk', maxBytes, verifyOnRead: true })
}

type ShardingStrategy = NonNullable<FsBlockstoreInit['shardingStrategy']>

/** `<dir>/<CID bytes, base32 upper>.data`, where `<dir>` is the name's last two characters. */
class CidFileNames implements ShardingStrategy {
  readonly extension = DISK_BLOCK_EXTENSION

  encode (cid: CID): { dir: string, file: string } {
    const name = base32upper.encoder.encode(cid.bytes)
    return { dir: name.slice(-2), file: `${name}${this.extension}` }
  }

  decode (path: string): CID {
    const name = basename(path)
    return CID.decode(base32upper.decoder.decode(name.endsWith(this.extension) ? name.slice(0, -this.extension.length) : name))
  }
}

function isMissing (err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT'
}

/** utimes takes seconds; fractions keep the milliseconds. */
function seconds (ms: number): number {
  return ms / 1000
}

class DiskBackend implements BlockBackend {
  readonly #names = new CidFileNames()
  readonly #fs: FsBlockstore

  constructor (path: string) {
    this.#fs = new FsBlockstore(path, { shardingStrategy: this.#names })
  }

  async open (): Promise<void> {
    await this.#fs.open()
  }

  async close (): Promise<void> {
    await this.#fs.close()
  }

  async * load (): AsyncGenerator<StoredBlock> {
    const root = this.#fs.path
    for (const dir of await readdir(root, { withFileTypes: true })) {
      if (!dir.isDirectory()) continue
      const names = await readdir(join(root, dir.name)).catch(err => {
        if (isMissing(err)) return []
        throw err
      })
      const blocks = await Promise.all(names.map(async name => this.#loadFile(dir.name, name)))
      for (const block of blocks) if (block != null) yield block
    }
  }

  async #loadFile (dir: string, name: string): Promise<StoredBlock | undefined> {
    const file = join(this.#fs.path, dir, name)
    if (name.startsWith('.') && name.endsWith('.tmp')) {
      // a write (steno: temp file, then rename) that a crash interrupted
      log('disk: deleting unfinished write %s', file)
      await unlink(file).catch(() => {})
      return undefined
    }
    if (!name.endsWith(DISK_BLOCK_EXTENSION)) return undefined
    let cid: CID
    try {
      cid = this.#names.decode(name)
      assertSupportedHash(cid)
      if (this.#names.encode(cid).dir !== dir) throw new Error(`belongs in ${this.#names.encode(cid).dir}/`)
    } catch (err) {
      log.error('disk: ignoring %s, not a block of this store: %e', file, err)
      return undefined
    }
    try {
      const info = await stat(file)
      return info.isFile() ? { cid, size: info.size, lastUsed: info.mtimeMs } : undefined
    } catch (err) {
      if (isMissing(err)) return undefined
      throw err
    }
  }

  async read (cid: CID): Promise<Uint8Array | undefined> {
    try {
      return await readChunks(this.#fs.get(cid))
    } catch (err) {
      // blockstore-fs reports every failure to open or read the file as NotFoundError
      if ((err as Error).name === 'NotFoundError') return undefined
      throw err
    }
  }

  async write (block: StoredBlock, bytes: Uint8Array): Promise<void> {
    await this.#fs.put(block.cid, bytes)
    await utimes(this.#file(block.cid), seconds(block.lastUsed), seconds(block.lastUsed))
  }

  async remove (cid: CID): Promise<void> {
    await this.#fs.delete(cid)
  }

  async saveUses (blocks: StoredBlock[]): Promise<void> {
    await Promise.all(blocks.map(async ({ cid, lastUsed }) => {
      await utimes(this.#file(cid), seconds(lastUsed), seconds(lastUsed)).catch(err => {
        // deleted since its use: nothing to record
        if (!isMissing(err)) throw err
      })
    }))
  }

  #file (cid: CID): string {
    const { dir, file } = this.#names.encode(cid)
    return join(this.#fs.path, dir, file)
  }
}
