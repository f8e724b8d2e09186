// One "visit" in a process of its own: accepts the manifest in argv[2] for the site key in
// argv[3] with the default version store (localStorage when Node runs with
// --experimental-webstorage --localstorage-file), and prints the outcome as one JSON line.
import { readFile } from 'node:fs/promises'
import { decodeSiteKey } from '../../src/content/manifest-signature.ts'
import { acceptManifest } from '../../src/content/manifest-trust.ts'

const [manifestPath, siteKey] = process.argv.slice(2)
try {
  const manifest = await acceptManifest(await readFile(manifestPath!, 'utf8'), { publicKey: decodeSiteKey(siteKey!) })
  process.stdout.write(JSON.stringify({ accepted: manifest.siteVersion, store: typeof (globalThis as any).localStorage }) + '\n')
} catch (err: any) {
  process.stdout.write(JSON.stringify({ error: err.name, message: err.message, store: typeof (globalThis as any).localStorage }) + '\n')
}
