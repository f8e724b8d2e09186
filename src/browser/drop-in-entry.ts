// Entry of the `swarmsite.js` bundle: exports the API and starts from its <script> tag.
import { autoStart } from './drop-in.ts'

export { startSite, Site } from './drop-in.ts'
export * from '../index.ts'

autoStart()
