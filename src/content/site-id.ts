/** A site's id and origin: the id is derived from the normalised origin URL. */
import { base32 } from 'multiformats/bases/base32'
import { sha256 } from 'multiformats/hashes/sha2'
import { InvalidOriginError } from './errors.ts'

/** The origin as a normalised absolute http(s) URL string; throws InvalidOriginError otherwise. */
export function normaliseOrigin (origin: string): string {
  let url: URL
  try { url = new URL(origin) } catch { throw new InvalidOriginError(`origin must be an absolute http(s) URL, got ${JSON.stringify(origin)}`) }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidOriginError(`origin must be an http(s) URL, got ${JSON.stringify(origin)}`)
  if (url.search !== '' || url.hash !== '') throw new InvalidOriginError(`origin must not have a query or fragment, got ${JSON.stringify(origin)}`)
  if (url.username !== '' || url.password !== '') throw new InvalidOriginError('origin must not contain credentials')
  return url.href
}

/** base32 (multibase 'b') sha2-256 of the normalised origin URL. */
export async function siteIdFor (origin: string): Promise<string> {
  const digest = await sha256.digest(new TextEncoder().encode(normaliseOrigin(origin)))
  return base32.encode(digest.digest)
}
