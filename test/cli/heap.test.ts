import {expect} from 'chai'
import {execFile} from 'node:child_process'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {repoRoot} from '../helpers/paths.js'

/**
 * Runs a fresh Node that sizes its heap as bin/run.js does, then allocates the way a flusher does (short-lived
 * objects, a little kept for a while) and prints the young generation's size.
 */
async function youngGenerationAfterWork(options: {nodeOptions?: string; execArgv?: string[]} = {}): Promise<{youngMB: number}> {
  const heap = join(repoRoot, 'dist', 'cli', 'heap.js')
  const script = `
    import v8 from 'node:v8'
    import {sizeHeapForFlushing} from ${JSON.stringify(heap)}
    sizeHeapForFlushing()
    let kept = []
    for (let round = 0; round < 400; round++) {
      for (let i = 0; i < 20000; i++) kept.push({round, i, text: 'x' + i})
      if (kept.length > 60000) kept = []
      await new Promise((resolve) => setImmediate(resolve))
    }
    const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size
    process.stdout.write(JSON.stringify({youngMB: young / 1048576}))
  `
  const env = {...process.env, NODE_OPTIONS: options.nodeOptions ?? ''}
  const {stdout} = await promisify(execFile)(process.execPath, [...(options.execArgv ?? []), '--input-type=module', '-e', script], {env})
  return JSON.parse(stdout) as {youngMB: number}
}

describe('heap sizing of the CLI (bin/run.js)', () => {
  it('keeps the young generation at 2 × 8 MB however much a flusher allocates', async () => {
    const {youngMB} = await youngGenerationAfterWork()
    expect(youngMB).to.be.at.most(16)
  })

  it('the same work grows the young generation beyond 16 MB when the heap is left to V8 (the test allocates enough)', async () => {
    const {youngMB} = await youngGenerationAfterWork({nodeOptions: '--max-semi-space-size=32'})
    expect(youngMB).to.be.above(16)
  })

  it('leaves the heap as the user sized it with NODE_OPTIONS or node flags', async () => {
    expect((await youngGenerationAfterWork({nodeOptions: '--max-semi-space-size=32'})).youngMB).to.be.above(16)
    expect((await youngGenerationAfterWork({execArgv: ['--max-semi-space-size=32']})).youngMB).to.be.above(16)
  })
})
