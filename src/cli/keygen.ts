import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { encodeSiteKey } from '../content/manifest-signature.ts'
import { DEFAULT_SIGNING_KEY_FILE } from '../publish/constants.ts'
import { createSigningKey } from '../publish/signing-key.ts'
import { UsageError } from './options.ts'

export const KEYGEN_HELP = `Usage: swarmsite keygen [--out <file>] [--json]

Makes a site signing key (Ed25519) and prints its public key. 'swarmsite build --sign <file>'
signs the manifest with it; pages given the public key (the drop-in tag's data-public-key,
createSwarm({ publicKey })) then refuse a manifest it did not sign, or an older one.

  --out <file>   where to write the key (default ${DEFAULT_SIGNING_KEY_FILE}); created mode 0600,
                 never overwritten. Keep it out of the site folder and out of version control:
                 whoever holds it can publish for the site.
  --json         print { keyFile, publicKey } as one JSON line
  -h, --help     show this help`

/** `swarmsite keygen`: resolves with the process exit code. */
export async function keygenCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help === true) {
    process.stdout.write(KEYGEN_HELP + '\n')
    return 0
  }
  if (positionals.length > 0) throw new UsageError(`keygen takes no arguments (got ${JSON.stringify(positionals[0])}); the file is --out <file>`)
  const keyFile = resolve(values.out ?? DEFAULT_SIGNING_KEY_FILE)
  const key = await createSigningKey(keyFile)
  const publicKey = encodeSiteKey(key.publicKey)
  if (values.json === true) {
    process.stdout.write(JSON.stringify({ keyFile, publicKey }) + '\n')
  } else {
    process.stdout.write(`wrote ${keyFile} (mode 0600)\npublic key: ${publicKey}\n` +
      `sign with 'swarmsite build <dir> --sign ${keyFile} …'; pages check it with data-public-key="${publicKey}"\n`)
  }
  return 0
}
