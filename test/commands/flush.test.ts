// `signalbus flush` through the real binary: it touches only the models it is given, and sends the signals
// pending when it was called (counted then; sent after --wait), leaving later ones for the next run.
import {expect} from 'chai'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {BatchSignal, CompositeSignal, Signal} from '../fixtures/signals/entities.js'
import {
  byNumber,
  expectProcessed,
  flushJson,
  pendingPayloads,
  repeatInBackground,
  sentPayloads,
  signalPayloads,
  summaryLine,
  watch,
} from '../helpers/flushing.js'
import {runCli, startCli} from '../helpers/run-cli.js'
import {TestDatabase, readSentLog} from '../helpers/test-database.js'

const CLI_TIMEOUT_MS = 60_000

for (const dialect of DIALECTS) {
  describe(`signalbus flush on ${dialect}`, function () {
    this.timeout(60_000)
    let db: TestDatabase
    let sentLog: string

    beforeEach(async () => {
      db = await TestDatabase.create(dialect)
      sentLog = db.newSentLog()
    })

    afterEach(async () => {
      await db.destroy()
    })

    it('--models CompositeSignal flushes that model only; the other models keep their rows pending', async () => {
      await db.insertSignals(4)
      await db.insert(BatchSignal, [{payload: 'b0'}, {payload: 'b1'}])
      const composite = Array.from({length: 9}, (_, index) => ({shard: index % 2, seq: index, payload: `c${index}`}))
      await db.insert(CompositeSignal, composite)

      const result = await runCli(['flush', '--models', 'CompositeSignal', '--json'], {
        env: db.env({SIGNALBUS_TEST_SENT_LOG: sentLog}),
        timeoutMs: CLI_TIMEOUT_MS,
      })
      expect(result.stderrLines, 'stderr').to.deep.equal([])
      expect(result.code, 'exit code').to.equal(0)
      expect(flushJson(result.stdout)).to.deep.include({sent: 9, models: {CompositeSignal: 9}, failed: []})
      const sent = readSentLog(sentLog)
      expect(sent.every((record) => record.model === 'CompositeSignal' && record.via === 'one')).to.equal(true)
      expect(sent.map((record) => record.key)).to.have.members(composite.map((row) => `${row.shard}:${row.seq}`))
      expect(await db.count(CompositeSignal)).to.equal(0)
      expect(await db.count(Signal), 'Signal rows untouched').to.equal(4)
      expect(await db.count(BatchSignal), 'BatchSignal rows untouched').to.equal(2)
    })

    it('--wait 1 waits, then sends the signals that were pending at the call', async () => {
      await db.insertSignals(12)
      const result = await runCli(['flush', '--models', 'Signal', '--wait', '1', '--burst', '5'], {
        env: db.env({SIGNALBUS_TEST_SENT_LOG: sentLog}),
        timeoutMs: CLI_TIMEOUT_MS,
      })
      expectProcessed(result, 12)
      expect(result.milliseconds, 'the run lasted at least the wait').to.be.at.least(1000)
      expect(byNumber(sentPayloads(readSentLog(sentLog)))).to.deep.equal(signalPayloads(12))
      expect(await db.count(Signal)).to.equal(0)
    })

    it('--wait 1 leaves signals inserted during the wait pending (only the oldest, counted ones are sent)', async () => {
      await db.insertSignals(10)
      const child = startCli(['flush', '--models', 'Signal', '--wait', '1', '--burst', '4'], {
        env: db.env({SIGNALBUS_TEST_SENT_LOG: sentLog}),
        timeoutMs: CLI_TIMEOUT_MS,
      })
      const running = watch(child)
      // One row at a time until the child exits, each with the time its insert began: some land before the
      // child counts, some during its wait. The count happens at least 1 s before the child exits.
      const insertStartedAt: number[] = []
      const trickle = repeatInBackground(40, async () => {
        if (running.exited) return
        insertStartedAt.push(performance.now())
        await db.insertSignals(1, 10 + insertStartedAt.length - 1)
      })
      const result = await child.done
      const exitedAt = performance.now()
      await trickle.stop()

      expect(result.stderrLines, 'stderr').to.deep.equal([])
      expect(result.code, 'exit code').to.equal(0)
      const inserted = 10 + insertStartedAt.length
      const sent = sentPayloads(readSentLog(sentLog))
      expect(result.stdout).to.equal(`${summaryLine(sent.length)}\n`)
      // Oldest key first: what was sent is a prefix of the insertion order, including all rows pending before the call.
      expect(byNumber(sent)).to.deep.equal(signalPayloads(sent.length))
      expect(sent.length).to.be.at.least(10)
      // A row whose insert began less than the wait before the child exited cannot have been counted
      // (50 ms of slack for timer rounding).
      const countedAtTheLatest = exitedAt - 950
      const lateRows = insertStartedAt.filter((startedAt) => startedAt > countedAtTheLatest).length
      expect(lateRows, 'rows inserted during the wait').to.be.above(0)
      expect(sent.length, 'sent no more than were pending at the call').to.be.at.most(inserted - lateRows)
      expect(byNumber(await pendingPayloads(db, Signal))).to.deep.equal(signalPayloads(inserted - sent.length, sent.length))
    })
  })
}
