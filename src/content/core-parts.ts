/**
 * The content core's node parts, the block exchange and availability, with the libp2p code
 * they bring (length-prefixed streams, protobuf have-summaries, gossipsub messages). Apart from
 * core.ts so a page loads them with its node: the swarm imports this module lazily, the relay
 * (whose node comes first) through `contentCore`.
 */
import { availability } from './availability/index.ts'
import { ContentCore } from './core.ts'
import { blockExchange } from './exchange/block-exchange.ts'
import type { ContentCoreComponents, ContentCoreInit, ContentCoreParts } from './core.ts'

export const contentCoreParts: ContentCoreParts = { availability, blockExchange }

/** A core attached to its node's parts at once (the relay's seeder: the node comes first there). */
export function contentCore (init: ContentCoreInit): (components: ContentCoreComponents) => ContentCore {
  return (components) => {
    const core = new ContentCore(init)
    core.attach(components, contentCoreParts)
    return core
  }
}
