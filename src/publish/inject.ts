/**
 * Puts the drop-in's `<script>` tag into an HTML page: the one integration step a site needs
 * besides the manifest. Pure string work, so it runs on any build output (Vite, Astro, Hugo,
 * a hand-written folder); injecting twice replaces the earlier tag rather than adding one.
 */
import { DROP_IN_FILES } from '../browser/constants.ts'
import { InjectError } from './errors.ts'

export interface DropInTagInit {
  /** Relay multiaddrs, each ending in /p2p/<peer id> (the drop-in's `data-bootstrap`). */
  bootstrap: string[]
  /** URL of the loader; default `/swarmsite.js`. */
  src?: string
  /** URL of the manifest, when not `/swarmsite.json`. */
  manifest?: string
  /** Peer deadline per block before the origin is asked (`data-deadline-ms`). */
  deadlineMs?: number
  /** ICE servers for WebRTC (`data-ice-servers`, JSON). */
  iceServers?: RTCIceServer[]
  /** Upload cap in bytes per second (`data-upload-max`). */
  uploadMaxBytesPerSecond?: number
  /**
   * Peers first even when the origin is fast (`data-prefer-peers="on"`): the origin is only the
   * fallback for blocks no peer delivers in time. For a site that pays for every origin byte
   * more than for its visitors' time; by default a fast origin is used as it is.
   */
  preferPeers?: boolean
  /** The site's publisher key (`data-public-key`): pages refuse a manifest it did not sign. */
  publicKey?: string
}

export const DEFAULT_DROP_IN_SRC = `/${DROP_IN_FILES[0]}`

/** Marks the tag this module writes, so it can find and replace it later. */
const MARK = 'data-swarmsite'

function attribute (value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;')
}

/** The `<script type="module" …>` element for these settings. */
export function dropInTag (init: DropInTagInit): string {
  const attributes: Array<[string, string]> = [['src', init.src ?? DEFAULT_DROP_IN_SRC], ['data-bootstrap', init.bootstrap.join(' ')]]
  if (init.manifest != null) attributes.push(['data-manifest', init.manifest])
  if (init.deadlineMs != null) attributes.push(['data-deadline-ms', String(init.deadlineMs)])
  if (init.iceServers != null) attributes.push(['data-ice-servers', JSON.stringify(init.iceServers)])
  if (init.uploadMaxBytesPerSecond != null) attributes.push(['data-upload-max', String(init.uploadMaxBytesPerSecond)])
  if (init.preferPeers === true) attributes.push(['data-prefer-peers', 'on'])
  if (init.publicKey != null) attributes.push(['data-public-key', init.publicKey])
  return `<script type="module" ${attributes.map(([k, v]) => `${k}="${attribute(v)}"`).join(' ')} ${MARK}></script>`
}

/** A tag written earlier by `dropInTag` (any settings), or a hand-written one loading the drop-in. */
const EARLIER = new RegExp(`<script\\b(?=[^>]*(?:\\s${MARK}[\\s>=/]|\\ssrc=["']?[^"'\\s>]*/${DROP_IN_FILES[0].replace('.', '\\.')}["'\\s>]))[^>]*>\\s*</script>\\s*`, 'gi')

/**
 * The page with the drop-in tag in its `<head>` before the page's own scripts (so it starts
 * first and `window.swarmsite` is set when they run; bundlers such as Vite move the app's
 * module script into the head), else at the start of its `<body>`, else first; replacing a
 * tag injected before. Throws InjectError for text that has no `<html>`, `<head>` or `<body>`
 * at all: that is no page.
 */
export function injectDropIn (html: string, init: DropInTagInit, name = 'the page'): string {
  const tag = dropInTag(init)
  const page = html.replace(EARLIER, '')
  const head = /<\/head\s*>/i.exec(page)
  if (head != null) {
    const script = /<script\b/i.exec(page.slice(0, head.index))
    const at = script?.index ?? head.index
    return `${page.slice(0, at)}${tag}\n${page.slice(at)}`
  }
  const body = /<body\b[^>]*>/i.exec(page)
  if (body != null) return `${page.slice(0, body.index + body[0].length)}\n${tag}${page.slice(body.index + body[0].length)}`
  const start = /<html\b[^>]*>/i.exec(page) ?? /<!doctype[^>]*>/i.exec(page)
  if (start != null) return `${page.slice(0, start.index + start[0].length)}\n${tag}${page.slice(start.index + start[0].length)}`
  throw new InjectError(`${name} has no <html>, <head> or <body>: not an HTML page`)
}
