/** Validates a manifest's structure (format version 1); InvalidManifestError says what is wrong. */
import { CID } from 'multiformats/cid'
import { MANIFEST_VERSION } from './constants.ts'
import { InvalidManifestError } from './errors.ts'
import { isProfileName } from './profiles.ts'
import { normaliseOrigin } from './site-id.ts'
import type { Manifest, ManifestFile, ManifestSignature } from './manifest-types.ts'

/** Multibase base64url text ('u' + RFC 4648 §5 alphabet, no padding). */
const BASE64URL = /^u[A-Za-z0-9_-]+$/

function fail (message: string): never {
  throw new InvalidManifestError(`invalid manifest: ${message}`)
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value != null && !Array.isArray(value)
}

function isSize (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function checkCid (value: unknown, where: string): string {
  if (typeof value !== 'string') fail(`${where} must be a CID string`)
  try { CID.parse(value) } catch { fail(`${where} is not a valid CID: ${JSON.stringify(value)}`) }
  return value
}

function checkPath (value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') fail(`${where} must be a non-empty string`)
  if (value.includes('\\') || value.includes('\0') || value.split('/').some(s => s === '' || s === '.' || s === '..')) {
    fail(`${where} must be a relative '/'-separated path without '.', '..' or empty segments, got ${JSON.stringify(value)}`)
  }
  return value
}

function checkFile (value: unknown, i: number): ManifestFile {
  const where = `files[${i}]`
  if (!isObject(value)) fail(`${where} must be an object`)
  const path = checkPath(value.path, `${where}.path`)
  if (!isSize(value.size)) fail(`${where}.size must be a non-negative integer`)
  if (typeof value.contentType !== 'string' || value.contentType === '') fail(`${where}.contentType must be a non-empty string`)
  const root = checkCid(value.root, `${where}.root`)
  if (!Array.isArray(value.blocks)) fail(`${where}.blocks must be an array`)
  let offset = 0
  const blocks = value.blocks.map((b: unknown, j: number) => {
    const bw = `${where}.blocks[${j}]`
    if (!isObject(b)) fail(`${bw} must be an object`)
    const cid = checkCid(b.cid, `${bw}.cid`)
    if (!isSize(b.offset) || b.offset !== offset) fail(`${bw}.offset must be ${offset} (blocks are contiguous from 0)`)
    if (!isSize(b.size) || b.size === 0) fail(`${bw}.size must be a positive integer`)
    offset += b.size
    return { cid, offset: b.offset, size: b.size }
  })
  if (offset !== value.size) fail(`${where}: block sizes sum to ${offset}, not the file size ${value.size}`)
  return { path, size: value.size, contentType: value.contentType, root, blocks }
}

/** The signature's shape only: whether it is the publisher's is for manifest-signature.ts to say. */
function checkSignature (value: unknown): ManifestSignature {
  if (!isObject(value)) fail('signature must be an object { publicKey, value }')
  if (typeof value.publicKey !== 'string' || !BASE64URL.test(value.publicKey)) fail('signature.publicKey must be multibase base64url text (u…)')
  if (typeof value.value !== 'string' || !BASE64URL.test(value.value)) fail('signature.value must be multibase base64url text (u…)')
  return { publicKey: value.publicKey, value: value.value }
}

/** Parses JSON text (or checks an already-parsed object) into a Manifest. */
export function parseManifest (input: string | unknown): Manifest {
  let value: unknown = input
  if (typeof input === 'string') {
    try { value = JSON.parse(input) } catch (err: any) { fail(`not JSON (${err.message})`) }
  }
  if (!isObject(value)) fail('must be a JSON object')
  if (value.version !== MANIFEST_VERSION) fail(`unsupported version ${JSON.stringify(value.version)}; expected ${MANIFEST_VERSION}`)
  if (typeof value.siteId !== 'string' || !/^b[a-z2-7]+$/.test(value.siteId)) fail('siteId must be a base32 string')
  if (typeof value.origin !== 'string') fail('origin must be a string')
  let origin: string
  try { origin = normaliseOrigin(value.origin) } catch (err: any) { fail(err.message) }
  if (!isProfileName(value.profile)) fail(`unknown profile ${JSON.stringify(value.profile)}`)
  if (typeof value.createdAt !== 'string' || Number.isNaN(Date.parse(value.createdAt))) fail('createdAt must be an ISO date string')
  if (!Array.isArray(value.files)) fail('files must be an array')
  const files = value.files.map(checkFile)
  for (let i = 1; i < files.length; i++) {
    if (!(files[i - 1]!.path < files[i]!.path)) fail(`files must be sorted by path with no duplicates (at ${JSON.stringify(files[i]!.path)})`)
  }
  if (value.siteVersion !== undefined && !isSize(value.siteVersion)) fail(`siteVersion must be a non-negative integer, got ${JSON.stringify(value.siteVersion)}`)
  const signature = value.signature === undefined ? undefined : checkSignature(value.signature)
  return {
    version: MANIFEST_VERSION,
    siteId: value.siteId,
    origin,
    profile: value.profile,
    createdAt: value.createdAt,
    ...(value.siteVersion !== undefined ? { siteVersion: value.siteVersion } : {}),
    files,
    ...(signature != null ? { signature } : {})
  }
}
