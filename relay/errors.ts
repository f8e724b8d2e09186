/** A relay setting that cannot work: bad flag, unreadable key, port in use. */
export class RelayConfigError extends Error {
  static override name = 'RelayConfigError'
  override name = 'RelayConfigError'
}
