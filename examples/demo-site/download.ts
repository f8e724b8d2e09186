// The demo page's download button: fetches the file through this tab's swarm with
// `site.swarm.fetch`, shows progress and where the bytes came from, and saves it as a Blob.
// (The plain link next to it works too: the service worker routes it to the swarm.)
import { formatBytes, formatMs } from './format.ts'
import type { Site } from '../../src/browser/drop-in.ts'
import type { FetchDoneDetail } from '../../src/index.ts'

const PATH = 'downloads/swarm-dataset.bin'
const FILE_NAME = 'swarm-dataset.bin'
/** How long after the last byte the fetch's summary may take to arrive. */
const SUMMARY_WAIT_MS = 1_000

const button = document.getElementById('download-button') as HTMLButtonElement
const progress = document.getElementById('download-progress')!
const fill = progress.firstElementChild as HTMLElement
const status = document.getElementById('download-status')!

function show (state: string, text: string): void {
  status.dataset.state = state
  status.textContent = text
}

function save (blob: Blob): void {
  const link = document.createElement('a')
  link.href = URL.createObjectURL(blob)
  link.download = FILE_NAME
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => { URL.revokeObjectURL(link.href) }, 60_000)
}

async function download (site: Site): Promise<void> {
  button.disabled = true
  progress.hidden = false
  fill.style.width = '0%'
  show('downloading', 'Asking the swarm…')
  const started = performance.now()
  let summary: FetchDoneDetail | undefined
  const onDone = (evt: CustomEvent<FetchDoneDetail>): void => { if (evt.detail.path === PATH) summary = evt.detail }
  site.swarm.addEventListener('fetch:done', onDone)
  try {
    const response = await site.swarm.fetch(PATH)
    const total = Number(response.headers.get('content-length'))
    const reader = response.body!.getReader()
    const chunks: Uint8Array[] = []
    let received = 0
    let shownAt = 0
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      chunks.push(value)
      received += value.byteLength
      if (performance.now() - shownAt > 100) {
        shownAt = performance.now()
        fill.style.width = `${(received / total * 100).toFixed(1)}%`
        status.dataset.bytes = String(received)
        show('downloading', `${formatBytes(received)} of ${formatBytes(total)}`)
      }
    }
    const ms = performance.now() - started
    fill.style.width = '100%'
    const deadline = performance.now() + SUMMARY_WAIT_MS
    while (summary == null && performance.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    save(new Blob(chunks as BlobPart[], { type: 'application/octet-stream' }))
    Object.assign(status.dataset, {
      bytes: String(received),
      ms: String(Math.round(ms)),
      fromPeers: String(summary?.fromPeers ?? 0),
      fromOrigin: String(summary?.fromOrigin ?? 0),
      fromStore: String(summary?.fromStore ?? 0)
    })
    const sources = summary == null
      ? ''
      : `: ${formatBytes(summary.fromPeers)} from peers, ${formatBytes(summary.fromOrigin)} from the origin, ${formatBytes(summary.fromStore)} from this browser`
    show('done', `Saved ${FILE_NAME}, ${formatBytes(received)} in ${formatMs(ms)}${sources}.`)
  } catch (err: any) {
    show('error', `The download failed (${err?.message ?? err}): try the plain link.`)
  } finally {
    site.swarm.removeEventListener('fetch:done', onDone)
    button.disabled = false
  }
}

function ready (site: Site): void {
  const file = site.swarm.file(PATH)
  if (file == null) {
    button.hidden = true
    return
  }
  document.getElementById('download-size')!.textContent = formatBytes(file.size)
  button.textContent = 'Download through the swarm'
  button.disabled = false
  button.addEventListener('click', () => { void download(site) })
}

window.swarmsite?.then(ready, () => {
  button.hidden = true
  show('error', 'The swarm is not running in this tab: the plain link downloads from the origin.')
})
