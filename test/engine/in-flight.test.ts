// Bursts in flight (several bursts of one model being sent at once, each its own transaction) and models flushed
// in parallel, on every dialect, against the real databases: every row delivered once, the sends really overlap
// and never beyond the limit, a failing burst in flight loses nothing, and a pool too small caps with a warning.
import {expect} from 'chai'
import {DataSource, type DataSourceOptions} from 'typeorm'
import {SignalBus, initializeForFlushing, type Logger} from '../../src/index.js'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {
  AlphaSignal,
  BetaSignal,
  DeltaSignal,
  GammaSignal,
  OrderedPipelinedSignal,
  PipelinedSignal,
  orderedSends,
  parallelEntities,
} from '../fixtures/signals/parallel-entities.js'
import {controls, resetControls} from '../fixtures/signals/test-controls.js'
import {TestDatabase, duplicates} from '../helpers/test-database.js'

const rows = (count: number, from = 0) => Array.from({length: count}, (_, index) => ({payload: `p${from + index}`}))

function recordingLogger(): Logger & {warnings: string[]} {
  const warnings: string[] = []
  const ignore = (): void => undefined
  return {warnings, debug: ignore, info: ignore, error: ignore, warn: (line: string) => warnings.push(line)}
}

for (const dialect of DIALECTS) {
  const overlaps = dialect !== 'sqlite'
  describe(`bursts in flight and models in parallel on ${dialect}`, function () {
    this.timeout(20_000)
    let db: TestDatabase

    beforeEach(async () => {
      resetControls()
      controls.sendDelayMs = 15
      db = await TestDatabase.create(dialect, {entities: parallelEntities})
    })

    afterEach(async () => {
      controls.sendDelayMs = 0
      await db.destroy()
    })

    it(`in-flight 4 delivers every row exactly once, with ${overlaps ? 'up to 4 sends at once' : 'one send at a time (single writer)'}`, async () => {
      await db.insert(AlphaSignal, rows(1000))
      const logger = recordingLogger()
      const sent = await new SignalBus(db.dataSource, {logger}).flushmany([AlphaSignal], {inFlight: 4})
      expect(sent).to.equal(1000)
      const keys = controls.sent.map((record) => record.key)
      expect(keys).to.have.length(1000)
      expect(duplicates(keys)).to.deep.equal([])
      expect(await db.count(AlphaSignal)).to.equal(0)
      const most = controls.maxSends.get('AlphaSignal')
      if (overlaps) {
        expect(most, 'sends of one model under way at once').to.be.above(1).and.at.most(4)
        expect(logger.warnings).to.deep.equal([])
      } else {
        expect(most).to.equal(1)
        expect(logger.warnings).to.deep.equal(['SQLite has a single writer: bursts are sent one at a time (in-flight 4 ignored).'])
      }
    })

    it("honours the model's signalbusInFlight; the inFlight option overrides it", async () => {
      await db.insert(PipelinedSignal, rows(600))
      expect(await new SignalBus(db.dataSource).flushmany([PipelinedSignal])).to.equal(600)
      const most = controls.maxSends.get('PipelinedSignal')
      if (overlaps) expect(most, 'sends under way at once').to.be.above(1).and.at.most(4)
      else expect(most).to.equal(1)
      resetControls()
      await db.insert(PipelinedSignal, rows(300, 600))
      expect(await new SignalBus(db.dataSource).flushmany([PipelinedSignal], {inFlight: 1})).to.equal(300)
      expect(controls.maxSends.get('PipelinedSignal')).to.equal(1)
    })

    it('a burst failing in flight loses nothing: the others are delivered, narrowing isolates the bad row', async () => {
      await db.insert(AlphaSignal, rows(1000))
      controls.failOnPayload = 'p333'
      const report = await new SignalBus(db.dataSource).flushmanyReport([AlphaSignal], {inFlight: 4})
      expect(report.sent).to.equal(999)
      expect(report.failed.map((failure) => failure.error)).to.deep.equal([
        '1 signal(s) of "AlphaSignal" failed and stay pending (first: id=334: the broker refused payload "p333")',
      ])
      const keys = controls.sent.map((record) => record.key)
      expect(duplicates(keys), 'the fixture refuses before storing anything: no duplicates').to.deep.equal([])
      expect(keys).to.have.length(999)
      const pending = await db.dataSource.getRepository(AlphaSignal).find()
      expect(pending.map((row) => row.payload)).to.deep.equal(['p333'])
    })

    it('a systemic failure in flight stops the model and loses nothing', async () => {
      await db.insert(AlphaSignal, rows(500))
      const signalbus = new SignalBus(db.dataSource)
      let calls = 0
      const original = controls.sendDelayMs
      controls.sendDelayMs = 0
      // The 4th send fails, as a broker whose channel closed would make every later send fail.
      const failing = Object.getOwnPropertyDescriptor(AlphaSignal, 'sendSignalbusMessages')!
      Object.defineProperty(AlphaSignal, 'sendSignalbusMessages', {
        configurable: true,
        value: async (signals: InstanceType<typeof AlphaSignal>[]) => {
          calls += 1
          await new Promise((resolve) => setTimeout(resolve, 10))
          if (calls >= 4) throw Object.assign(new Error('read ECONNRESET'), {code: 'ECONNRESET'})
          await failing.value.call(AlphaSignal, signals)
        },
      })
      try {
        const report = await signalbus.flushmanyReport([AlphaSignal], {inFlight: 4})
        expect(report.failed).to.have.length(1)
        const keys = controls.sent.map((record) => record.key)
        expect(report.sent).to.equal(keys.length)
        expect(duplicates(keys)).to.deep.equal([])
        expect(await db.count(AlphaSignal), 'every row not delivered is pending').to.equal(500 - keys.length)
      } finally {
        Object.defineProperty(AlphaSignal, 'sendSignalbusMessages', failing)
        controls.sendDelayMs = original
      }
    })

    it('an ordered model with 4 bursts in flight still sends each key in primary-key order, never two of one key at once', async () => {
      // 40 keys × 15 rows, interleaved: a burst of 50 holds some rows of many keys.
      await db.insert(OrderedPipelinedSignal, Array.from({length: 600}, (_, index) => ({orderKey: index % 40, payload: `p${index}`})))
      orderedSends.overlapping.length = 0
      const sent = await new SignalBus(db.dataSource).flushmany([OrderedPipelinedSignal])
      expect(sent).to.equal(600)
      expect(orderedSends.overlapping, 'keys in two sends at once').to.deep.equal([])
      const ids = controls.sent.map((record) => Number(record.key))
      expect(duplicates(ids.map(String))).to.deep.equal([])
      const byKey = new Map<number, number[]>()
      for (const id of ids) byKey.set((id - 1) % 40, [...(byKey.get((id - 1) % 40) ?? []), id])
      for (const [key, keyIds] of byKey) expect(keyIds, `key ${key}`).to.deep.equal([...keyIds].sort((a, b) => a - b))
      if (overlaps) expect(controls.maxSends.get('OrderedPipelinedSignal'), 'bursts of different keys in flight at once').to.be.above(1).and.at.most(4)
    })

    it(`flushmany flushes 4 models ${overlaps ? 'at once' : 'one at a time'}, each row once`, async () => {
      const models = [AlphaSignal, BetaSignal, GammaSignal, DeltaSignal]
      for (const model of models) await db.insert(model, rows(300))
      const report = await new SignalBus(db.dataSource).flushmanyReport(models, {concurrency: 4})
      expect(report.sent).to.equal(1200)
      expect(Object.keys(report.models)).to.deep.equal(['AlphaSignal', 'BetaSignal', 'GammaSignal', 'DeltaSignal'])
      expect(duplicates(controls.sent.map((record) => `${record.model}/${record.key}`))).to.deep.equal([])
      const modelsAtOnce = controls.sent.reduce((most, record) => Math.max(most, record.allSends), 0)
      if (overlaps) expect(modelsAtOnce, 'sends of different models under way at once').to.be.above(1).and.at.most(4)
      else expect(modelsAtOnce).to.equal(1)
    })

    if (overlaps) {
      it('a pool too small caps in-flight and concurrency, with one warning line each', async () => {
        const small = new DataSource({...db.dataSource.options, poolSize: 5} as DataSourceOptions)
        await initializeForFlushing(small)
        try {
          const models = [AlphaSignal, BetaSignal, GammaSignal, DeltaSignal]
          for (const model of models) await db.insert(model, rows(200))
          const logger = recordingLogger()
          const report = await new SignalBus(small, {logger}).flushmanyReport(models, {inFlight: 8, concurrency: 4})
          expect(report.sent).to.equal(800)
          expect(logger.warnings).to.deep.equal([
            'In-flight 8 needs 9 connections per model, but the pool has 5 (one kept free): capped to 3.',
            'Concurrency 4 with 4 connections per model needs 17 connections, but the pool has 5: capped to 1.',
          ])
          expect(Math.max(...controls.maxSends.values())).to.be.at.most(3)
          expect(controls.maxAllSends).to.be.at.most(3)
        } finally {
          await small.destroy()
        }
      })
    }
  })
}
