/**
 * The crowd benchmark's progress display on stderr: one line rewritten in place on a TTY,
 * plain lines otherwise (on phase changes, and at most every 10 s while visiting).
 */
import type { RunProgress } from './runner.ts'

export interface ProgressDisplay {
  update(p: RunProgress): void
  /** A message of its own (keeps the updating line below it). */
  log(line: string): void
  /** Ends the updating line. */
  done(): void
}

const MiB = 1024 * 1024

function describe (p: RunProgress): string {
  const head = `${p.system} ${p.run}/${p.runs} ${p.phase}`
  switch (p.phase) {
    case 'opening pages': return `${head}: ${p.opened}/${p.peers}`
    case 'visiting': return `${head} ${(p.elapsedMs / 1000).toFixed(0).padStart(4)} s: arrived ${p.arrived}/${p.peers}, done ${p.done}${p.failed > 0 ? `, failed ${p.failed}` : ''}, origin sent ${(p.originBytes / MiB).toFixed(1)} MiB`
    default: return head
  }
}

export function progressDisplay (scenario: string, stream: NodeJS.WriteStream = process.stderr): ProgressDisplay {
  const tty = stream.isTTY === true
  const t0 = performance.now()
  const stamp = (): string => `[${scenario} ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s]`
  let live = false
  let lastPlain = ''
  let lastPlainAt = 0
  let lastPhase = ''
  const clear = (): void => {
    if (live) stream.write('\r\x1b[2K')
    live = false
  }
  return {
    update (p) {
      const line = `${stamp()} ${describe(p)}`
      if (tty) {
        clear()
        const columns = stream.columns > 0 ? stream.columns : 120
        stream.write(line.slice(0, Math.max(20, columns - 1)))
        live = true
        return
      }
      const phase = `${p.system}/${p.run}/${p.phase}`
      const now = performance.now()
      const finished = p.phase === 'visiting' && p.done + p.failed === p.peers
      if (phase !== lastPhase || finished || (p.phase === 'visiting' && now - lastPlainAt >= 10_000)) {
        const text = describe(p)
        if (text === lastPlain) return
        stream.write(`${line}\n`)
        lastPlain = text
        lastPlainAt = now
        lastPhase = phase
      }
    },
    log (line) {
      clear()
      stream.write(`${stamp()} ${line}\n`)
    },
    done () { clear() }
  }
}
