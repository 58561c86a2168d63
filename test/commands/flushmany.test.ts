// `signalbus flushmany` through the real binary, the way cron runs it: exit code, stdout and stderr are
// asserted every time, and what was sent (the fixtures' sent log) is compared with what is left in the tables.
import {expect} from 'chai'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {BatchSignal, CompositeSignal, Signal} from '../fixtures/signals/entities.js'
import {
  byNumber,
  expectOneErrorLine,
  expectProcessed,
  flushJson,
  pendingPayloads,
  readSentLogs,
  repeatInBackground,
  sentPayloads,
  signalPayloads,
  summaryLine,
  waitFor,
  watch,
} from '../helpers/flushing.js'
import {runCli, startCli, type CliResult} from '../helpers/run-cli.js'
import {TestDatabase, duplicates, readSentLog} from '../helpers/test-database.js'

const CLI_TIMEOUT_MS = 60_000

for (const dialect of DIALECTS) {
  describe(`signalbus flushmany on ${dialect}`, function () {
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

    function flushmany(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
      return runCli(['flushmany', ...args], {env: db.env({SIGNALBUS_TEST_SENT_LOG: sentLog, ...env}), timeoutMs: CLI_TIMEOUT_MS})
    }

    it('sends every pending row exactly once, deletes it and prints how many were processed', async () => {
      await db.insertSignals(25)
      const result = await flushmany([])
      expectProcessed(result, 25)
      const sent = readSentLog(sentLog)
      expect(byNumber(sentPayloads(sent))).to.deep.equal(signalPayloads(25))
      expect(duplicates(sent.map((record) => record.key))).to.deep.equal([])
      expect(await db.count(Signal)).to.equal(0)
    })

    it('prints "0 signals have been successfully processed." and exits 0 when nothing is pending', async () => {
      const result = await flushmany([])
      expectProcessed(result, 0)
      expect(readSentLog(sentLog)).to.deep.equal([])
    })

    it('--json prints one object {sent, models, failed, failedSignals, deadLettered, seconds} with the counts of every model', async () => {
      await db.insertSignals(4)
      await db.insert(CompositeSignal, [1, 2, 3].map((seq) => ({shard: 1, seq, payload: `c${seq}`})))
      const result = await flushmany(['--json'])
      expect(result.stderrLines, 'stderr').to.deep.equal([])
      expect(result.code, 'exit code').to.equal(0)
      const report = flushJson(result.stdout)
      expect(report).to.deep.include({sent: 7, models: {Signal: 4, CompositeSignal: 3, BatchSignal: 0}, failed: [], failedSignals: {}, deadLettered: 0})
      expect(report.seconds).to.be.below(result.milliseconds / 1000)
      expect(readSentLog(sentLog)).to.have.length(7)
      expect(await db.count(Signal)).to.equal(0)
      expect(await db.count(CompositeSignal)).to.equal(0)
    })

    it("--burst overrides the model's burst count and sends bursts of several rows through the batch method", async () => {
      await db.insertSignals(9)
      const result = await flushmany(['Signal', '--burst', '4'])
      expectProcessed(result, 9)
      const sent = readSentLog(sentLog)
      expect(sent.map((record) => `${record.via}/${record.burst}`)).to.deep.equal([
        ...Array(8).fill('batch/4'),
        'one/1',
      ])
      expect(byNumber(sentPayloads(sent))).to.deep.equal(signalPayloads(9))
      expect(await db.count(Signal)).to.equal(0)
    })

    it("uses the model's own signalbusBurstCount without --burst, and --burst can make it smaller", async () => {
      await db.insert(BatchSignal, Array.from({length: 60}, (_, index) => ({payload: `b${index}`})))
      expectProcessed(await flushmany(['BatchSignal']), 60)
      expect(readSentLog(sentLog).map((record) => record.burst)).to.deep.equal([...Array(50).fill(50), ...Array(10).fill(10)])

      const secondLog = db.newSentLog()
      await db.insert(BatchSignal, Array.from({length: 25}, (_, index) => ({payload: `c${index}`})))
      expectProcessed(await flushmany(['BatchSignal', '--burst', '10'], {SIGNALBUS_TEST_SENT_LOG: secondLog}), 25)
      const bursts = readSentLog(secondLog).map((record) => `${record.via}/${record.burst}`)
      expect(bursts).to.deep.equal([...Array(20).fill('batch/10'), ...Array(5).fill('batch/5')])
      expect(await db.count(BatchSignal)).to.equal(0)
    })

    it('exits 1 with one stderr line naming the model, the count and the first failing key when a send throws; only that signal stays pending', async () => {
      await db.insertSignals(10)
      const result = await flushmany(['Signal', '--burst', '3'], {SIGNALBUS_TEST_FAIL_ON_PAYLOAD: 'p7'})
      expect(result.stderrLines, 'stderr').to.deep.equal([
        'Error: 1 signal(s) of "Signal" failed and stay pending (first: id=8: the broker refused payload "p7")',
      ])
      expect(result.stdout, 'stdout').to.equal(`${summaryLine(9)}\n`)
      expect(result.code, 'exit code').to.equal(1)
      // The burst p6-p8 failed and was narrowed down: p6 and p8 were delivered on their own, p7 set aside.
      const sent = sentPayloads(readSentLog(sentLog))
      expect(duplicates(sent)).to.deep.equal([])
      expect(byNumber(sent)).to.deep.equal(signalPayloads(10).filter((payload) => payload !== 'p7'))
      expect(await pendingPayloads(db, Signal)).to.deep.equal(['p7'])
    })

    it('still flushes the other named model when one model fails, and reports the failure in --json', async () => {
      await db.insertSignals(5)
      await db.insert(CompositeSignal, [1, 2, 3, 4].map((seq) => ({shard: 2, seq, payload: `c${seq}`})))
      const result = await flushmany(['Signal', 'CompositeSignal', '--burst', '2', '--json'], {
        SIGNALBUS_TEST_FAIL_ON_PAYLOAD: 'p2',
      })
      expect(result.stderrLines, 'stderr').to.have.length(1)
      expect(result.stderrLines[0]).to.match(/^Error: 1 signal\(s\) of "Signal" failed .*the broker refused payload "p2"/)
      expect(result.code, 'exit code').to.equal(1)
      const report = flushJson(result.stdout)
      expect(report).to.deep.include({sent: 8, models: {Signal: 4, CompositeSignal: 4}, deadLettered: 0})
      expect(report.failed).to.have.length(1)
      expect(report.failed[0]!.model).to.equal('Signal')
      expect(report.failed[0]!.error).to.contain('the broker refused payload "p2"')
      expect(report.failedSignals).to.deep.equal({
        Signal: {pending: 1, deadLettered: 0, firstPending: {key: 'id=3', error: 'the broker refused payload "p2"'}, firstDeadLettered: null},
      })
      const sent = readSentLog(sentLog)
      expect(byNumber(sentPayloads(sent))).to.deep.equal(['p0', 'p1', 'p3', 'p4'])
      expect(sentPayloads(sent, 'CompositeSignal')).to.have.members(['c1', 'c2', 'c3', 'c4'])
      expect(await db.count(Signal)).to.equal(1)
      expect(await db.count(CompositeSignal)).to.equal(0)
    })

    it('warns about an unknown name on stderr and flushes the known ones', async () => {
      await db.insertSignals(3)
      await db.insert(BatchSignal, [{payload: 'b0'}])
      const result = await flushmany(['Signal', 'Nope'])
      expect(result.stderrLines, 'stderr').to.deep.equal(['Warning: A signal with name "Nope" does not exist.'])
      expect(result.stdout, 'stdout').to.equal(`${summaryLine(3)}\n`)
      expect(result.code, 'exit code').to.equal(0)
      expect(byNumber(sentPayloads(readSentLog(sentLog)))).to.deep.equal(signalPayloads(3))
      expect(await db.count(Signal)).to.equal(0)
      expect(await db.count(BatchSignal), 'a model not named is left alone').to.equal(1)
    })

    it('--strict exits 2 on an unknown name with one stderr line and sends nothing', async () => {
      await db.insertSignals(3)
      const result = await flushmany(['Signal', 'Nope', '--strict'])
      expect(expectOneErrorLine(result, 2)).to.equal('Error: A signal with name "Nope" does not exist.')
      expect(readSentLog(sentLog)).to.deep.equal([])
      expect(await db.count(Signal)).to.equal(3)
    })

    for (const args of [
      ['--burst', '0'],
      ['--burst', 'abc'],
      ['--repeat', '-1'],
    ]) {
      it(`rejects \`${args.join(' ')}\` with exit 2 and one stderr line, sending nothing`, async () => {
        await db.insertSignals(3)
        const line = expectOneErrorLine(await flushmany(['Signal', ...args]), 2)
        expect(line).to.contain(args[0]!)
        expect(readSentLog(sentLog)).to.deep.equal([])
        expect(await db.count(Signal)).to.equal(3)
      })
    }

    for (const processes of [2, 3]) {
      it(`${processes} concurrent flushmany processes send each of 20,000 rows exactly once`, async () => {
        const total = 20_000
        await db.insertSignals(total)
        const logs = Array.from({length: processes}, () => db.newSentLog())
        // A short delay per burst makes one process alone take over a second, so the runs overlap.
        const children = logs.map((log) =>
          startCli(['flushmany', 'Signal', '--burst', '500', '--json'], {
            env: db.env({SIGNALBUS_TEST_SENT_LOG: log, SIGNALBUS_TEST_SEND_DELAY_MS: '50'}),
            timeoutMs: CLI_TIMEOUT_MS,
          }),
        )
        const results = await Promise.all(children.map((child) => child.done))
        results.forEach((result, index) => {
          expect(result.stderrLines, `stderr of process ${index}`).to.deep.equal([])
          expect(result.code, `exit code of process ${index}`).to.equal(0)
        })
        const reports = results.map((result) => flushJson(result.stdout))
        const sent = readSentLogs(logs)
        const keys = sent.map((record) => record.key)
        expect(duplicates(keys), 'rows sent twice').to.deep.equal([])
        expect(keys).to.have.length(total)
        const sentSet = new Set(sentPayloads(sent))
        expect(signalPayloads(total).filter((payload) => !sentSet.has(payload)), 'rows never sent').to.deep.equal([])
        expect(reports.map((report) => report.sent)).to.deep.equal(logs.map((log) => readSentLog(log).length))
        if (dialect !== 'sqlite') {
          // SKIP LOCKED lets them work side by side (SQLite has a single writer, so there one may do it all).
          expect(reports.every((report) => report.sent > 0), `each process sent some: ${reports.map((r) => r.sent)}`).to.equal(true)
        }
        expect(await db.count(Signal)).to.equal(0)
      })
    }

    it('loses no row inserted while a flush is running: sent and pending together are all rows, none twice', async () => {
      await db.insertSignals(200)
      const child = startCli(['flushmany', 'Signal', '--burst', '10'], {
        env: db.env({SIGNALBUS_TEST_SENT_LOG: sentLog, SIGNALBUS_TEST_SEND_DELAY_MS: '80'}),
        timeoutMs: CLI_TIMEOUT_MS,
      })
      const running = watch(child)
      await waitFor('the first burst to be sent', () => readSentLog(sentLog).length > 0 || running.assertRunningQuietly(), {
        timeoutMs: 15_000,
      })
      let inserted = 200
      const inserter = repeatInBackground(50, async () => {
        if (running.exited || inserted >= 400) return
        await db.insertSignals(10, inserted)
        inserted += 10
      })
      const result = await child.done
      await inserter.stop()
      expect(result.stderrLines, 'stderr').to.deep.equal([])
      expect(result.code, 'exit code').to.equal(0)
      expect(inserted, 'rows inserted while the flush ran').to.be.above(200)
      const sentDuringRun = sentPayloads(readSentLog(sentLog))
      expect(result.stdout).to.equal(`${summaryLine(sentDuringRun.length)}\n`)
      const pending = await pendingPayloads(db, Signal)
      expect(duplicates([...sentDuringRun, ...pending]), 'rows both sent and pending, or sent twice').to.deep.equal([])
      expect(byNumber([...sentDuringRun, ...pending])).to.deep.equal(signalPayloads(inserted))

      const again = await flushmany(['Signal', '--burst', '50'])
      expectProcessed(again, pending.length)
      const sent = sentPayloads(readSentLog(sentLog))
      expect(duplicates(sent)).to.deep.equal([])
      expect(byNumber(sent)).to.deep.equal(signalPayloads(inserted))
      expect(await db.count(Signal)).to.equal(0)
    })
  })
}
