// Dead letters end to end through the real binary: `flushmany --max-attempts 3` moves a signal whose own send
// fails after its 3rd failed run, with its row intact; `requeue` restores it exactly; once the cause is fixed the
// next flush delivers it. The other signals are delivered once, the first time.
import {expect} from 'chai'
import {SignalBus} from '../../src/index.js'
import {deadLetterEntities, RichSignalOn} from '../fixtures/dead-letters/entities.js'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {dropBookkeeping, insertRichRows, rowSnapshot} from '../helpers/dead-letters.js'
import {runCli, type CliResult} from '../helpers/run-cli.js'
import {TestDatabase, duplicates, readSentLog} from '../helpers/test-database.js'
import {Signal} from '../fixtures/signals/entities.js'
import {controls, resetControls} from '../fixtures/signals/test-controls.js'

const CLI_TIMEOUT_MS = 60_000

interface ReportJson {
  sent: number
  deadLettered: number
  failedSignals: Record<string, {pending: number; deadLettered: number}>
}

for (const dialect of DIALECTS) {
  const RichSignal = RichSignalOn[dialect]

  describe(`dead letters end to end on ${dialect}`, () => {
    let db: TestDatabase

    beforeEach(async () => {
      db = await TestDatabase.create(dialect, {entities: deadLetterEntities(dialect), fixture: 'dead-letters/cli-data-source.js'})
      await insertRichRows(db.dataSource, dialect, RichSignal, [['acme', 1], ['acme', 2], ['acme', 3]])
    })

    afterEach(async () => {
      await dropBookkeeping(db.dataSource)
      await db.destroy()
    })

    const cli = (args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
      runCli(args, {env: db.env(env), timeoutMs: CLI_TIMEOUT_MS})

    it('in bursts of 10 among 200 signals, the two failing ones are moved at their limit and every other one is delivered once', async () => {
      resetControls()
      const signalbus = new SignalBus(db.dataSource)
      await signalbus.setup()
      await db.insertSignals(200)
      controls.failOnPayloads = new Set(['p37', 'p150'])
      try {
        const first = await signalbus.flushmanyReport([Signal], {burst: 10, maxAttempts: 2})
        expect(first.failedSignals['Signal']).to.include({pending: 2, deadLettered: 0})
        const second = await signalbus.flushmanyReport([Signal], {burst: 10, maxAttempts: 2})
        expect(second.failedSignals['Signal']).to.include({pending: 0, deadLettered: 2})
        expect(second.failed).to.deep.equal([])
        const sent = controls.sent.filter((record) => record.model === 'Signal').map((record) => record.payload)
        expect(duplicates(sent)).to.deep.equal([])
        expect(sent).to.have.length(198)
      } finally {
        resetControls()
      }
      expect(await db.count(Signal)).to.equal(0)
      const letters = await signalbus.deadLetters([Signal])
      expect(letters.map((letter) => letter.attempts)).to.deep.equal([2, 2])
      expect(letters.map((letter) => letter.error).join(' ')).to.contain('p37').and.to.contain('p150')
    })

    it('--max-attempts 3 moves the failing signal after its 3rd failed run; requeue restores it; the fixed send delivers it', async () => {
      const before = await rowSnapshot(db.dataSource, dialect, RichSignal)
      expect((await cli(['setup', '--apply'])).code).to.equal(0)
      const sentLog = db.newSentLog()
      // The transformer upper-cases the stored payload, so the send sees HELLO-2 for (acme, 2).
      const failing = {SIGNALBUS_TEST_SENT_LOG: sentLog, SIGNALBUS_TEST_FAIL_ON_PAYLOAD: 'HELLO-2'}
      const flush = (): Promise<CliResult> => cli(['flushmany', 'RichSignal', '--max-attempts', '3', '--json'], failing)

      for (const run of [1, 2]) {
        const result = await flush()
        expect(result.code, `run ${run} exits 1: a signal failed and stays pending`).to.equal(1)
        const report = JSON.parse(result.stdout) as ReportJson
        expect(report.failedSignals['RichSignal']).to.include({pending: 1, deadLettered: 0})
        expect(await db.count(RichSignal), `after run ${run}`).to.equal(1)
      }
      const third = await flush()
      expect(third.code, 'run 3 moved it and delivered all else: exit 0').to.equal(0)
      expect(third.stderrLines).to.have.length(1)
      expect(third.stderrLines[0]).to.match(/^Warning: 1 signal\(s\) of "RichSignal" failed too often and were moved to the dead letters/)
      expect((JSON.parse(third.stdout) as ReportJson).deadLettered).to.equal(1)
      expect(await db.count(RichSignal)).to.equal(0)
      expect(readSentLog(sentLog).map((record) => record.key).sort(), 'the others were delivered once').to.deep.equal(['acme:1', 'acme:3'])

      const listed = JSON.parse((await cli(['dead-letters', '--json'])).stdout) as {deadLetters: Array<Record<string, unknown>>}
      expect(listed.deadLetters).to.have.length(1)
      expect(listed.deadLetters[0]).to.include({model: 'RichSignal', attempts: 3})
      expect(listed.deadLetters[0]!['key']).to.deep.equal({tenant: 'acme', seq: '2'})
      expect(listed.deadLetters[0]!['error']).to.contain('HELLO-2')

      const requeued = await cli(['requeue', 'RichSignal', '--key', 'tenant=acme,seq=2', '--json'])
      expect(requeued.code).to.equal(0)
      expect(JSON.parse(requeued.stdout)).to.deep.equal({requeued: {RichSignal: 1}})
      expect(await rowSnapshot(db.dataSource, dialect, RichSignal), 'exactly the row that was dead-lettered').to.deep.equal([before[1]])

      const fixed = await cli(['flushmany', 'RichSignal', '--max-attempts', '3'], {SIGNALBUS_TEST_SENT_LOG: sentLog})
      expect(fixed.code).to.equal(0)
      expect(await db.count(RichSignal)).to.equal(0)
      expect(readSentLog(sentLog).map((record) => record.key).sort()).to.deep.equal(['acme:1', 'acme:2', 'acme:3'])
      expect(await new SignalBus(db.dataSource).deadLetterCounts([RichSignal])).to.deep.equal({RichSignal: 0})
    })
  })
}
