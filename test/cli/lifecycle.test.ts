// The flushing CLI's process lifecycle, through the real binary: it exits by itself when done (bin/run.js warns
// and force-exits after a grace period when a handle keeps it alive), --repeat loops on a fixed period until
// SIGTERM, and SIGTERM lets the burst in progress finish before exiting 0.
import {expect} from 'chai'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {Signal} from '../fixtures/signals/entities.js'
import {
  burstInProgress,
  byNumber,
  delay,
  flushJsonLines,
  pendingPayloads,
  repeatInBackground,
  sentPayloads,
  signalPayloads,
  waitFor,
  watch,
} from '../helpers/flushing.js'
import {runCli, startCli, type CliResult} from '../helpers/run-cli.js'
import {TestDatabase, duplicates, readSentLog} from '../helpers/test-database.js'

const CLI_TIMEOUT_MS = 60_000
const OPEN_HANDLES_WARNING = /open handles kept the process alive/

function expectNoOpenHandlesWarning(result: CliResult): void {
  expect(result.stderr, 'stderr').to.not.match(OPEN_HANDLES_WARNING)
}

for (const dialect of DIALECTS) {
  describe(`signalbus process lifecycle on ${dialect}`, function () {
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

    it('exits 0 by itself after flushmany, with no open handle keeping it alive', async () => {
      await db.insertSignals(5)
      const result = await runCli(['flushmany', '--burst', '2'], {
        env: db.env({SIGNALBUS_TEST_SENT_LOG: sentLog}),
        timeoutMs: CLI_TIMEOUT_MS,
      })
      expectNoOpenHandlesWarning(result)
      expect(result.stderrLines, 'stderr').to.deep.equal([])
      expect(result.code, 'exit code').to.equal(0)
      expect(readSentLog(sentLog)).to.have.length(5)
    })

    it('exits 1 by itself after a failed send, with no open handle keeping it alive', async () => {
      await db.insertSignals(5)
      const result = await runCli(['flushmany', '--burst', '2'], {
        env: db.env({SIGNALBUS_TEST_SENT_LOG: sentLog, SIGNALBUS_TEST_FAIL_ON_PAYLOAD: 'p3'}),
        timeoutMs: CLI_TIMEOUT_MS,
      })
      expectNoOpenHandlesWarning(result)
      expect(result.stderrLines, 'stderr').to.have.length(1)
      expect(result.code, 'exit code').to.equal(1)
      expect(await db.count(Signal), 'only the failing signal is left').to.equal(1)
    })

    it('--repeat 1 flushes again after the interval, and exits 0 promptly on SIGTERM', async () => {
      await db.insertSignals(20)
      const started = startCli(['flushmany', 'Signal', '--repeat', '1', '--burst', '10', '--json'], {
        env: db.env({SIGNALBUS_TEST_SENT_LOG: sentLog}),
        timeoutMs: CLI_TIMEOUT_MS,
      })
      const {child, done} = started
      const running = watch(started)
      try {
        // The first iteration is over when it prints its line: the rows inserted next are for a later one.
        await waitFor('the first iteration', () => running.stdout.includes('\n') || running.assertRunningQuietly(), {
          timeoutMs: 15_000,
        })
        expect(flushJsonLines(running.stdout).map((report) => report.sent)).to.deep.equal([20])
        await db.insertSignals(15, 20)
        await waitFor('the 15 later rows to be sent', () => readSentLog(sentLog).length >= 35 || running.assertRunningQuietly(), {
          timeoutMs: 10_000,
        })
      } finally {
        child.kill('SIGTERM')
      }
      const signalledAt = performance.now()
      const result = await done
      expect(performance.now() - signalledAt, 'ms from SIGTERM to exit').to.be.below(3000)
      expectNoOpenHandlesWarning(result)
      expect(result.stderrLines, 'stderr').to.deep.equal([])
      expect(result.code, 'exit code').to.equal(0)
      expect(result.signal).to.equal(null)
      const iterations = flushJsonLines(result.stdout)
      expect(iterations.length, 'iterations').to.be.at.least(2)
      expect(iterations[0]!.sent).to.equal(20)
      expect(iterations.slice(1).reduce((sum, report) => sum + report.sent, 0), 'sent by later iterations').to.equal(15)
      expect(iterations.every((report) => report.failed.length === 0)).to.equal(true)
      const sent = sentPayloads(readSentLog(sentLog))
      expect(duplicates(sent)).to.deep.equal([])
      expect(byNumber(sent)).to.deep.equal(signalPayloads(35))
      expect(await db.count(Signal)).to.equal(0)
    })

    it('--repeat 1 subtracts the time spent: iterations of ~0.6 s start about once a second', async () => {
      await db.insertSignals(3)
      let inserted = 3
      const started = startCli(['flushmany', 'Signal', '--repeat', '1', '--burst', '1000', '--json'], {
        env: db.env({SIGNALBUS_TEST_SENT_LOG: sentLog, SIGNALBUS_TEST_SEND_DELAY_MS: '600'}),
        timeoutMs: CLI_TIMEOUT_MS,
      })
      const {child, done} = started
      const running = watch(started)
      // When each JSON line (one per iteration) arrived.
      const lineTimes: number[] = []
      child.stdout!.on('data', (chunk: Buffer) => {
        const now = performance.now()
        for (const character of chunk.toString()) if (character === '\n') lineTimes.push(now)
      })
      // New rows keep arriving, so that every iteration has a burst to send (one batch call: 0.6 s).
      const trickle = repeatInBackground(150, async () => {
        await db.insertSignals(1, inserted)
        inserted += 1
      })
      let linesBeforeStop: number[]
      try {
        await waitFor('the first iteration', () => lineTimes.length > 0 || running.assertRunningQuietly(), {timeoutMs: 15_000})
        // Lines at first + 0, 1, 2, 3, 4 s when the sleep subtracts the 0.6 s spent; first + 0, 1.6, 3.2 s when it
        // does not; about every 0.6 s when it does not sleep at all.
        await delay(4500 - (performance.now() - lineTimes[0]!))
        linesBeforeStop = [...lineTimes]
      } finally {
        await trickle.stop()
        child.kill('SIGTERM')
      }
      const result = await done
      expectNoOpenHandlesWarning(result)
      expect(result.stderrLines, 'stderr').to.deep.equal([])
      expect(result.code, 'exit code').to.equal(0)
      const iterations = flushJsonLines(result.stdout)
      expect(iterations[0]!.seconds, 'an iteration with rows takes the send delay').to.be.at.least(0.55)

      expect(linesBeforeStop.length, `iterations in the 4.5 s after the first: ${linesBeforeStop.length}`).to.be.within(4, 6)
      const span = linesBeforeStop[linesBeforeStop.length - 1]! - linesBeforeStop[0]!
      const period = span / (linesBeforeStop.length - 1)
      expect(period, 'mean ms between iterations').to.be.within(800, 1300)

      const sent = sentPayloads(readSentLog(sentLog))
      expect(duplicates(sent), 'sent twice').to.deep.equal([])
      const pending = await pendingPayloads(db, Signal)
      expect(byNumber([...sent, ...pending])).to.deep.equal(signalPayloads(inserted))
      expect(iterations.reduce((sum, report) => sum + report.sent, 0)).to.equal(sent.length)
    })

    for (const mode of [[], ['--repeat', '1']]) {
      const how = mode.length === 0 ? 'a one-shot flushmany' : 'flushmany --repeat 1'
      it(`SIGTERM during a slow burst of ${how} lets that burst finish (sent and deleted), then exits 0`, async () => {
        await db.insertSignals(6)
        const started = startCli(['flushmany', 'Signal', '--burst', '3', '--json', ...mode], {
          env: db.env({SIGNALBUS_TEST_SENT_LOG: sentLog, SIGNALBUS_TEST_SEND_DELAY_MS: '1500'}),
          timeoutMs: CLI_TIMEOUT_MS,
        })
        const {child, done} = started
        const running = watch(started)
        try {
          await waitFor(
            'the first burst to be claimed',
            async () => (await burstInProgress(db, Signal)) || running.assertRunningQuietly(),
            {timeoutMs: 15_000},
          )
          expect(readSentLog(sentLog), 'nothing sent yet: the burst is still in its send').to.deep.equal([])
        } finally {
          child.kill('SIGTERM')
        }
        const result = await done
        expectNoOpenHandlesWarning(result)
        expect(result.stderrLines, 'stderr').to.deep.equal([])
        expect(result.code, 'exit code').to.equal(0)
        expect(result.signal).to.equal(null)
        const iterations = flushJsonLines(result.stdout)
        expect(iterations.map((report) => report.sent)).to.deep.equal([3])
        // The burst in progress was sent and its rows deleted; the next burst was never started.
        expect(byNumber(sentPayloads(readSentLog(sentLog)))).to.deep.equal(signalPayloads(3))
        expect(byNumber(await pendingPayloads(db, Signal))).to.deep.equal(signalPayloads(3, 3))
      })
    }
  })
}
