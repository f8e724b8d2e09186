/** Finds the drop-in's browser files in this package (dist/browser/) and copies them into a site. */
import { copyFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DROP_IN_CHUNK, DROP_IN_FILES, isDropInFile } from '../browser/constants.ts'
import { BrowserFilesMissingError } from './errors.ts'

/** dist/browser/ seen from this file both as built (dist/src/publish/) and as source (src/publish/). */
export async function browserFilesDir (): Promise<string> {
  for (const candidate of ['../../browser/', '../../dist/browser/']) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url))
    const all = await Promise.all(DROP_IN_FILES.map(async name => stat(join(dir, name)).then(() => true, () => false)))
    if (all.every(Boolean)) return dir
  }
  throw new BrowserFilesMissingError(`the browser files (${DROP_IN_FILES.join(', ')}) are not built: run 'npm run build' in the swarmsite package`)
}

/** Names of the drop-in's files in `dir` (scripts, chunks, their source maps), sorted. */
export async function dropInFilesIn (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  return entries.filter(e => e.isFile() && isDropInFile(e.name)).map(e => e.name).sort()
}

/**
 * Copies the drop-in's files (the scripts and the chunks the core imports, not source maps)
 * into `dir`; resolves with the paths written. Chunks of an earlier copy stay: a tab still
 * running that build's core may yet import them.
 */
export async function copyBrowserFiles (dir: string): Promise<string[]> {
  const from = await browserFilesDir()
  const chunks = (await dropInFilesIn(from)).filter(name => DROP_IN_CHUNK.test(name))
  const written: string[] = []
  for (const name of [...DROP_IN_FILES, ...chunks]) {
    await copyFile(join(from, name), join(dir, name))
    written.push(join(dir, name))
  }
  return written
}
