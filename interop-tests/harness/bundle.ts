import { build } from 'esbuild'

const cache = new Map<string, Promise<string>>()

/** Bundles a browser entry (TypeScript) into one ESM script, as a site's build would. */
export async function bundleForBrowser (entry: string): Promise<string> {
  let bundled = cache.get(entry)
  if (bundled == null) {
    bundled = build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      sourcemap: 'inline',
      logLevel: 'silent'
    }).then(result => result.outputFiles[0]!.text)
    cache.set(entry, bundled)
  }
  return bundled
}
