// `flushmany` and `flush` with --in-flight and --concurrency through the real binary: every row delivered once,
// the sends of one model (and of several models) really overlap and never beyond the limits, and a pool too small
// for what was asked caps it with one warning line per cap.
import {expect} from 'chai'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {AlphaSignal, BetaSignal, DeltaSignal, GammaSignal, parallelEntities} from '../fixtures/signals/parallel-entities.js'
import {expectProcessed} from '../helpers/flushing.js'
import {runCli, type CliResult} from '../helpers/run-cli.js'
import {TestDatabase, duplicates, readSentLog} from '../helpers/test-database.js'

const CLI_TIMEOUT_MS = 60_000
const MODELS = [AlphaSignal, BetaSignal, GammaSignal, DeltaSignal]
const rows = (count: number) => Array.from({length: count}, (_, index) => ({payload: `p${index}`}))

for (const dialect of DIALECTS) {
  const overlaps = dialect !== 'sqlite'
  describe(`signalbus flushmany/flush --in-flight and --concurrency on ${dialect}`, function () {
    this.timeout(60_000)
    let db: TestDatabase
    let sentLog: string

    beforeEach(async () => {
      db = await TestDatabase.create(dialect, {entities: parallelEntities, fixture: 'signals/parallel-data-source.js'})
      sentLog = db.newSentLog()
    })

    afterEach(async () => {
      await db.destroy()
    })

    function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
      return runCli(args, {
        env: db.env({SIGNALBUS_TEST_SENT_LOG: sentLog, SIGNALBUS_TEST_SEND_DELAY_MS: '15', ...env}),
        timeoutMs: CLI_TIMEOUT_MS,
      })
    }

    const sent = () => readSentLog(sentLog)
    const most = (field: 'modelSends' | 'allSends') => sent().reduce((top, record) => Math.max(top, record[field]), 0)

    if (overlaps) {
      it('flushmany --in-flight 4 delivers every row once, with more than one and at most 4 sends at once', async () => {
        await db.insert(AlphaSignal, rows(1000))
        expectProcessed(await cli(['flushmany', 'AlphaSignal', '--in-flight', '4']), 1000)
        expect(sent()).to.have.length(1000)
        expect(duplicates(sent().map((record) => record.key))).to.deep.equal([])
        expect(most('modelSends')).to.be.above(1).and.at.most(4)
        expect(await db.count(AlphaSignal)).to.equal(0)
      })

      it('flushmany --concurrency 4 flushes four models at once; flush does too', async () => {
        for (const model of MODELS) await db.insert(model, rows(300))
        const names = MODELS.map((model) => model.name)
        expectProcessed(await cli(['flushmany', ...names, '--concurrency', '4']), 1200)
        expect(most('allSends'), 'sends of different models under way at once').to.be.above(1).and.at.most(4)
        expect(most('modelSends'), 'one burst in flight per model by default').to.equal(1)
        for (const model of MODELS) await db.insert(model, rows(100))
        expectProcessed(await cli(['flush', '--models', names.join(','), '--concurrency', '3', '--in-flight', '2']), 400)
        expect(duplicates(sent().map((record) => `${record.model}/${record.key}`))).to.deep.equal([])
        expect(sent()).to.have.length(1600)
      })

      it('a pool too small for --in-flight and --concurrency caps both, with one warning line each, and delivers everything', async () => {
        for (const model of MODELS) await db.insert(model, rows(200))
        const result = await cli(['flushmany', '--in-flight', '8', '--concurrency', '4'], {SIGNALBUS_TEST_POOL_SIZE: '5'})
        expect(result.stderrLines).to.deep.equal([
          'Warning: In-flight 8 needs 9 connections per model, but the pool has 5 (one kept free): capped to 3.',
          'Warning: Concurrency 4 with 4 connections per model needs 17 connections, but the pool has 5: capped to 1.',
        ])
        expect(result.code).to.equal(0)
        expect(sent()).to.have.length(800)
        expect(most('allSends')).to.be.at.most(3)
      })
    } else {
      it('flushmany --in-flight 4 --concurrency 4 says SQLite sends one burst at a time and delivers every row once', async () => {
        for (const model of MODELS) await db.insert(model, rows(100))
        const result = await cli(['flushmany', '--in-flight', '4', '--concurrency', '4'])
        expect(result.stderrLines).to.deep.equal([
          'Warning: SQLite has a single writer: bursts are sent one at a time (in-flight 4 ignored).',
          'Warning: SQLite has a single writer: models are flushed one at a time (concurrency 4 ignored).',
        ])
        expect(result.code).to.equal(0)
        expect(sent()).to.have.length(400)
        expect(most('allSends')).to.equal(1)
      })
    }
  })
}
