// Hostile input through the real binary: broken data source modules, wrong credentials, an unreachable
// database, a broken signal model, colliding names, bad flag values, a missing table and 10,000 names. Each
// run must end with the documented exit code and one line on stderr, and lose nothing: the seeded rows are
// either delivered (the sent log) or still pending. (`flushmany --burst 0|abc`, `--repeat -1` are in
// test/commands/flushmany.test.ts; here the same values go to `flush`.)
import {expect} from 'chai'
import {LedgerSignal, Payment, Refund} from '../fixtures/reliability/entities.js'
import {SCENARIO_ENV, UNREACHABLE_PORT_ENV, WRONG_PASSWORD, entitiesFor, type Scenario} from '../fixtures/reliability/scenarios.js'
import {account, closedPort, pendingKeys, seedRows, summary} from '../helpers/faults.js'
import {expectOneErrorLine, expectProcessed} from '../helpers/flushing.js'
import {runCli, type CliResult} from '../helpers/run-cli.js'
import {TestDatabase, compiledFixture, readSentLog} from '../helpers/test-database.js'

const CLI_TIMEOUT_MS = 60_000
const DATA_SOURCE_FILE = compiledFixture('reliability/cli-data-source.js')

/** One hostile run against tables of its own: seeds ledger rows, runs the CLI, and checks that nothing was lost. */
class HostileRun {
  private constructor(
    readonly db: TestDatabase,
    readonly sentLog: string,
    readonly scenario: Scenario,
  ) {}

  static async create(dialect: 'postgres' | 'mariadb', scenario: Scenario): Promise<HostileRun> {
    const db = await TestDatabase.create(dialect, {entities: entitiesFor(scenario, dialect), fixture: 'reliability/cli-data-source.js'})
    return new HostileRun(db, db.newSentLog(), scenario)
  }

  run(args: string[], extra: Record<string, string> = {}): Promise<CliResult> {
    return runCli(args, {
      env: this.db.env({[SCENARIO_ENV]: this.scenario, SIGNALBUS_TEST_SENT_LOG: this.sentLog, ...extra}),
      timeoutMs: CLI_TIMEOUT_MS,
    })
  }

  delivered(): string[] {
    return readSentLog(this.sentLog).map((record) => record.key)
  }

  /** Nothing lost, nothing delivered twice; logs the one-line summary. */
  async expectNothingLost(keys: string[], result: CliResult, entity: Function = LedgerSignal): Promise<void> {
    const report = account(keys, this.delivered(), await pendingKeys(this.db, entity))
    expect(report.lost, 'lost').to.deep.equal([])
    expect(report.duplicates, 'duplicates').to.deep.equal([])
    const said = result.stderrLines[0] ?? '(nothing on stderr)'
    console.log(summary(report, `exit ${result.code}: ${said.length > 160 ? `${said.slice(0, 160)}…` : said}`))
  }

  async destroy(): Promise<void> {
    await this.db.destroy()
  }
}

describe('hostile input', function () {
  this.timeout(60_000)
  let hostile: HostileRun | undefined

  afterEach(async () => {
    await hostile?.destroy()
    hostile = undefined
  })

  const start = async (scenario: Scenario, dialect: 'postgres' | 'mariadb' = 'postgres'): Promise<HostileRun> =>
    (hostile = await HostileRun.create(dialect, scenario))

  it('a data source module that throws while imported: exit 2, one line naming the file and the error, nothing sent', async () => {
    const run = await start('throws-at-import')
    const keys = await seedRows(run.db, LedgerSignal, 20)
    const result = await run.run(['flushmany'])
    expect(expectOneErrorLine(result, 2)).to.equal(
      `Error: Could not load data source file "${DATA_SOURCE_FILE}": the configuration service is down (no environment file was loaded: pass --env-file PATH if the data source reads one)`,
    )
    expect(run.delivered()).to.deep.equal([])
    await run.expectNothingLost(keys, result)
  })

  it('a data source module that exports connection options instead of a DataSource: exit 2, one line, nothing sent', async () => {
    const run = await start('exports-options')
    const keys = await seedRows(run.db, LedgerSignal, 20)
    const result = await run.run(['flushmany'])
    expect(expectOneErrorLine(result, 2)).to.equal(`Error: Data source file "${DATA_SOURCE_FILE}" exports no TypeORM DataSource.`)
    expect(run.delivered()).to.deep.equal([])
    await run.expectNothingLost(keys, result)
  })

  for (const dialect of ['postgres', 'mariadb'] as const) {
    it(`wrong database credentials on ${dialect}: exit 1 within seconds, one line, the password never printed, rows pending`, async () => {
      const run = await start('wrong-credentials', dialect)
      const keys = await seedRows(run.db, LedgerSignal, 20)
      const result = await run.run(['flushmany'])
      const line = expectOneErrorLine(result, 1)
      expect(line).to.match(dialect === 'mariadb' ? /Access denied for user 'root'/ : /role "signalbus_no_such_role" does not exist/)
      expect(result.stdout + result.stderr).not.to.contain(WRONG_PASSWORD)
      expect(result.milliseconds, 'ms until the exit').to.be.below(10_000)
      await run.expectNothingLost(keys, result)
    })

    it(`the database unreachable on ${dialect}: a one-shot run exits 1 within seconds with one line, rows pending`, async () => {
      const run = await start('database-unreachable', dialect)
      const keys = await seedRows(run.db, LedgerSignal, 20)
      const result = await run.run(['flushmany'], {[UNREACHABLE_PORT_ENV]: String(await closedPort())})
      expect(expectOneErrorLine(result, 1)).to.match(/^Error: Could not initialize the data source: .*ECONNREFUSED/)
      expect(result.milliseconds, 'ms until the exit').to.be.below(10_000)
      await run.expectNothingLost(keys, result)
    })

    it(`a signal table that does not exist on ${dialect}: exit 1 with one line naming it, the other model is flushed; --strict: exit 2, nothing sent`, async () => {
      const run = await start('missing-table', dialect)
      const ghostTable = run.db.dataSource.getMetadata('GhostSignal').tableName
      await run.db.dataSource.query(`DROP TABLE ${run.db.dataSource.driver.escape(ghostTable)}`)
      const keys = await seedRows(run.db, LedgerSignal, 30)

      const strict = await run.run(['flushmany', '--strict'])
      expect(expectOneErrorLine(strict, 2)).to.contain(ghostTable)
      expect(run.delivered(), '--strict sends nothing').to.deep.equal([])
      expect(await run.db.count(LedgerSignal)).to.equal(30)

      const result = await run.run(['flushmany'])
      expect(result.code, 'exit code').to.equal(1)
      expect(result.stderrLines, 'stderr').to.have.length(1)
      expect(result.stderrLines[0]).to.match(/^Error: /).and.to.contain(ghostTable)
      expect(result.stdout).to.equal('30 signals have been successfully processed.\n')
      expect(await run.db.count(LedgerSignal)).to.equal(0)
      await run.expectNothingLost(keys, result)
    })
  }

  it('an entity whose sendSignalbusMessage is not a function: exit 2, one line naming it, nothing sent', async () => {
    const run = await start('broken-model')
    const keys = await seedRows(run.db, LedgerSignal, 20)
    const result = await run.run(['flushmany'])
    expect(expectOneErrorLine(result, 2)).to.equal('Error: Signal model "BrokenSignal" has a sendSignalbusMessage that is not a method.')
    expect(run.delivered()).to.deep.equal([])
    await run.expectNothingLost(keys, result)
  })

  it("a name that is one model's class name and another model's table name flushes the class, and only it", async () => {
    const run = await start('name-collision')
    const payments = await seedRows(run.db, Payment, 5)
    const refunds = await seedRows(run.db, Refund, 4)
    // Refund's table is declared as "Payment" (with the test's prefix in the database).
    expect(run.db.dataSource.getMetadata(Refund).givenTableName).to.equal('Payment')

    const result = await run.run(['flushmany', 'Payment'])
    expectProcessed(result, 5)
    expect(run.delivered()).to.have.members(payments.map((id) => `payment-${id}`))
    expect(await run.db.count(Refund), 'the model whose table is called Payment is left alone').to.equal(4)

    const second = await run.run(['flushmany', 'Refund'])
    expectProcessed(second, 4)
    const keys = [...payments.map((id) => `payment-${id}`), ...refunds.map((id) => `refund-${id}`)]
    const report = account(keys, run.delivered(), [])
    expect(report.lost).to.deep.equal([])
    expect(report.duplicates).to.deep.equal([])
    console.log(summary(report, `exit ${result.code}, then ${second.code}; stderr empty`))
  })

  for (const args of [
    ['--burst', '0'],
    ['--burst', 'abc'],
    ['--burst', '2.5'],
    ['--repeat', '-1'],
    ['--repeat', '0'],
    ['--repeat', 'abc'],
  ]) {
    it(`flush rejects \`${args.join(' ')}\` with exit 2 and one line naming the flag, nothing sent`, async () => {
      const run = await start('ledger')
      const keys = await seedRows(run.db, LedgerSignal, 10)
      const result = await run.run(['flush', '-m', 'LedgerSignal', ...args])
      expect(expectOneErrorLine(result, 2)).to.contain(args[0]!)
      expect(run.delivered()).to.deep.equal([])
      await run.expectNothingLost(keys, result)
    })
  }

  it('10,000 names on the command line: one warning line for the 9,999 unknown ones, the known model flushed once; --strict: exit 2, nothing sent', async () => {
    const run = await start('ledger')
    const keys = await seedRows(run.db, LedgerSignal, 50)
    const unknown = Array.from({length: 9999}, (_, index) => `no_such_signal_${index}`)

    const strict = await run.run(['flushmany', '--strict', 'LedgerSignal', ...unknown])
    expect(expectOneErrorLine(strict, 2)).to.match(/^Error: Signals with names "no_such_signal_0", .* and 9994 more do not exist\.$/)
    expect(run.delivered(), '--strict sends nothing').to.deep.equal([])

    const result = await run.run(['flushmany', 'LedgerSignal', ...unknown, 'LedgerSignal'])
    expect(result.stderrLines, 'stderr').to.have.length(1)
    expect(result.stderrLines[0]).to.match(/^Warning: Signals with names "no_such_signal_0", .* and 9994 more do not exist\.$/)
    expect(result.stdout).to.equal('50 signals have been successfully processed.\n')
    expect(result.code, 'exit code').to.equal(0)
    await run.expectNothingLost(keys, result)
    expect(run.delivered()).to.have.length(50)
  })
})
