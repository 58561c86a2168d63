// The V8 heap sizing the CLI sets for itself before it loads anything: a flusher is a small, steady process, and
// V8's defaults (a young generation that grows to 2 × 16 MB, an old generation allowed to reach several times its
// live size before a full collection) give it ~30 MB more resident memory than it uses. Measurements and the
// trade-off (a little more GC CPU): docs/performance.md, "Where the memory goes".
import {PerformanceObserver} from 'node:perf_hooks'
import v8 from 'node:v8'

export interface HeapSizing {
  /** Largest semi-space in MB (the young generation holds two). */
  maxSemiSpaceMB: number
  /** A full collection is due when the old generation grew by this percentage since the last one. */
  heapGrowingPercent: number
}

export const FLUSHER_HEAP: HeapSizing = {maxSemiSpaceMB: 8, heapGrowingPercent: 50}

/** Flags by which a user sizes the heap: given any, the CLI leaves V8 as the user set it up. */
const USER_HEAP_FLAGS = /--(max-semi-space-size|min-semi-space-size|semi-space-growth-factor|heap-growing-percent|max-old-space-size|optimize-for-size)\b/

export function sizeHeapForFlushing(sizing: HeapSizing = FLUSHER_HEAP): void {
  if (USER_HEAP_FLAGS.test([...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' '))) return
  v8.setFlagsFromString(`--heap-growing-percent=${sizing.heapGrowingPercent}`)
  capYoungGeneration(sizing.maxSemiSpaceMB * 2 * 1024 * 1024)
}

/**
 * `--max-semi-space-size` only counts when V8 starts, which for a bin script is too late (re-executing Node would
 * cost a start-up). The growth factor, though, is read whenever the young generation grows: once it has reached the
 * cap, a factor of 1 keeps it there. The check runs after garbage collections, until the cap is reached.
 */
function capYoungGeneration(bytes: number): void {
  const reached = (): boolean => youngGenerationBytes() >= bytes
  const stopGrowing = (): void => v8.setFlagsFromString('--semi-space-growth-factor=1')
  if (reached()) return stopGrowing()
  const observer = new PerformanceObserver(() => {
    if (!reached()) return
    stopGrowing()
    observer.disconnect()
  })
  observer.observe({entryTypes: ['gc']})
}

function youngGenerationBytes(): number {
  return v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0
}
