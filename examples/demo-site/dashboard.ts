// The demo page's live swarm panel. It uses only swarmsite's public API: the drop-in's
// `window.swarmsite` (a Promise<Site>) and its `swarmsite:error` event, `swarm.stats()`, the
// swarm's and its node's events, and the origin's counters at /__swarmsite/origin-stats.
// Every number it shows is also in a `data-value` attribute, for tests.
import { formatBytes, formatMs, formatPercent, shortPeerId } from './format.ts'
import type { Site } from '../../src/browser/drop-in.ts'
import type { BlockReceivedDetail, FetchDoneDetail, SwarmStats } from '../../src/index.ts'

const ORIGIN_STATS_URL = '/__swarmsite/origin-stats'
const REFRESH_MS = 1_000
const ORIGIN_STATS_REFRESH_MS = 2_000

type Source = BlockReceivedDetail['source']
type PanelState = 'starting' | 'live' | 'relay-unreachable' | 'error'
type RelayState = 'connecting' | 'connected' | 'reserved' | 'unreachable'

interface AssetProgress {
  path: string
  /** Where the page first mentions it, for a table in page order. */
  order: number
  size: number
  totalBlocks: number
  /** Where each block held by this page first came from in this visit, and its size. */
  blocks: Map<number, { source: Source, bytes: number }>
  fetches: number
  lastFetch?: FetchDoneDetail
  error?: string
}

const $ = (id: string): HTMLElement => {
  const element = document.getElementById(id)
  if (element == null) throw new Error(`the page has no #${id}`)
  return element
}

function setValue (id: string, value: number, text: string): void {
  const element = $(id)
  element.dataset.value = String(value)
  if (element.textContent !== text) element.textContent = text
}

function setState (id: string, state: string, text: string, className = ''): void {
  const element = $(id)
  element.dataset.state = state
  element.textContent = text
  element.className = className
}

function showPanelState (state: PanelState, text: string): void {
  const labels: Record<PanelState, string> = { starting: 'starting', live: 'live', 'relay-unreachable': 'relay down', error: 'error' }
  setState('swarm-state', state, labels[state], 'pill')
  setState('swarm-status', state, text)
}

function bar (parts: Array<[string, number]>): HTMLElement {
  const outer = document.createElement('div')
  outer.className = 'bar'
  for (const [className, ratio] of parts) {
    if (ratio <= 0) continue
    const part = document.createElement('span')
    part.className = className
    part.style.width = `${Math.min(100, ratio * 100).toFixed(2)}%`
    outer.append(part)
  }
  return outer
}

function cell (text: string, className = '', title = ''): HTMLTableCellElement {
  const td = document.createElement('td')
  td.textContent = text
  if (className !== '') td.className = className
  if (title !== '') td.title = title
  return td
}

function emptyRow (text: string): HTMLTableRowElement {
  const tr = document.createElement('tr')
  tr.className = 'empty'
  const td = cell(text)
  td.colSpan = 4
  tr.append(td)
  return tr
}

/** Position of the first element that loads or links `path`; Infinity if none does. */
function pageOrder (path: string): number {
  const url = `/${path}`
  const elements = [...document.querySelectorAll('[src], [data-swarmsite-src], [href]')]
  const at = elements.findIndex(e => [e.getAttribute('src'), e.getAttribute('data-swarmsite-src'), e.getAttribute('href')].includes(url))
  return at < 0 ? Infinity : at
}

function attach (site: Site): void {
  const swarm = site.swarm
  const node = swarm.node
  const assets = new Map<string, AssetProgress>()
  const relayIds = new Set(node.bootstrap.map(b => b.peerId))
  let renderQueued = false

  const asset = (path: string): AssetProgress => {
    let entry = assets.get(path)
    if (entry == null) {
      const file = swarm.file(path)
      entry = { path, order: pageOrder(path), size: file?.size ?? 0, totalBlocks: file?.blocks.length ?? 0, blocks: new Map(), fetches: 0 }
      assets.set(path, entry)
    }
    return entry
  }

  const relayState = (): RelayState => {
    if (node.reservations().length > 0) return 'reserved'
    if (node.connections().some(c => relayIds.has(c.peerId.toString()))) return 'connected'
    if (node.unreachableRelays().length > 0) return 'unreachable'
    return 'connecting'
  }

  const renderRelay = (): RelayState => {
    const state = relayState()
    const failure = node.unreachableRelays()[0]
    const texts: Record<RelayState, [string, string]> = {
      reserved: ['reservation held: other visitors can reach this tab', 'ok'],
      connected: ['connected, taking a reservation…', 'warn'],
      connecting: ['connecting…', 'warn'],
      unreachable: [`unreachable${failure != null ? ` (attempt ${failure.attempt}, retrying)` : ''}`, 'err']
    }
    const [text, className] = texts[state]
    setState('swarm-relay', state, text, className)
    if (failure != null) $('swarm-relay').title = `${failure.relay.toString()}: ${failure.error.message}`
    return state
  }

  const renderNumbers = (stats: SwarmStats): void => {
    setValue('swarm-from-peers', stats.bytesFromPeers, formatBytes(stats.bytesFromPeers))
    setValue('swarm-from-origin', stats.bytesFromOrigin, formatBytes(stats.bytesFromOrigin))
    setValue('swarm-from-store', stats.bytesFromStore, formatBytes(stats.bytesFromStore))
    setValue('swarm-uploaded', stats.bytesUploaded, formatBytes(stats.bytesUploaded))
    setValue('swarm-offload', stats.offloadRatio, formatPercent(stats.offloadRatio))
    $('swarm-offload-bar').style.width = `${(stats.offloadRatio * 100).toFixed(1)}%`
  }

  const renderUpload = (stats: SwarmStats): void => {
    const reason = swarm.upload.disabledBy
    const toggle = $('swarm-seeding-toggle') as HTMLButtonElement
    if (reason === 'save-data') setState('swarm-upload-limit', 'save-data', 'off: Save-Data', 'warn')
    else if (reason === 'zero-cap') setState('swarm-upload-limit', 'zero-cap', 'off', 'warn')
    else if (reason === 'pause') setState('swarm-upload-limit', 'paused', 'paused', 'warn')
    else if (stats.uploadBytesPerSecond === Infinity) setState('swarm-upload-limit', 'on', 'unlimited', 'ok')
    else setState('swarm-upload-limit', 'on', `${formatBytes(stats.uploadBytesPerSecond)}/s`, 'ok')
    $('swarm-upload-limit').dataset.value = String(stats.uploadBytesPerSecond)
    toggle.disabled = reason === 'save-data' || reason === 'zero-cap'
    toggle.textContent = reason === 'pause' ? 'Resume seeding' : 'Pause seeding'
  }

  const renderAssets = (): void => {
    const body = $('swarm-assets')
    if (assets.size === 0) return
    const rows: HTMLTableRowElement[] = []
    for (const a of [...assets.values()].sort((x, y) => x.order - y.order || x.path.localeCompare(y.path))) {
      const held = { peer: 0, origin: 0, store: 0 }
      for (const block of a.blocks.values()) held[block.source] += block.bytes
      const total = held.peer + held.origin + held.store
      const complete = a.totalBlocks > 0 && a.blocks.size === a.totalBlocks
      const tr = document.createElement('tr')
      tr.dataset.path = a.path
      tr.dataset.size = String(a.size)
      tr.dataset.peers = String(held.peer)
      tr.dataset.origin = String(held.origin)
      tr.dataset.store = String(held.store)
      tr.dataset.blocks = String(a.blocks.size)
      tr.dataset.totalBlocks = String(a.totalBlocks)
      tr.dataset.state = a.error != null ? 'error' : complete ? 'done' : 'loading'
      const done = a.lastFetch != null ? `; last request done in ${formatMs(a.lastFetch.elapsedMs)}` : ''
      const title = `${a.path}: ${formatBytes(held.peer)} from peers, ${formatBytes(held.origin)} from the origin, ` +
        `${formatBytes(held.store)} from this browser (${a.blocks.size} of ${a.totalBlocks} blocks)${done}${a.error != null ? `; failed: ${a.error}` : ''}`
      const name = cell(a.path.split('/').pop() ?? a.path, 'name', title)
      const progress = document.createElement('td')
      progress.className = 'bar-cell'
      progress.title = title
      progress.append(bar(a.size > 0 ? [['peer', held.peer / a.size], ['origin', held.origin / a.size], ['store', held.store / a.size]] : []))
      const share = a.error != null ? 'failed' : total === 0 ? '—' : formatPercent(held.peer / total)
      tr.append(name, cell(formatBytes(a.size), 'num'), progress, cell(share, a.error != null ? 'num err' : 'num', title))
      rows.push(tr)
    }
    body.replaceChildren(...rows)
  }

  const renderPeers = (stats: SwarmStats): number[] => {
    const body = $('swarm-peers')
    const visitors = new Map<string, boolean>()
    for (const c of node.connections()) {
      const id = c.peerId.toString()
      if (relayIds.has(id)) continue
      visitors.set(id, (visitors.get(id) ?? false) || c.direct)
    }
    const counters = new Map(stats.peers.map(p => [p.peerId, p]))
    const rows: HTMLTableRowElement[] = []
    for (const [id, direct] of visitors) {
      const c = counters.get(id)
      const tr = document.createElement('tr')
      tr.dataset.peer = id
      tr.dataset.direct = String(direct)
      tr.dataset.bytesDown = String(c?.bytesDown ?? 0)
      tr.dataset.bytesUp = String(c?.bytesUp ?? 0)
      tr.append(cell(shortPeerId(id), 'mono name', id), cell(direct ? 'WebRTC' : 'relayed'), cell(formatBytes(c?.bytesDown ?? 0), 'num'), cell(formatBytes(c?.bytesUp ?? 0), 'num'))
      rows.push(tr)
    }
    body.replaceChildren(...(rows.length > 0 ? rows : [emptyRow('none yet: open this page in another tab')]))
    const direct = [...visitors.values()].filter(Boolean).length
    return [direct, visitors.size - direct]
  }

  const render = (): void => {
    renderQueued = false
    if (!swarm.isStarted) {
      showPanelState('error', 'This tab\'s node has stopped.')
      return
    }
    const stats = swarm.stats()
    const relay = renderRelay()
    const [direct = 0, relayed = 0] = renderPeers(stats)
    setValue('swarm-peers-direct', direct, String(direct))
    setValue('swarm-peers-relayed', relayed, String(relayed))
    renderNumbers(stats)
    renderUpload(stats)
    renderAssets()
    if (relay === 'unreachable') {
      showPanelState('relay-unreachable', 'The relay is unreachable, so this tab can\'t meet other visitors: assets come from the origin until it is back (retrying).')
    } else if (relay === 'reserved') {
      const n = direct + relayed
      const visitors = n === 0 ? 'Live. No other visitor yet: open this page in a second tab.' : `Live, connected to ${n} other visitor${n === 1 ? '' : 's'}.`
      showPanelState('live', swarm.upload.disabledBy === 'save-data' ? `${visitors} Data Saver is on, so this tab only downloads.` : visitors)
    } else {
      showPanelState('starting', 'Connecting to the relay…')
    }
  }

  const scheduleRender = (): void => {
    if (renderQueued) return
    renderQueued = true
    setTimeout(render, 100)
  }

  swarm.addEventListener('block:received', (evt) => {
    const { path, index, bytes, source, duplicate } = evt.detail
    const a = asset(path)
    if (!duplicate && !a.blocks.has(index)) a.blocks.set(index, { source, bytes })
    scheduleRender()
  })
  swarm.addEventListener('fetch:done', (evt) => {
    const a = asset(evt.detail.path)
    a.fetches++
    a.lastFetch = evt.detail
    a.error = undefined
    scheduleRender()
  })
  swarm.addEventListener('fetch:error', (evt) => {
    // media elements cancel and re-request ranges all the time: that is no failure
    if (evt.detail.error.name === 'AbortError') return
    asset(evt.detail.path).error = `${evt.detail.error.name}: ${evt.detail.error.message}`
    scheduleRender()
  })
  swarm.addEventListener('block:uploaded', scheduleRender)
  for (const type of ['peer:connect', 'peer:disconnect', 'relay:connected', 'relay:unreachable', 'relay:reserved', 'relay:reservation-lost'] as const) {
    node.addEventListener(type, scheduleRender)
  }

  const peerId = swarm.peerId.toString()
  const idElement = $('swarm-peer-id')
  idElement.textContent = peerId
  idElement.title = peerId
  idElement.dataset.value = peerId

  const toggle = $('swarm-seeding-toggle') as HTMLButtonElement
  toggle.addEventListener('click', () => {
    if (swarm.upload.paused) site.resumeSeeding()
    else site.pauseSeeding()
    render()
  })

  render()
  setInterval(render, REFRESH_MS)
  void pollOrigin()
  originPoll = setInterval(() => { void pollOrigin() }, ORIGIN_STATS_REFRESH_MS)
}

let originPoll: ReturnType<typeof setInterval> | undefined

/** What this site's origin server has sent to every visitor so far (if it tells: `swarmsite serve` does, a CDN or Caddy doesn't). */
async function pollOrigin (): Promise<void> {
  const element = $('swarm-origin-served')
  try {
    const response = await fetch(ORIGIN_STATS_URL, { cache: 'no-store' })
    // a static host without the counters: stop asking, the line stays hidden
    if (response.status === 404) clearInterval(originPoll)
    if (!response.ok) throw new Error(`HTTP ${response.status}`)
    const stats = await response.json() as { total: number, requests: number }
    element.dataset.value = String(stats.total)
    element.textContent = `The origin server has sent ${formatBytes(stats.total)} to all visitors so far, in ${stats.requests} requests.`
    element.hidden = false
  } catch {
    element.hidden = true
  }
}

function showError (error: Error): void {
  showPanelState('error', `swarmsite could not start (${error.message}): assets come from the origin.`)
  setState('swarm-relay', 'none', '—')
}

let failed = false
window.addEventListener('swarmsite:error', (evt) => {
  failed = true
  showError((evt as CustomEvent<{ error: Error }>).detail.error)
})
if (window.swarmsite != null) {
  window.swarmsite.then(attach, (error: Error) => { if (!failed) showError(error) })
} else {
  // the drop-in script is missing or came later: wait for it to say how it went
  window.addEventListener('swarmsite:ready', (evt) => { attach((evt as CustomEvent<Site>).detail) }, { once: true })
}
