/** The asset a crowd loads: random bytes (incompressible) in a folder of their own. */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CrowdAsset } from './types.ts'

/** Writes `size` random bytes to `<dir>/<name>` (dir: a fresh temp folder by default). */
export async function makeAsset (size: number, options: { dir?: string, name?: string } = {}): Promise<CrowdAsset> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`asset size must be an integer >= 1, got ${size}`)
  const dir = options.dir ?? await mkdtemp(join(tmpdir(), 'swarmsite-crowd-'))
  await mkdir(dir, { recursive: true })
  const name = options.name ?? 'asset.bin'
  const hash = createHash('sha256')
  const fh = await open(join(dir, name), 'w')
  try {
    for (let done = 0; done < size;) {
      const chunk = randomBytes(Math.min(1 << 20, size - done))
      hash.update(chunk)
      await fh.write(chunk)
      done += chunk.byteLength
    }
  } finally {
    await fh.close()
  }
  return { path: name, size, sha256: hash.digest('hex'), dir }
}
