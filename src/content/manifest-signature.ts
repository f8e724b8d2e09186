/**
 * Publisher signatures on manifests, so a manifest that came from anywhere (a mirror, a cache,
 * a peer) can be trusted as the site's own.
 *
 * Scheme (version 1): the signed bytes are the UTF-8 bytes of
 * `MANIFEST_SIGNATURE_DOMAIN + canonicalJson(manifest without its "signature" member)`, where
 * canonicalJson is RFC 8785 (sorted keys, no whitespace; see canonical-json.ts). Every other
 * member is covered — `siteVersion`, `origin`, every file and block, and any member a newer
 * builder adds — so nothing can be changed, added or dropped without breaking the signature,
 * while re-serialising the JSON (pretty-printing, minifying, reordering keys) does not.
 * The signature is Ed25519 (RFC 8032) by the key in `signature.publicKey`; both are written as
 * multibase base64url text ('u' + RFC 4648 §5, no padding): the key as libp2p's protobuf
 * PublicKey encoding (so it reads `uCAESI…`), the signature as its 64 raw bytes.
 */
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { base64url } from 'multiformats/bases/base64'
import { canonicalJson } from './canonical-json.ts'
import { MANIFEST_SIGNATURE_DOMAIN } from './constants.ts'
import { InvalidSiteKeyError, ManifestSignatureError } from './errors.ts'
import type { ManifestSignature } from './manifest-types.ts'
import type { AbortOptions, PrivateKey, PublicKey } from '@libp2p/interface'

/** Ed25519 signatures are 64 bytes (RFC 8032). */
const SIGNATURE_BYTES = 64

/** A site public key as the tag's `data-public-key`, the `publicKey` option and manifests write it. */
export function encodeSiteKey (key: PublicKey): string {
  return base64url.encode(publicKeyToProtobuf(key))
}

/** The public key a site key text names; throws InvalidSiteKeyError for anything but an Ed25519 key. */
export function decodeSiteKey (text: string): PublicKey {
  let key: PublicKey
  try {
    key = publicKeyFromProtobuf(base64url.decode(text))
  } catch (err: any) {
    throw new InvalidSiteKeyError(`not a site public key (multibase base64url of a libp2p public key, uCAESI…): ${JSON.stringify(text)}`, { cause: err })
  }
  if (key.type !== 'Ed25519') throw new InvalidSiteKeyError(`site keys are Ed25519, not ${key.type}: ${JSON.stringify(text)}`)
  return key
}

/** The exact bytes a manifest's signature covers (see the module comment). */
export function manifestSigningBytes (manifest: object): Uint8Array {
  const { signature: _, ...signed } = manifest as Record<string, unknown>
  return new TextEncoder().encode(MANIFEST_SIGNATURE_DOMAIN + canonicalJson(signed))
}

/** The manifest with its `signature` (replacing any earlier one), signed by `key` (Ed25519). */
export async function signManifest<T extends object> (manifest: T, key: PrivateKey, options: AbortOptions = {}): Promise<T & { signature: ManifestSignature }> {
  if (key.type !== 'Ed25519') throw new InvalidSiteKeyError(`site keys are Ed25519, not ${key.type}`)
  const { signature: _, ...unsigned } = manifest as T & { signature?: unknown }
  const value = await key.sign(manifestSigningBytes(unsigned), options)
  return { ...unsigned, signature: { publicKey: encodeSiteKey(key.publicKey), value: base64url.encode(value) } } as T & { signature: ManifestSignature }
}

/**
 * Resolves if `manifest` (the JSON object as received, before anything is dropped from it)
 * carries a valid signature by `expected`; else throws ManifestSignatureError saying why.
 */
export async function verifyManifestSignature (manifest: unknown, expected: PublicKey, options: AbortOptions = {}): Promise<void> {
  if (typeof manifest !== 'object' || manifest == null || Array.isArray(manifest)) throw new ManifestSignatureError('malformed', 'the manifest is not a JSON object')
  const signature = (manifest as { signature?: unknown }).signature
  if (signature === undefined) throw new ManifestSignatureError('missing', `the manifest is not signed; this site's manifests must be signed by ${encodeSiteKey(expected)}`)
  const { publicKey, value } = (typeof signature === 'object' && signature != null ? signature : {}) as Record<string, unknown>
  if (typeof publicKey !== 'string' || typeof value !== 'string') throw new ManifestSignatureError('malformed', 'the manifest\'s signature must be an object { publicKey, value } of strings')
  let signer: PublicKey
  let bytes: Uint8Array
  try {
    signer = decodeSiteKey(publicKey)
    bytes = base64url.decode(value)
  } catch (err: any) {
    throw new ManifestSignatureError('malformed', `the manifest's signature can't be read: ${err.message}`, { cause: err })
  }
  if (bytes.byteLength !== SIGNATURE_BYTES) throw new ManifestSignatureError('malformed', `the manifest's signature is ${bytes.byteLength} bytes, not ${SIGNATURE_BYTES}`)
  if (!signer.equals(expected)) throw new ManifestSignatureError('wrong-key', `the manifest is signed by ${publicKey}, not by this site's key ${encodeSiteKey(expected)}`)
  let valid: boolean
  try {
    valid = await expected.verify(manifestSigningBytes(manifest), bytes, options)
  } catch (err: any) {
    options.signal?.throwIfAborted()
    throw new ManifestSignatureError('malformed', `the manifest's signature can't be checked: ${err.message}`, { cause: err })
  }
  if (!valid) throw new ManifestSignatureError('bad-signature', 'the manifest\'s signature does not match its content: it was changed after signing, or forged')
}
