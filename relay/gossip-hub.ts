import { logger } from '@libp2p/logger'
import { isHaveTopic } from '../src/relay-api.ts'
import type { SummaryGuard } from '../src/relay-api.ts'
import type { GossipSub, Message, SubscriptionChangeData } from '@libp2p/gossipsub'

const log = logger('swarmsite:relay:gossip-hub')

export interface GossipHubInit {
  topicPrefix: string
  maxTopics: number
  onMessage?(topic: string, bytes: number): void
  /** Validates each joined topic's summaries (garbage rejected, floods cut; see summary-guard.ts). */
  summaryGuard?: SummaryGuard
}

export interface GossipHub {
  start(): void
  stop(): void
  topics(): string[]
}

/**
 * The relay joins every site topic its peers join (those with our prefix, up to a bound),
 * so it sits in each site's gossip mesh and bridges pages that have no direct link yet.
 */
export function gossipHub (init: GossipHubInit): (components: { pubsub: GossipSub }) => GossipHub {
  return ({ pubsub }) => {
    const joined = new Set<string>()
    const onSubscriptionChange = (evt: CustomEvent<SubscriptionChangeData>): void => {
      for (const { topic, subscribe } of evt.detail.subscriptions) {
        if (!subscribe || joined.has(topic) || !topic.startsWith(init.topicPrefix)) continue
        if (joined.size >= init.maxTopics) {
          log('not joining %s: already in %d topics', topic, joined.size)
          continue
        }
        joined.add(topic)
        // the hub forwards every summary to every page: it must not forward garbage or floods.
        // Only on have topics: a site's other topics carry other messages
        if (init.summaryGuard != null && isHaveTopic(topic)) pubsub.topicValidators.set(topic, init.summaryGuard.validator)
        pubsub.subscribe(topic)
        log('joined topic %s', topic)
      }
    }
    const onMessage = (evt: CustomEvent<Message>): void => {
      init.onMessage?.(evt.detail.topic, evt.detail.data.byteLength)
    }
    return {
      start () {
        pubsub.addEventListener('subscription-change', onSubscriptionChange)
        pubsub.addEventListener('message', onMessage)
      },
      stop () {
        pubsub.removeEventListener('subscription-change', onSubscriptionChange)
        pubsub.removeEventListener('message', onMessage)
        for (const topic of joined) {
          pubsub.unsubscribe(topic)
          if (init.summaryGuard != null && pubsub.topicValidators.get(topic) === init.summaryGuard.validator) pubsub.topicValidators.delete(topic)
        }
        joined.clear()
      },
      topics: () => [...joined]
    }
  }
}
