/** The `http` system: the same pages with no swarm, each fetching the asset from the origin. */
import type { SystemDriver } from '../types.ts'

export interface HttpPageConfig {
  path: string
  size: number
  sha256: string
  /** visitor i uses originUrls[i % length] */
  originUrls: string[]
}

export const httpSystem: SystemDriver = {
  name: 'http',
  pageEntry: new URL('./http-page.ts', import.meta.url).pathname,
  async prepare (setup) {
    const pageConfig: HttpPageConfig = { path: setup.asset.path, size: setup.asset.size, sha256: setup.asset.sha256, originUrls: setup.originUrls }
    return { pageConfig, async cleanup () {} }
  }
}

export default httpSystem
