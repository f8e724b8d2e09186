/** One file's manifest entry: root CID and ordered leaf blocks, via the UnixFS importer. */
import { importer } from 'ipfs-unixfs-importer'
import { contentTypeFor } from './content-type.ts'
import { DEFAULT_PROFILE } from './constants.ts'
import { DagWalkError } from './errors.ts'
import { createLeafCollector } from './leaf-collector.ts'
import { importerOptions } from './profiles.ts'
import type { ManifestFile } from './manifest-types.ts'

export type BytesSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>

export interface BuildFileEntryOptions {
  /** CID profile name (default DEFAULT_PROFILE). */
  profile?: string
  /** The entry's path (default ''). */
  path?: string
  /** Default: from the path's extension. */
  contentType?: string
}

export async function buildFileEntry (bytes: BytesSource, options: BuildFileEntryOptions = {}): Promise<ManifestFile> {
  const path = options.path ?? ''
  const collector = createLeafCollector()
  const content = bytes instanceof Uint8Array ? [bytes] : bytes
  let result
  for await (const entry of importer([{ content }], collector, importerOptions(options.profile ?? DEFAULT_PROFILE))) {
    result = entry
  }
  if (result == null) throw new DagWalkError('the importer produced no root')
  const blocks = collector.leaves(result.cid)
  const size = blocks.reduce((sum, b) => sum + b.size, 0)
  return { path, size, contentType: options.contentType ?? contentTypeFor(path), root: result.cid.toString(), blocks }
}
