// The `swarm` system's page: a visitor arrives, starts a swarm (this library) and fetches the
// asset with swarm.fetch; it then stays, serving what it holds, until the runner closes it.
// The visit itself is swarm-visit.ts, shared with the Node visitor (swarm-node.ts).
import { readBody } from './page-common.ts'
import { createSwarmVisitor } from './swarm-visit.ts'

const visitor = createSwarmVisitor({ runtime: 'chromium', readBody })

window.benchVisit = visitor.visit
window.benchAfter = visitor.after
