/**
 * The publisher's site signing key on disk: libp2p's protobuf PrivateKey encoding of an Ed25519
 * key (the format of the relay's key file), in a file only its owner may read. A key file
 * others can read is refused, not repaired, as ssh does: it may have been copied already, and
 * whoever holds it can sign manifests every visitor of the site will trust.
 */
import { chmod, mkdir, open, realpath, writeFile } from 'node:fs/promises'
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { SigningKeyError } from './errors.ts'
import type { PrivateKey } from '@libp2p/interface'

/** A key file larger than this is not one (an Ed25519 protobuf key is 68 bytes). */
const MAX_KEY_FILE_BYTES = 4096

/** Writes a new Ed25519 key to `path` (mode 0600, parent folders 0700); never overwrites a file. */
export async function createSigningKey (path: string): Promise<PrivateKey> {
  const key = await generateKeyPair('Ed25519')
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    // 'wx': an existing key (maybe the only copy of a site's identity) is never replaced
    await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
    // the umask may only have taken bits away; say exactly what we mean
    await chmod(path, 0o600)
  } catch (err: any) {
    if (err.code === 'EEXIST') throw new SigningKeyError(`key file ${path} already exists; refusing to overwrite it`)
    throw new SigningKeyError(`cannot create key file ${path}: ${err.code ?? err.message}`)
  }
  return key
}

/** The Ed25519 key in `path`; SigningKeyError if it is missing, open to others or not a key. */
export async function loadSigningKey (path: string): Promise<PrivateKey> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err: any) {
    throw new SigningKeyError(`cannot read key file ${path}: ${err.code ?? err.message}`)
  }
  let bytes: Uint8Array
  try {
    // the checks and the read on one open file: the path can't be swapped in between
    const info = await handle.stat()
    if (!info.isFile()) throw new SigningKeyError(`key file ${path} is not a regular file`)
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      throw new SigningKeyError(`key file ${path} is open to other users (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}); restrict it with 'chmod 600 ${path}', or make a new key if others may have copied it`)
    }
    if (info.size > MAX_KEY_FILE_BYTES) throw new SigningKeyError(`key file ${path} is ${info.size} bytes: not a libp2p private key`)
    bytes = await handle.readFile()
  } catch (err: any) {
    if (err instanceof SigningKeyError) throw err
    throw new SigningKeyError(`cannot read key file ${path}: ${err.code ?? err.message}`)
  } finally {
    await handle.close()
  }
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(bytes)
  } catch (err: any) {
    throw new SigningKeyError(`key file ${path} does not hold a libp2p private key (${err.message})`)
  }
  if (key.type !== 'Ed25519') throw new SigningKeyError(`key file ${path} holds a ${key.type} key; site keys are Ed25519 (make one with 'swarmsite keygen')`)
  return key
}

/** The key in `path`, created there (0600) if there is no file yet. */
export async function loadOrCreateSigningKey (path: string): Promise<{ key: PrivateKey, created: boolean }> {
  try {
    return { key: await createSigningKey(path), created: true }
  } catch (err: any) {
    // the usual case after the first build: the key is there
    if (!(err instanceof SigningKeyError && /already exists/.test(err.message))) throw err
  }
  return { key: await loadSigningKey(path), created: false }
}

/** Throws SigningKeyError if `keyPath` lies inside `siteDir`: every file there may be served to anyone. */
export async function checkKeyOutsideSite (keyPath: string, siteDir: string): Promise<void> {
  const real = async (path: string): Promise<string> => {
    try { return await realpath(path) } catch {}
    // a key not written yet: where its folder really is
    try { return resolve(await realpath(dirname(path)), basename(path)) } catch { return resolve(path) }
  }
  const within = relative(await real(siteDir), await real(keyPath))
  if (within === '' || (within !== '..' && !within.startsWith(`..${sep}`) && !isAbsolute(within))) {
    throw new SigningKeyError(`key file ${keyPath} is inside the site folder ${siteDir}: it would be published with the site; keep it elsewhere`)
  }
}
