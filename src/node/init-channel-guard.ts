/**
 * Works around a race in @libp2p/webrtc 6.0.33's dialler without patching the dependency, so
 * it holds for every install of this package (upstream report: docs/upstream/webrtc-init-channel-race.md).
 *
 * The dialler opens a data channel labelled `init` only so ICE has something to negotiate,
 * and after the connection comes up runs
 *   `if (channel.readyState !== 'open') await pEvent(channel, 'open')`, then `close()`, then
 *   `await pEvent(channel, 'close')`.
 * The dialled side closes `init` the moment it sees it. On a busy tab the dialler's code runs
 * only after its channel has opened *and* closed: it then waits for an `open` (or `close`)
 * event that already happened and never comes again, and the dial hangs until its deadline
 * (20-40 % of dials with 10 tabs dialling each other, see shared NOTES).
 *
 * The guard makes those two events level-triggered on `init` channels: a listener for `open`
 * added once the channel is past `connecting`, or for `close` once it is `closed`, is called
 * (once, in a microtask) as if the event had just fired; an `open` listener also hears the
 * channel closing without ever opening. Nothing else about the channel changes: its
 * `readyState` stays true, and channels with any other label (libp2p's streams use '') are
 * untouched. This is exactly the behaviour of the fix proposed upstream.
 */
import { logger } from '@libp2p/logger'

const log = logger('swarmsite:webrtc:init-channel')

/** The label @libp2p/webrtc's dialler gives its negotiation-only data channel. */
export const INIT_CHANNEL_LABEL = 'init'

/** Marks a peer connection class whose `createDataChannel` is already guarded (one realm, any copy of this module). */
const GUARDED = Symbol.for('swarmsite.webrtc.init-channel-guard')

type Listener = EventListenerOrEventListenerObject
type ChannelEvents = Pick<RTCDataChannel, 'readyState' | 'label' | 'addEventListener' | 'removeEventListener'>

function call (listener: Listener, target: unknown, event: Event): void {
  if (typeof listener === 'function') listener.call(target, event)
  else listener.handleEvent(event)
}

/**
 * Makes `open` and `close` waits on one `init` channel level-triggered (see the module
 * comment). Exported for its tests; `guardInitChannels` applies it to every new `init` channel.
 */
export function releaseLateWaits (channel: ChannelEvents): void {
  const add = channel.addEventListener.bind(channel)
  const remove = channel.removeEventListener.bind(channel)
  let opened = channel.readyState === 'open'
  add('open', () => { opened = true })
  // per event type: each caller's listener and how to take its registration back
  const registered = new Map<string, Map<Listener, () => void>>([['open', new Map()], ['close', new Map()]])

  const addEventListener = (type: string, listener: Listener | null, options?: boolean | AddEventListenerOptions): void => {
    const ofType = registered.get(type)
    if (listener == null || ofType == null || ofType.has(listener)) {
      if (listener != null) add(type, listener, options)
      return
    }
    const once = typeof options === 'object' && options.once === true
    let released = false
    const deliver = (event: Event): void => {
      if (once) unregister()
      call(listener, channel, event)
    }
    // an event that already happened (or, for 'open', will now never happen) is delivered once
    const release = (event: Event): void => {
      if (released || ofType.get(listener) !== unregister) return
      released = true
      deliver(event)
    }
    const closedBeforeOpen = (): void => { if (!opened) release(new Event('open')) }
    const unregister = (): void => {
      ofType.delete(listener)
      remove(type, deliver)
      remove('close', closedBeforeOpen)
    }
    ofType.set(listener, unregister)
    add(type, deliver, options)
    if (type === 'open') {
      add('close', closedBeforeOpen)
      if (channel.readyState !== 'connecting') {
        log.trace('open listener added to an init channel already %s: released', channel.readyState)
        queueMicrotask(() => { release(new Event('open')) })
      }
    } else if (channel.readyState === 'closed') {
      log.trace('close listener added to a closed init channel: released')
      queueMicrotask(() => { release(new Event('close')) })
    }
  }

  const removeEventListener = (type: string, listener: Listener | null, options?: boolean | EventListenerOptions): void => {
    const unregister = listener == null ? undefined : registered.get(type)?.get(listener)
    if (unregister == null) { if (listener != null) remove(type, listener, options) }
    else unregister()
  }

  Object.defineProperty(channel, 'addEventListener', { value: addEventListener, configurable: true, writable: true })
  Object.defineProperty(channel, 'removeEventListener', { value: removeEventListener, configurable: true, writable: true })
}

interface PeerConnectionClass { prototype: Pick<RTCPeerConnection, 'createDataChannel'> }

/**
 * Guards every `init` channel created by peer connections of this class from now on. Safe
 * to call more than once; a missing class (no WebRTC in this environment) is a no-op.
 */
export function guardInitChannels (peerConnectionClass: PeerConnectionClass | undefined): void {
  const prototype = peerConnectionClass?.prototype as (PeerConnectionClass['prototype'] & { [GUARDED]?: true }) | undefined
  if (prototype == null || typeof prototype.createDataChannel !== 'function' || prototype[GUARDED] === true) return
  const createDataChannel = prototype.createDataChannel
  Object.defineProperty(prototype, 'createDataChannel', {
    configurable: true,
    writable: true,
    value: function (this: RTCPeerConnection, label: string, init?: RTCDataChannelInit): RTCDataChannel {
      const channel = createDataChannel.call(this, label, init)
      if (label === INIT_CHANNEL_LABEL) releaseLateWaits(channel)
      return channel
    }
  })
  Object.defineProperty(prototype, GUARDED, { value: true })
}
