/**
 * The files of a site folder, as relative `/` paths. Hidden entries (any segment starting
 * with '.'), symlinks resolving outside the folder, unreadable entries and anything that is
 * not a regular file or directory are skipped and reported; symlinks inside are followed.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import type { SkippedFile } from './manifest-types.ts'

export interface SiteFile {
  /** Relative, `/`-separated. */
  path: string
  /** Absolute path to read (symlinks resolved). */
  absolute: string
}

export interface WalkResult {
  files: SiteFile[]
  skipped: SkippedFile[]
}

function inside (root: string, target: string): boolean {
  const rel = relative(root, target)
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !rel.startsWith(sep))
}

/** `exclude`: absolute real paths never to list (e.g. the manifest being written). */
export async function walkSite (dir: string, exclude: ReadonlySet<string> = new Set()): Promise<WalkResult> {
  const root = await realpath(dir)
  const files: SiteFile[] = []
  const skipped: SkippedFile[] = []
  const seenDirs = new Set<string>([root])

  const visit = async (absDir: string, relDir: string): Promise<void> => {
    let names: string[]
    try {
      names = await readdir(absDir)
    } catch (err: any) {
      skipped.push({ path: relDir === '' ? '.' : relDir, reason: 'unreadable', message: `cannot read directory: ${err.code ?? err.message}` })
      return
    }
    names.sort()
    for (const name of names) {
      const rel = relDir === '' ? name : `${relDir}/${name}`
      if (name.startsWith('.')) { skipped.push({ path: rel, reason: 'hidden', message: 'hidden file or directory' }); continue }
      const abs = join(absDir, name)
      let target = abs
      let info
      try {
        info = await lstat(abs)
        if (info.isSymbolicLink()) {
          target = await realpath(abs)
          if (!inside(root, target)) { skipped.push({ path: rel, reason: 'symlink-outside', message: 'symlink points outside the folder' }); continue }
          info = await stat(target)
        }
      } catch (err: any) {
        skipped.push({ path: rel, reason: 'unreadable', message: `cannot stat: ${err.code ?? err.message}` })
        continue
      }
      if (info.isDirectory()) {
        // a symlink to a directory already being walked (a loop) is listed once only
        if (seenDirs.has(target)) { skipped.push({ path: rel, reason: 'not-a-file', message: 'directory already included (symlink loop or duplicate)' }); continue }
        seenDirs.add(target)
        await visit(target, rel)
      } else if (info.isFile()) {
        if (exclude.has(target)) continue
        files.push({ path: rel, absolute: target })
      } else {
        skipped.push({ path: rel, reason: 'not-a-file', message: 'not a regular file or directory' })
      }
    }
  }
  await visit(root, '')
  files.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  return { files, skipped }
}
