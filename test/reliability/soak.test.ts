// Long-running mode under load: four `flushmany --repeat` processes side by side while this process keeps
// inserting signals in small transactions for 20 s. SKIP LOCKED must hand each row to one flusher only (on
// MariaDB this is where careless deletes deadlock): after SIGTERM (every flusher exits 0) and a final one-shot
// drain, every inserted row has been delivered exactly once.
import {expect} from 'chai'
import {LedgerSignal} from '../fixtures/reliability/entities.js'
import {SCENARIO_ENV} from '../fixtures/reliability/scenarios.js'
import {account, summary} from '../helpers/faults.js'
import {delay, pendingPayloads, readSentLogs, sentPayloads} from '../helpers/flushing.js'
import {runCli, startCli} from '../helpers/run-cli.js'
import {TestDatabase, readSentLog} from '../helpers/test-database.js'

const FLUSHERS = 4
const INSERT_SECONDS = 20
const ROWS_PER_TRANSACTION = 10
/** The inserter gives up on a transaction after this many failed attempts (none are expected). */
const INSERT_ATTEMPTS = 5

for (const dialect of ['postgres', 'mariadb'] as const) {
  describe(`soak: ${FLUSHERS} flushers in --repeat mode on ${dialect}`, function () {
    this.timeout(90_000)
    let db: TestDatabase

    beforeEach(async () => {
      db = await TestDatabase.create(dialect, {entities: [LedgerSignal], fixture: 'reliability/cli-data-source.js'})
    })

    afterEach(async () => {
      await db.destroy()
    })

    it(`while signals are inserted for ${INSERT_SECONDS} s, every row is delivered exactly once; all flushers exit 0 on SIGTERM`, async () => {
      const logs = Array.from({length: FLUSHERS}, () => db.newSentLog())
      const flushers = logs.map((log) =>
        startCli(['flushmany', '--repeat', '0.2', '--burst', '50'], {
          env: db.env({[SCENARIO_ENV]: 'ledger', SIGNALBUS_TEST_SENT_LOG: log, SIGNALBUS_TEST_SEND_DELAY_MS: '5'}),
          timeoutMs: (INSERT_SECONDS + 40) * 1000,
        }),
      )
      const exited = flushers.map(() => false)
      flushers.forEach((flusher, index) => void flusher.done.then(() => (exited[index] = true)))

      const inserted: string[] = []
      let transactions = 0
      let insertRetries = 0
      const insertErrors: string[] = []
      const deadline = performance.now() + INSERT_SECONDS * 1000
      try {
        while (performance.now() < deadline && !exited.some(Boolean)) {
          const rows = Array.from({length: ROWS_PER_TRANSACTION}, (_, index) => ({payload: `s${inserted.length + index}`}))
          for (let attempt = 1; ; attempt++) {
            try {
              await db.dataSource.transaction(async (manager) => {
                await manager.createQueryBuilder().insert().into(LedgerSignal).values(rows).updateEntity(false).execute()
              })
              break
            } catch (error) {
              insertErrors.push(String((error as Error).message))
              if (attempt >= INSERT_ATTEMPTS) throw error
              insertRetries++
            }
          }
          inserted.push(...rows.map((row) => row.payload))
          transactions++
          await delay(2)
        }
      } finally {
        for (const flusher of flushers) flusher.child.kill('SIGTERM')
      }
      const results = await Promise.all(flushers.map((flusher) => flusher.done))
      results.forEach((result, index) => {
        expect(result.stderrLines, `stderr of flusher ${index}`).to.deep.equal([])
        expect(result.code, `exit code of flusher ${index}`).to.equal(0)
      })
      const pendingAtStop = (await pendingPayloads(db, LedgerSignal)).length

      const finalLog = db.newSentLog()
      const drain = await runCli(['flushmany'], {
        env: db.env({[SCENARIO_ENV]: 'ledger', SIGNALBUS_TEST_SENT_LOG: finalLog}),
        timeoutMs: 60_000,
      })
      expect(drain.stderrLines, 'stderr of the final drain').to.deep.equal([])
      expect(drain.code, 'exit code of the final drain').to.equal(0)

      const delivered = sentPayloads(readSentLogs([...logs, finalLog]), 'LedgerSignal')
      const report = account(inserted, delivered, await pendingPayloads(db, LedgerSignal))
      expect(report.lost, 'rows never delivered').to.deep.equal([])
      expect(report.duplicates, 'rows delivered twice').to.deep.equal([])
      expect(report.unknown, 'deliveries of rows never inserted').to.deep.equal([])
      expect(delivered, 'deliveries').to.have.length(inserted.length)
      expect(await db.count(LedgerSignal)).to.equal(0)
      expect(insertErrors, 'insert errors').to.deep.equal([])
      const perFlusher = logs.map((log) => readSentLog(log).length)
      console.log(
        summary(
          report,
          `${transactions} insert transactions (${insertRetries} retried); per flusher ${perFlusher.join('/')}, ` +
            `${pendingAtStop} left for the final drain; exit codes ${results.map((result) => result.code).join(',')}`,
        ),
      )
    })
  })
}
