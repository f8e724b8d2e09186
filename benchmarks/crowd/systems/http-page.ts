// The `http` system's page: the visitor fetches the asset from the origin with plain fetch().
import { failedVisit, readBody } from './page-common.ts'
import type { HttpPageConfig } from './http.ts'
import type { VisitorResult } from '../types.ts'

window.benchVisit = async (config: HttpPageConfig, visitor: number): Promise<VisitorResult> => {
  const started = performance.now()
  try {
    const url = new URL(config.path, config.originUrls[visitor % config.originUrls.length])
    const response = await fetch(url, { cache: 'no-store' })
    if (!response.ok) throw new Error(`origin answered HTTP ${response.status}`)
    const body = await readBody(response.body, started, config.size)
    return {
      visitor,
      system: 'http',
      arrivedAtMs: 0,
      firstByteMs: body.firstByteMs,
      completeMs: body.completeMs,
      bytes: body.bytes,
      fromPeers: 0,
      fromOrigin: body.bytes,
      uploaded: 0,
      ok: body.bytes === config.size && body.sha256 === config.sha256,
      ...(body.sha256 !== config.sha256 ? { error: `got ${body.bytes} bytes with another SHA-256` } : {}),
      sha256: body.sha256
    }
  } catch (err) {
    return failedVisit('http', visitor, started, err)
  }
}
window.benchAfter = async () => ({ uploaded: 0 })
