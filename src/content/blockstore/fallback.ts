/**
 * A store that keeps the swarm working when its persistent store cannot: an IndexedDB that
 * will not open (blocked by another tab's connection at an older version, private mode, a
 * broken profile) or that refuses writes (QuotaExceededError, the disk full) hands over to a
 * memory store. Blocks already held in the primary stay readable; new ones go to memory. Nothing
 * is thrown at the page for it: `degraded` says why (shown in `swarm.stats().store`).
 *
 * A blocked IndexedDB open never settles by itself (the browser waits for the other
 * connection to close), so opening gives up after `openTimeoutMs`.
 */
import { DEFAULT_FALLBACK_OPEN_TIMEOUT_MS } from './constants.ts'
import type { BlockstoreUsage, SwarmBlockstore } from './interface.ts'
import type { AbortOptions } from '@libp2p/interface'

export interface FallbackBlockstore extends SwarmBlockstore {
  /** Why the primary store is not (or no longer) used; undefined while it is. */
  readonly degraded: string | undefined
}

export interface FallbackBlockstoreInit {
  /** Opening the primary gives up after this long, ms; default 5000. */
  openTimeoutMs?: number
  onDegraded?(reason: string): void
}

function describe (err: any): string {
  return `${String(err?.name ?? 'Error')}: ${String(err?.message ?? err)}`
}

export function fallbackBlockstore (primary: SwarmBlockstore, fallback: SwarmBlockstore, init: FallbackBlockstoreInit = {}): FallbackBlockstore {
  const openTimeoutMs = init.openTimeoutMs ?? DEFAULT_FALLBACK_OPEN_TIMEOUT_MS
  /** 'primary': all on the primary; 'both': reads from both, writes to memory; 'fallback': the primary never opened. */
  let mode: 'primary' | 'both' | 'fallback' = 'primary'
  let degraded: string | undefined

  const degrade = async (to: 'both' | 'fallback', reason: string): Promise<void> => {
    if (degraded == null) {
      degraded = reason
      init.onDegraded?.(reason)
    }
    if (mode === 'primary') {
      mode = to
      await fallback.open()
    }
  }

  const store: FallbackBlockstore = {
    get kind () { return mode === 'primary' ? primary.kind : mode === 'both' ? `${primary.kind}+${fallback.kind}` : fallback.kind },
    get degraded () { return degraded },
    async open (options?: AbortOptions) {
      let timer: ReturnType<typeof setTimeout> | undefined
      try {
        await Promise.race([
          primary.open(options),
          new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new DOMException(`opening the ${primary.kind} store took over ${openTimeoutMs} ms (blocked by another connection?)`, 'TimeoutError')) }, openTimeoutMs) })
        ])
      } catch (err) {
        options?.signal?.throwIfAborted()
        // a late open must not leave a connection holding the database
        void primary.close().catch(() => {})
        await degrade('fallback', `${primary.kind} store unavailable, blocks kept in memory (${describe(err)})`)
      } finally {
        clearTimeout(timer)
      }
    },
    async close () {
      await Promise.allSettled([mode !== 'fallback' ? primary.close() : Promise.resolve(), mode !== 'primary' ? fallback.close() : Promise.resolve()])
    },
    async has (cid, options) {
      if (mode !== 'fallback' && await primary.has(cid, options).catch(() => false)) return true
      return mode !== 'primary' && await fallback.has(cid, options)
    },
    async get (cid, options) {
      if (mode !== 'fallback') {
        const bytes = await primary.get(cid, options).catch(() => undefined)
        if (bytes != null || mode === 'primary') return bytes
      }
      return fallback.get(cid, options)
    },
    async put (cid, bytes, options) {
      if (mode === 'primary') {
        try {
          await primary.put(cid, bytes, options)
          return
        } catch (err: any) {
          options?.signal?.throwIfAborted()
          // a store that refuses a verified block (its quota, a full disk, a closed database):
          // keep this one and every later one in memory
          if (err?.name === 'BlockTooLargeError') throw err
          await degrade('both', `${primary.kind} store refused a write, new blocks kept in memory (${describe(err)})`)
        }
      }
      await fallback.put(cid, bytes, options)
    },
    async delete (cid, options) {
      if (mode !== 'fallback') await primary.delete(cid, options).catch(() => {})
      if (mode !== 'primary') await fallback.delete(cid, options)
    },
    async * cids (options) {
      if (mode !== 'fallback') {
        try { for await (const c of primary.cids(options)) yield c } catch {}
      }
      if (mode !== 'primary') yield * fallback.cids(options)
    },
    usage (): BlockstoreUsage {
      if (mode === 'primary') return primary.usage()
      if (mode === 'fallback') return fallback.usage()
      const a = primary.usage()
      const b = fallback.usage()
      return { bytes: a.bytes + b.bytes, blocks: a.blocks + b.blocks, maxBytes: a.maxBytes + b.maxBytes }
    }
  }
  return store
}
