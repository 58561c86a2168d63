// SignalBus.run: every model on its own schedule. A model whose rounds fail backs off alone; the others keep
// their interval. Real PostgreSQL; the fixture models fail on command.
import {expect} from 'chai'
import {SignalBus} from '../src/index.js'
import {BatchSignal, CompositeSignal} from './fixtures/signals/entities.js'
import {controls, resetControls} from './fixtures/signals/test-controls.js'
import {TestDatabase} from './helpers/test-database.js'

describe('SignalBus.run on postgres', function () {
  this.timeout(30_000)
  let db: TestDatabase

  beforeEach(async () => {
    resetControls()
    db = await TestDatabase.create('postgres')
  })

  afterEach(async () => {
    resetControls()
    await db.destroy()
  })

  it("runs each model's rounds on its own schedule: the failing model backs off, the healthy one keeps the interval", async () => {
    await db.insert(CompositeSignal, [1, 2, 3, 4, 5, 6].map((seq) => ({shard: 0, seq, payload: `c${seq}`})))
    controls.failModels = new Set(['CompositeSignal'])
    const controller = new AbortController()
    const rounds: Record<string, number> = {}
    const retries: number[] = []
    const signalbus = new SignalBus(db.dataSource)
    const stopAt = setTimeout(() => controller.abort(), 3000)
    const inserter = setInterval(() => void db.insert(BatchSignal, [{payload: 'b'}]).catch(() => undefined), 200)
    try {
      await signalbus.run({
        intervalSeconds: 0.2,
        models: [BatchSignal, CompositeSignal],
        signal: controller.signal,
        onRound: (_report, model) => (rounds[model.name] = (rounds[model.name] ?? 0) + 1),
        onRoundFailed: (model, retryIn) => {
          expect(model.name).to.equal('CompositeSignal')
          retries.push(retryIn)
        },
      })
    } finally {
      clearTimeout(stopAt)
      clearInterval(inserter)
    }
    expect(rounds['BatchSignal'], 'healthy rounds in 3 s at 0.2 s').to.be.at.least(10)
    expect(rounds['CompositeSignal'], 'failing rounds: 1 s, 2 s waits').to.be.within(2, 3)
    expect(retries[0]).to.be.within(0.8, 1.2)
    expect(await db.count(CompositeSignal)).to.equal(6)
    expect(controls.sent.filter((record) => record.model === 'BatchSignal').length).to.be.at.least(10)
  })
})
