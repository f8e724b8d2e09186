// The direction of imports between the library (src/) and the relay (relay/): the relay uses
// the library's public modules only (src/index.ts, src/relay-api.ts); the library never
// imports the relay, except the CLI (src/cli), the entry point that runs both.
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative, resolve, dirname } from 'node:path'
import { describe, it } from 'node:test'

const ROOT = new URL('../..', import.meta.url).pathname

/** Relative import specifiers of a TypeScript file (static, re-exports and dynamic). */
function importsOf (source: string): string[] {
  const found: string[] = []
  for (const m of source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"](\.[^'"]+)['"]/g)) found.push(m[1]!)
  for (const m of source.matchAll(/\bimport\s*\(\s*['"](\.[^'"]+)['"]\s*\)/g)) found.push(m[1]!)
  return found
}

async function tsFiles (dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { recursive: true, withFileTypes: true })
  return entries.filter(e => e.isFile() && e.name.endsWith('.ts')).map(e => relative(ROOT, join(e.parentPath, e.name))).sort()
}

/** Every relative import of the files under `dir`, as [importing file, imported file] (paths from the root). */
async function edges (dir: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = []
  for (const file of await tsFiles(dir)) {
    const source = await readFile(join(ROOT, file), 'utf8')
    for (const spec of importsOf(source)) out.push([file, relative(ROOT, resolve(ROOT, dirname(file), spec))])
  }
  return out
}

describe('layering: src/ and relay/', () => {
  it('the import scanner sees static, type, re-export and dynamic imports', () => {
    const source = "import { a } from './a.ts'\nimport type { B } from '../b.ts'\nexport { c } from './c.ts'\nconst d = await import('./d.ts')\nimport x from 'pkg'\n"
    assert.deepEqual(importsOf(source), ['./a.ts', '../b.ts', './c.ts', './d.ts'])
  })

  it('relay/ imports the library only through src/index.ts and src/relay-api.ts', async () => {
    const deep = (await edges('relay'))
      // relay/main.ts is an entry point: it runs the CLI's relay command
      .filter(([from, to]) => from !== 'relay/main.ts' && to.startsWith('src/') && to !== 'src/index.ts' && to !== 'src/relay-api.ts')
    assert.deepEqual(deep, [])
  })

  it('src/ imports nothing from relay/ but in src/cli', async () => {
    const back = (await edges('src')).filter(([from, to]) => to.startsWith('relay/') && !from.startsWith('src/cli/'))
    assert.deepEqual(back, [])
  })
})
