/**
 * The CID profiles a manifest can be built with, as ipfs-unixfs-importer options. Named as in
 * IPIP-499 (https://github.com/ipfs/specs/pull/499) plus the default, which is what
 * `ipfs add --cid-version=1` gives.
 */
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import * as defaults from './constants.ts'
import { UnknownProfileError } from './errors.ts'
import type { ImporterOptions } from 'ipfs-unixfs-importer'

export const PROFILE_NAMES = ['unixfs-v1-default', 'unixfs-v0-2015', 'unixfs-v1-2025'] as const
export type ProfileName = typeof PROFILE_NAMES[number]

export interface ProfileSpec {
  cidVersion: 0 | 1
  rawLeaves: boolean
  chunkSize: number
  maxChildrenPerNode: number
}

export const PROFILES: Readonly<Record<ProfileName, Readonly<ProfileSpec>>> = {
  /** `ipfs add --cid-version=1`: CIDv1, raw leaves, 256 KiB chunks, 174 links. */
  'unixfs-v1-default': { cidVersion: 1, rawLeaves: true, chunkSize: defaults.DEFAULT_CHUNK_SIZE_BYTES, maxChildrenPerNode: defaults.DEFAULT_MAX_CHILDREN_PER_NODE },
  /** Plain `ipfs add`: CIDv0, dag-pb leaves, 256 KiB chunks, 174 links. */
  'unixfs-v0-2015': { cidVersion: 0, rawLeaves: false, chunkSize: defaults.DEFAULT_CHUNK_SIZE_BYTES, maxChildrenPerNode: defaults.DEFAULT_MAX_CHILDREN_PER_NODE },
  /** IPIP-499 modern profile: CIDv1, raw leaves, 1 MiB chunks, 1024 links. */
  'unixfs-v1-2025': { cidVersion: 1, rawLeaves: true, chunkSize: defaults.DEFAULT_CHUNK_SIZE_V1_2025_BYTES, maxChildrenPerNode: defaults.DEFAULT_MAX_CHILDREN_PER_NODE_V1_2025 }
}

export function isProfileName (name: unknown): name is ProfileName {
  return typeof name === 'string' && (PROFILE_NAMES as readonly string[]).includes(name)
}

/** The profile's spec; throws UnknownProfileError for any other name. */
export function profileSpec (name: string): Readonly<ProfileSpec> {
  if (!isProfileName(name)) throw new UnknownProfileError(`unknown profile ${JSON.stringify(name)}; expected one of ${PROFILE_NAMES.join(', ')}`)
  return PROFILES[name]
}

/** Importer options that give the profile's CIDs for a single file. */
export function importerOptions (name: string): ImporterOptions {
  const spec = profileSpec(name)
  return {
    cidVersion: spec.cidVersion,
    rawLeaves: spec.rawLeaves,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: spec.chunkSize }),
    layout: balanced({ maxChildrenPerNode: spec.maxChildrenPerNode }),
    wrapWithDirectory: false
  }
}
