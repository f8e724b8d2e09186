/** Defaults of publishing (the `swarmsite build` and `keygen` CLI, the Vite plugin). */

/**
 * Where `swarmsite keygen` writes the site signing key unless `--out` says otherwise (relative
 * to the current folder, beside the relay's `.swarmsite/relay.key`); never inside the site folder.
 */
export const DEFAULT_SIGNING_KEY_FILE = '.swarmsite/site.key'
