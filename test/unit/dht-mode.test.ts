import assert from 'node:assert/strict'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { afterEach, beforeEach, describe, it, mock } from 'node:test'
import { dhtModeController } from '../../src/node/dht-mode.ts'
import type { DhtModeComponents, DhtModeController, DhtModeSetting } from '../../src/node/dht-mode.ts'
import type { DhtMode } from '../../src/node/events.ts'

const SERVER_AFTER_MS = 1_000

interface Harness {
  controller: DhtModeController
  /** Modes passed to dht.setMode, in order. */
  setModeCalls: DhtMode[]
  /** Modes reported through onChange, in order. */
  changes: DhtMode[]
  /** Sets reachability and, unless told otherwise, notifies the address watcher. */
  reachable(value: boolean, notify?: boolean): void
  subscribed(): boolean
  unsubscribed: number
}

function harness (mode: DhtModeSetting, options: { initialMode?: DhtMode, failSetMode?: boolean } = {}): Harness {
  let current: DhtMode = options.initialMode ?? 'client'
  let isReachable = false
  let watcher: (() => void) | undefined
  const h: Harness = {
    controller: undefined as unknown as DhtModeController,
    setModeCalls: [],
    changes: [],
    unsubscribed: 0,
    reachable (value, notify = true) {
      isReachable = value
      if (notify) watcher?.()
    },
    subscribed: () => watcher != null
  }
  const components: DhtModeComponents = {
    dht: {
      getMode: () => current,
      async setMode (m) {
        h.setModeCalls.push(m)
        if (options.failSetMode === true) throw new Error('setMode failed')
        current = m
      }
    },
    isReachable: () => isReachable,
    onAddressChange (callback) {
      watcher = callback
      return () => { watcher = undefined; h.unsubscribed++ }
    }
  }
  h.controller = dhtModeController({ mode, serverAfterMs: SERVER_AFTER_MS, onChange: m => { h.changes.push(m) } })(components)
  return h
}

/** Lets the stub's async setMode settle and onChange run. */
async function settle (): Promise<void> {
  await nextTurn()
}

describe('dhtModeController (mocked clock)', { timeout: 10_000 }, () => {
  let h: Harness | undefined

  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout'] })
  })

  afterEach(() => {
    h?.controller.stop()
    h = undefined
    mock.timers.reset()
  })

  it("'auto' turns server only once reachable for serverAfterMs", async () => {
    h = harness('auto')
    h.reachable(true, false)
    h.controller.start()
    assert.equal(h.controller.mode, 'client')
    mock.timers.tick(SERVER_AFTER_MS - 1)
    await settle()
    assert.deepEqual(h.setModeCalls, [], 'not yet server before serverAfterMs')
    assert.equal(h.controller.mode, 'client')
    mock.timers.tick(1)
    await settle()
    assert.deepEqual(h.setModeCalls, ['server'])
    assert.deepEqual(h.changes, ['server'])
    assert.equal(h.controller.mode, 'server')
  })

  it("'auto' starts the wait when an address change makes the node reachable", async () => {
    h = harness('auto')
    h.controller.start()
    assert.equal(h.subscribed(), true)
    mock.timers.tick(SERVER_AFTER_MS * 3)
    await settle()
    assert.deepEqual(h.setModeCalls, [], 'an unreachable node stays a client')
    h.reachable(true)
    mock.timers.tick(SERVER_AFTER_MS - 1)
    await settle()
    assert.deepEqual(h.setModeCalls, [])
    mock.timers.tick(1)
    await settle()
    assert.deepEqual(h.changes, ['server'])
  })

  it('repeated address changes while reachable do not restart or duplicate the wait', async () => {
    h = harness('auto')
    h.controller.start()
    h.reachable(true)
    mock.timers.tick(SERVER_AFTER_MS / 2)
    h.reachable(true)
    h.reachable(true)
    mock.timers.tick(SERVER_AFTER_MS / 2)
    await settle()
    assert.deepEqual(h.setModeCalls, ['server'])
    mock.timers.tick(SERVER_AFTER_MS * 2)
    await settle()
    assert.deepEqual(h.setModeCalls, ['server'], 'switched once')
  })

  it("'auto' does not turn server if reachability is lost before the timer fires", async () => {
    h = harness('auto')
    h.controller.start()
    h.reachable(true)
    mock.timers.tick(SERVER_AFTER_MS - 1)
    h.reachable(false)
    mock.timers.tick(SERVER_AFTER_MS * 3)
    await settle()
    assert.deepEqual(h.setModeCalls, [])
    assert.deepEqual(h.changes, [])
    assert.equal(h.controller.mode, 'client')
  })

  it("'auto' does not turn server if reachability was lost unannounced when the timer fires", async () => {
    h = harness('auto')
    h.controller.start()
    h.reachable(true)
    h.reachable(false, false)
    mock.timers.tick(SERVER_AFTER_MS)
    await settle()
    assert.deepEqual(h.setModeCalls, [])
    assert.equal(h.controller.mode, 'client')
  })

  it("'auto' goes back to client when the node stops being reachable, and can serve again later", async () => {
    h = harness('auto')
    h.reachable(true, false)
    h.controller.start()
    mock.timers.tick(SERVER_AFTER_MS)
    await settle()
    assert.equal(h.controller.mode, 'server')
    h.reachable(false)
    await settle()
    assert.equal(h.controller.mode, 'client')
    assert.deepEqual(h.changes, ['server', 'client'])
    // reachable again: the full wait applies anew
    h.reachable(true)
    mock.timers.tick(SERVER_AFTER_MS - 1)
    await settle()
    assert.equal(h.controller.mode, 'client')
    mock.timers.tick(1)
    await settle()
    assert.deepEqual(h.changes, ['server', 'client', 'server'])
  })

  it("'auto' does not report a change when the DHT refuses to switch", async () => {
    h = harness('auto', { failSetMode: true })
    h.reachable(true, false)
    h.controller.start()
    mock.timers.tick(SERVER_AFTER_MS)
    await settle()
    assert.deepEqual(h.setModeCalls, ['server'])
    assert.deepEqual(h.changes, [])
    assert.equal(h.controller.mode, 'client')
  })

  for (const fixed of ['server', 'client'] as const) {
    it(`'${fixed}' mode never switches, whatever reachability does`, async () => {
      h = harness(fixed, { initialMode: fixed })
      h.controller.start()
      for (const value of [true, false, true, false, true]) {
        h.reachable(value, true)
        mock.timers.tick(SERVER_AFTER_MS * 2)
        await settle()
      }
      assert.deepEqual(h.setModeCalls, [])
      assert.deepEqual(h.changes, [])
      assert.equal(h.controller.mode, fixed)
      assert.equal(h.subscribed(), false, 'a fixed mode does not watch addresses')
    })
  }
})

describe('dhtModeController stop() (real clock)', { timeout: 10_000 }, () => {
  const timeouts = (): number => process.getActiveResourcesInfo().filter(r => r === 'Timeout').length

  it('clears a pending timer, unsubscribes, and ignores later changes', async () => {
    const before = timeouts()
    const h = harness('auto')
    h.reachable(true, false)
    h.controller.start()
    assert.equal(timeouts(), before + 1, 'waiting to turn server holds one timer')
    h.controller.stop()
    assert.equal(timeouts(), before, 'stop() leaves no timer')
    assert.equal(h.unsubscribed, 1)
    assert.equal(h.subscribed(), false)
    await settle()
    assert.deepEqual(h.setModeCalls, [])
  })

  it('is safe to call twice and before start()', () => {
    const h = harness('auto')
    h.controller.stop()
    h.controller.start()
    h.controller.stop()
    h.controller.stop()
    assert.equal(h.unsubscribed, 1)
  })
})
