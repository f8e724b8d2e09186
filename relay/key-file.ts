import { randomBytes } from 'node:crypto'
import { chmod, link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { RelayConfigError } from './errors.ts'
import type { PrivateKey } from '@libp2p/interface'

/**
 * Loads the relay's identity from `path`, creating it (mode 0600) on first run, so the
 * relay's peer id, and so its multiaddrs, stay the same across restarts.
 */
export async function loadOrCreateKey (path: string): Promise<{ key: PrivateKey, created: boolean }> {
  return loadOrCreate(path, true)
}

async function loadOrCreate (path: string, mayRetry: boolean): Promise<{ key: PrivateKey, created: boolean }> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err: any) {
    if (err.code !== 'ENOENT') {
      throw new RelayConfigError(`Cannot read key file ${path}: ${err.code ?? err.message}`)
    }
    const key = await generateKeyPair('Ed25519')
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 })
      // written whole beside it, then linked into place: a process starting at the same moment
      // reads either no key or all of it, and link never overwrites a key written meanwhile
      const partial = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.partial`)
      await writeFile(partial, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
      try {
        await link(partial, path)
      } finally {
        await unlink(partial).catch(() => {})
      }
    } catch (err: any) {
      // EEXIST: another process created it meanwhile, so read that one; only once, since a
      // dangling symlink also gives ENOENT on read and EEXIST on create, forever
      if (err.code === 'EEXIST' && mayRetry) return loadOrCreate(path, false)
      throw new RelayConfigError(`Cannot create key file ${path}: ${err.code === 'EEXIST' ? 'EEXIST (a dangling symlink?)' : err.code ?? err.message}`)
    }
    return { key, created: true }
  }
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(bytes)
  } catch (err: any) {
    throw new RelayConfigError(`Key file ${path} does not hold a libp2p private key (${err.message})`)
  }
  try {
    // a key readable by others is a key others may copy: tighten it
    if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600)
  } catch (err: any) {
    throw new RelayConfigError(`Key file ${path} is readable by others and cannot be restricted to mode 0600: ${err.code ?? err.message}`)
  }
  return { key, created: false }
}
