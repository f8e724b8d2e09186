/** A relay setting that cannot work: bad flag, unreadable key, port in use. */
export class RelayConfigError extends Error {
  static override name = 'RelayConfigError'
  override name = 'RelayConfigError'
}

/**
 * What `--seed` names cannot be served: the folder or its manifest is missing or invalid, or a
 * store cannot hold the site. A RelayConfigError, so the CLI reports it in one line.
 */
export class SeedConfigError extends RelayConfigError {
  static override name = 'SeedConfigError'
  override name = 'SeedConfigError'
}

/**
 * A file of the seeded folder is missing or its bytes differ from the manifest: the folder
 * changed after `swarmsite build`. `path` is the manifest path of the file.
 */
export class SeedContentMismatchError extends RelayConfigError {
  static override name = 'SeedContentMismatchError'
  override name = 'SeedContentMismatchError'
  readonly path: string

  constructor (message: string, path: string, options?: ErrorOptions) {
    super(message, options)
    this.path = path
  }
}
