import {expect} from 'chai'
import {SignalBus} from '../../src/index.js'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {BatchSignal, CompositeSignal, Signal} from '../fixtures/signals/entities.js'
import {controls} from '../fixtures/signals/test-controls.js'
import {TestDatabase, duplicates} from '../helpers/test-database.js'

for (const dialect of DIALECTS) {
  describe(`flush engine on ${dialect}`, () => {
    let db: TestDatabase
    let signalbus: SignalBus

    beforeEach(async () => {
      controls.sent.length = 0
      controls.failOnPayload = undefined
      db = await TestDatabase.create(dialect)
      signalbus = new SignalBus(db.dataSource)
    })

    afterEach(async () => {
      await db.destroy()
    })

    it('flushmany sends every pending row exactly once and deletes it', async () => {
      await db.insertSignals(250)
      const sent = await signalbus.flushmany([Signal], {burst: 100})
      expect(sent).to.equal(250)
      const keys = controls.sent.map((record) => record.key)
      expect(keys).to.have.length(250)
      expect(duplicates(keys)).to.deep.equal([])
      expect(await db.count(Signal)).to.equal(0)
    })

    it('hands rows to the send methods as entity instances with transformers applied', async () => {
      await db.insertSignals(3)
      await signalbus.flushmany([Signal], {burst: 2})
      expect(controls.sent.map((record) => record.isEntity)).to.deep.equal([true, true, true])
      expect(controls.sent.map((record) => record.tags)).to.deep.include.members([['a', 't0'], ['a', 't1'], ['a', 't2']])
    })

    it('uses the batch method for bursts of several rows and the instance method for a single row', async () => {
      await db.insertSignals(5)
      await signalbus.flushmany([Signal], {burst: 2})
      expect(controls.sent.map((record) => `${record.via}/${record.burst}`)).to.deep.equal([
        'batch/2', 'batch/2', 'batch/2', 'batch/2', 'one/1',
      ])
    })

    it("honours the model's signalbusBurstCount, and a burst option overrides it", async () => {
      await db.insert(BatchSignal, Array.from({length: 120}, (_, index) => ({payload: `b${index}`})))
      await signalbus.flushmany([BatchSignal])
      expect(controls.sent.map((record) => record.burst).filter((burst, index, all) => all.indexOf(burst) === index)).to.deep.equal([50, 20])
      controls.sent.length = 0
      await db.insert(BatchSignal, Array.from({length: 30}, (_, index) => ({payload: `c${index}`})))
      await signalbus.flushmany([BatchSignal], {burst: 30})
      expect(controls.sent.map((record) => record.burst)).to.deep.equal(Array(30).fill(30))
    })

    it('flushes composite primary keys, one by one when the model has no batch method', async () => {
      const rows = Array.from({length: 20}, (_, index) => ({shard: index % 3, seq: index, payload: `c${index}`}))
      await db.insert(CompositeSignal, rows)
      expect(await signalbus.flushmany([CompositeSignal])).to.equal(20)
      const keys = controls.sent.map((record) => record.key)
      expect(keys).to.have.members(rows.map((row) => `${row.shard}:${row.seq}`))
      expect(controls.sent.every((record) => record.via === 'one')).to.equal(true)
      expect(await db.count(CompositeSignal)).to.equal(0)
    })

    it('narrows a failing burst down to the signal whose send throws: the others are sent, it stays pending, the model is reported', async () => {
      await db.insertSignals(10)
      controls.failOnPayload = 'p5'
      const report = await signalbus.flushmanyReport([Signal], {burst: 4})
      expect(report.sent).to.equal(9)
      expect(report.failed).to.have.length(1)
      expect(report.failed[0]!.model).to.equal('Signal')
      expect(report.failed[0]!.error).to.equal('1 signal(s) of "Signal" failed and stay pending (first: id=6: the broker refused payload "p5")')
      expect(await db.count(Signal)).to.equal(1)
    })

    it('flush sends only as many signals as were pending when it was called', async () => {
      await db.insertSignals(10)
      const pending = await signalbus.pending([Signal])
      expect(pending).to.deep.equal({Signal: 10})
      expect(await signalbus.flush([Signal], {burst: 3})).to.equal(10)
      expect(await db.count(Signal)).to.equal(0)
    })
  })
}
