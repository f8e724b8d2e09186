/**
 * The responder's queue of one stream's wants, in the order it answers them: higher priority
 * first, equal priorities in the order they arrived (`seq`). A binary heap with each want's
 * place kept by key, so a requester's new priority for a queued want and its cancel move or
 * remove that want where it sits, in O(log n), instead of the serve loop scanning every want
 * for the next one.
 */

export interface QueuedWant {
  /** Higher is served sooner. */
  priority: number
  /** Arrival order: among equal priorities the lower goes first. Never changes. */
  seq: number
}

interface Slot<W> {
  key: string
  want: W
  index: number
}

/** True when `a` is served before `b`. */
function before (a: QueuedWant, b: QueuedWant): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq)
}

export class WantQueue<W extends QueuedWant> {
  readonly #heap: Array<Slot<W>> = []
  readonly #slots = new Map<string, Slot<W>>()

  get size (): number { return this.#heap.length }

  get (key: string): W | undefined { return this.#slots.get(key)?.want }

  /** Queues a want under `key`; a want already queued under it is replaced. */
  add (key: string, want: W): void {
    this.delete(key)
    const slot = { key, want, index: this.#heap.length }
    this.#heap.push(slot)
    this.#slots.set(key, slot)
    this.#up(slot.index)
  }

  /** A queued want's new priority (its arrival order stays); false when `key` is not queued. */
  setPriority (key: string, priority: number): boolean {
    const slot = this.#slots.get(key)
    if (slot == null) return false
    slot.want.priority = priority
    this.#up(slot.index)
    this.#down(slot.index)
    return true
  }

  delete (key: string): boolean {
    const slot = this.#slots.get(key)
    if (slot == null) return false
    this.#slots.delete(key)
    const last = this.#heap.pop()!
    if (last !== slot) {
      this.#heap[slot.index] = last
      last.index = slot.index
      this.#up(last.index)
      this.#down(last.index)
    }
    return true
  }

  /** The want served next, without taking it. */
  peek (): W | undefined { return this.#heap[0]?.want }

  /** Takes the want served next. */
  shift (): W | undefined {
    const first = this.#heap[0]
    if (first == null) return undefined
    this.delete(first.key)
    return first.want
  }

  #swap (i: number, j: number): void {
    const a = this.#heap[i]!
    const b = this.#heap[j]!
    this.#heap[i] = b
    this.#heap[j] = a
    a.index = j
    b.index = i
  }

  #up (i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(this.#heap[i]!.want, this.#heap[parent]!.want)) return
      this.#swap(i, parent)
      i = parent
    }
  }

  #down (i: number): void {
    const n = this.#heap.length
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let best = i
      if (left < n && before(this.#heap[left]!.want, this.#heap[best]!.want)) best = left
      if (right < n && before(this.#heap[right]!.want, this.#heap[best]!.want)) best = right
      if (best === i) return
      this.#swap(i, best)
      i = best
    }
  }
}
