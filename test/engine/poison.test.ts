// Poison containment in the library: a burst whose send fails is narrowed down to the signals whose own send
// fails, the others are delivered exactly once, the failing ones stay pending; sends that fail whatever the split
// stop the model with nothing counted as failing. Real databases; the fixture models refuse chosen payloads.
import {expect} from 'chai'
import {FlushError, SignalBus, type FailureRecorder, type SignalFailure} from '../../src/index.js'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {BatchSignal, CompositeSignal, Signal} from '../fixtures/signals/entities.js'
import {controls, resetControls} from '../fixtures/signals/test-controls.js'
import {byNumber, pendingPayloads, sentPayloads, signalPayloads} from '../helpers/flushing.js'
import {extraSends, extraSendsPerFailingSignal, insertManySignals, randomPositions} from '../helpers/poison.js'
import {TestDatabase, duplicates} from '../helpers/test-database.js'

/** A dead-letter bookkeeping stand-in that remembers what it was told (the real one lives in the deadletters room). */
class RememberingRecorder implements FailureRecorder {
  readonly failures: SignalFailure[] = []
  private readonly counts = new Map<string, number>()

  async recordFailure(failure: SignalFailure): Promise<'pending' | 'dead-lettered'> {
    this.failures.push(failure)
    const key = JSON.stringify(failure.table.keyColumns.map((column) => failure.row[column]))
    const count = (this.counts.get(key) ?? 0) + 1
    this.counts.set(key, count)
    return count >= failure.maxAttempts ? 'dead-lettered' : 'pending'
  }
}

for (const dialect of DIALECTS) {
  describe(`poison containment on ${dialect}`, function () {
    this.timeout(120_000)
    let db: TestDatabase
    let signalbus: SignalBus

    beforeEach(async () => {
      resetControls()
      db = await TestDatabase.create(dialect)
      signalbus = new SignalBus(db.dataSource)
    })

    afterEach(async () => {
      resetControls()
      await db.destroy()
    })

    const expectDeliveredOnceExcept = async (total: number, failing: string[]): Promise<void> => {
      const sent = sentPayloads(controls.sent)
      expect(duplicates(sent), 'sent twice').to.deep.equal([])
      const failingSet = new Set(failing)
      expect(byNumber(sent)).to.deep.equal(signalPayloads(total).filter((payload) => !failingSet.has(payload)))
      expect(byNumber(await pendingPayloads(db, Signal)), 'pending').to.deep.equal(byNumber(failing))
    }

    it('1 failing row among 10,000 (burst 1,000): every other row is delivered exactly once in one run, within the send bound', async () => {
      const total = 10_000
      await insertManySignals(db, total)
      controls.failOnPayloads = new Set(['p6789'])
      const report = await signalbus.flushmanyReport([Signal], {burst: 1000})
      await expectDeliveredOnceExcept(total, ['p6789'])
      expect(report.sent).to.equal(total - 1)
      expect(report.models).to.deep.equal({Signal: total - 1})
      expect(report.failedSignals).to.deep.equal({
        Signal: {
          pending: 1,
          deadLettered: 0,
          firstPending: {key: 'id=6790', error: 'the broker refused payload "p6789"'},
          firstDeadLettered: null,
        },
      })
      expect(report.failed).to.deep.equal([
        {model: 'Signal', error: '1 signal(s) of "Signal" failed and stay pending (first: id=6790: the broker refused payload "p6789")'},
      ])
      const extra = extraSends(controls.calls, total, 1000)
      expect(extra, 'extra send calls').to.be.at.most(extraSendsPerFailingSignal(1000))
      console.log(`      (${controls.calls.length} send calls for ${total} rows: ${extra} extra for 1 failing signal)`)
    })

    it('10 failing rows at random positions among 5,000 (burst 500): the others are delivered once, each extra cost within the bound', async () => {
      const total = 5000
      await insertManySignals(db, total)
      const failing = randomPositions(total, 10).map((position) => `p${position}`)
      controls.failOnPayloads = new Set(failing)
      const report = await signalbus.flushmanyReport([Signal], {burst: 500})
      await expectDeliveredOnceExcept(total, failing)
      expect(report.sent).to.equal(total - 10)
      expect(report.failedSignals['Signal']!.pending).to.equal(10)
      const extra = extraSends(controls.calls, total, 500)
      expect(extra, 'extra send calls').to.be.at.most(10 * extraSendsPerFailingSignal(500))
      console.log(`      (failing ${failing.join(', ')}: ${extra} extra send calls)`)
    })

    for (const [what, positions] of [
      ['two adjacent failing rows', [41, 42]],
      ['three adjacent failing rows at the start of a burst', [0, 1, 2]],
      ['a failing first and last row', [0, 99]],
    ] as const) {
      it(`${what}: they stay pending, the other rows are delivered once`, async () => {
        await insertManySignals(db, 100)
        const failing = positions.map((position) => `p${position}`)
        controls.failOnPayloads = new Set(failing)
        const report = await signalbus.flushmanyReport([Signal], {burst: 100})
        await expectDeliveredOnceExcept(100, failing)
        expect(report.failedSignals['Signal']!.pending).to.equal(positions.length)
        expect(extraSends(controls.calls, 100, 100)).to.be.at.most(positions.length * extraSendsPerFailingSignal(100))
      })
    }

    it('a signal that fails once and then succeeds is delivered in the same run and not counted as failing', async () => {
      await insertManySignals(db, 300)
      controls.failOncePayloads = new Set(['p150'])
      const recorder = new RememberingRecorder()
      const bus = new SignalBus(db.dataSource, {failureRecorder: recorder})
      const report = await bus.flushmanyReport([Signal], {burst: 100, maxAttempts: 3})
      await expectDeliveredOnceExcept(300, [])
      expect(report).to.deep.include({sent: 300, failed: [], failedSignals: {}, deadLettered: 0})
      expect(recorder.failures).to.deep.equal([])
      expect(controls.calls.filter((call) => call.failed)).to.have.length(1)
    })

    it('composite keys: the failing signal is left out of later claims by both key columns', async () => {
      const rows = Array.from({length: 30}, (_, index) => ({shard: index % 2, seq: Math.floor(index / 2), payload: `c${index}`}))
      await db.insert(CompositeSignal, rows)
      controls.failOnPayloads = new Set(['c9'])
      const report = await signalbus.flushmanyReport([CompositeSignal])
      expect(report.sent).to.equal(29)
      expect(report.failedSignals['CompositeSignal']!.firstPending!.key).to.equal('shard=1,seq=4')
      const sent = sentPayloads(controls.sent, 'CompositeSignal')
      expect(duplicates(sent)).to.deep.equal([])
      expect(sent).to.have.members(rows.map((row) => row.payload).filter((payload) => payload !== 'c9'))
      expect(await pendingPayloads(db, CompositeSignal)).to.deep.equal(['c9'])
    })

    it('sends that fail whatever the split stop the model: few attempts, all rows pending, nothing counted as failing', async () => {
      await insertManySignals(db, 2000)
      controls.failEverySend = true
      const recorder = new RememberingRecorder()
      const bus = new SignalBus(db.dataSource, {failureRecorder: recorder})
      const report = await bus.flushmanyReport([Signal], {burst: 1000, maxAttempts: 1})
      expect(report.sent).to.equal(0)
      expect(report.failedSignals).to.deep.equal({})
      expect(report.failed).to.have.length(1)
      expect(report.failed[0]!.error).to.match(/^Sending signals of "Signal" fails whatever the split .*the message service is unavailable$/)
      expect(recorder.failures, 'nothing recorded').to.deep.equal([])
      expect(await db.count(Signal)).to.equal(2000)
      // Down to single rows once (⌈log2 1000⌉ + 1 sends), then one single-row send per further suspect: no storm.
      expect(controls.calls.length, 'send calls').to.be.at.most(Math.ceil(Math.log2(1000)) + 1 + 5)
      console.log(`      (${controls.calls.length} send calls before the model stopped)`)
    })

    it('with a failure recorder and maxAttempts, each failing signal is recorded once per run with its row; the run reports dead letters', async () => {
      await db.insert(BatchSignal, Array.from({length: 120}, (_, index) => ({payload: `b${index}`})))
      controls.failOnPayloads = new Set(['b7', 'b80'])
      const recorder = new RememberingRecorder()
      const bus = new SignalBus(db.dataSource, {failureRecorder: recorder})
      const first = await bus.flushmanyReport([BatchSignal], {maxAttempts: 2})
      expect(first.sent).to.equal(118)
      expect(first.failedSignals['BatchSignal']).to.deep.include({pending: 2, deadLettered: 0})
      expect(recorder.failures.map((failure) => failure.row['payload'])).to.have.members(['b7', 'b80'])
      expect(recorder.failures.every((failure) => failure.maxAttempts === 2 && failure.model.name === 'BatchSignal')).to.equal(true)
      expect(String((recorder.failures[0]!.error as Error).message)).to.match(/the broker refused payload "b(7|80)"/)

      const second = await bus.flushmanyReport([BatchSignal], {maxAttempts: 2})
      expect(second.failed, 'dead-lettered only: not a failure').to.deep.equal([])
      expect(second).to.deep.include({sent: 0, deadLettered: 2})
      expect(second.failedSignals['BatchSignal']).to.deep.include({pending: 0, deadLettered: 2})
      expect(recorder.failures).to.have.length(4)
    })

    it('without a failure recorder nothing is recorded, and flushmany() throws a FlushError whose report counts the delivered rows', async () => {
      await insertManySignals(db, 50)
      controls.failOnPayloads = new Set(['p10'])
      const error = await signalbus.flushmany([Signal], {burst: 10, maxAttempts: 1}).then(
        () => undefined,
        (thrown: unknown) => thrown,
      )
      expect(error).to.be.instanceOf(FlushError)
      expect((error as FlushError).report.sent).to.equal(49)
      expect((error as FlushError).message).to.contain('1 signal(s) of "Signal" failed and stay pending (first: id=11:')
    })

    it('flush sends no more than were pending at the call, counting the failing signal among them', async () => {
      await insertManySignals(db, 40)
      controls.failOnPayloads = new Set(['p3'])
      const report = await signalbus.flushReport([Signal], {burst: 8})
      expect(report.sent).to.equal(39)
      await insertManySignals(db, 5)
      expect(await db.count(Signal)).to.equal(6)
    })
  })
}
