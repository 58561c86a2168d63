// `signalbus signals`: the list of signal models, run through the real binary on every dialect.
import {expect} from 'chai'
import type {EntityTarget, ObjectLiteral} from 'typeorm'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {BatchSignal, CompositeSignal, Signal} from '../fixtures/signals/entities.js'
import {backdateCreatedAt, insertPending, tableRecords} from '../helpers/inspection.js'
import {runCli, type CliResult} from '../helpers/run-cli.js'
import {TestDatabase, compiledFixture} from '../helpers/test-database.js'

interface SignalsJson {
  signals: Array<{name: string; table: string; burstCount: number; orderingKey: string | string[] | null; pending: number; oldestPendingSeconds: number | null; deadLetters: number | null}>
}

const CLI_TIMEOUT_MS = 30_000
/** Slack for the age of a backdated row: process start-up and a clock second or two, never an hour's offset. */
const AGE_MARGIN_SECONDS = 120

for (const dialect of DIALECTS) {
  describe(`signalbus signals on ${dialect}`, () => {
    let db: TestDatabase

    beforeEach(async () => {
      db = await TestDatabase.create(dialect)
    })

    afterEach(async () => {
      await db.destroy()
    })

    const signals = (args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
      runCli(['signals', ...args], {env: db.env(env), timeoutMs: CLI_TIMEOUT_MS})
    const tableOf = (entity: EntityTarget<ObjectLiteral>): string => db.dataSource.getMetadata(entity).tableName
    const parseJson = (result: CliResult): SignalsJson => JSON.parse(result.stdout) as SignalsJson

    it('prints a table of every signal model (not plain entities) with table, burst count, ordering key, pending count and oldest age', async () => {
      await insertPending(db)
      const result = await signals([])
      expect(result.stderrLines).to.deep.equal([])
      expect(result.code).to.equal(0)
      expect(result.stdout.split('\n')[0]!.trim().split(/\s+/)).to.deep.equal(['NAME', 'TABLE', 'BURST', 'ORDERING', 'PENDING', 'DEAD', 'OLDEST'])
      const records = tableRecords(result.stdout)
      expect(records.map(({OLDEST: _oldest, ...rest}) => rest)).to.deep.equal([
        {NAME: 'Signal', TABLE: tableOf(Signal), BURST: '1', ORDERING: '-', PENDING: '3', DEAD: '-'},
        {NAME: 'CompositeSignal', TABLE: tableOf(CompositeSignal), BURST: '7', ORDERING: '-', PENDING: '4', DEAD: '-'},
        {NAME: 'BatchSignal', TABLE: tableOf(BatchSignal), BURST: '50', ORDERING: '-', PENDING: '5', DEAD: '-'},
      ])
      expect(records[0]!.OLDEST, 'Signal has a @CreateDateColumn and fresh rows').to.match(/^\d+s$/)
      expect(parseInt(records[0]!.OLDEST!, 10)).to.be.lessThan(AGE_MARGIN_SECONDS)
      expect(records[1]!.OLDEST, 'no creation date column').to.equal('-')
      expect(records[2]!.OLDEST, 'no creation date column').to.equal('-')
      expect(result.stdout).not.to.contain('Customer')
    })

    it('shows - as OLDEST and null in --json for a model with a creation date but nothing pending', async () => {
      const human = await signals(['-m', 'Signal'])
      expect(human.code).to.equal(0)
      expect(tableRecords(human.stdout)).to.deep.equal([{NAME: 'Signal', TABLE: tableOf(Signal), BURST: '1', ORDERING: '-', PENDING: '0', DEAD: '-', OLDEST: '-'}])
      const json = await signals(['-m', 'Signal', '--json'])
      expect(json.code).to.equal(0)
      expect(parseJson(json).signals[0]!.oldestPendingSeconds).to.equal(null)
    })

    it('--json prints exactly {"signals": [{name, table, burstCount, orderingKey, pending, oldestPendingSeconds, deadLetters}]} (deadLetters null without setup)', async () => {
      await insertPending(db)
      const result = await signals(['--json'])
      expect(result.stderrLines).to.deep.equal([])
      expect(result.code).to.equal(0)
      expect(result.stdout.trim().split('\n'), 'one JSON line').to.have.length(1)
      const parsed = parseJson(result)
      expect(Object.keys(parsed)).to.deep.equal(['signals'])
      for (const entry of parsed.signals) {
        expect(Object.keys(entry)).to.deep.equal(['name', 'table', 'burstCount', 'orderingKey', 'pending', 'oldestPendingSeconds', 'deadLetters'])
      }
      const age = parsed.signals[0]!.oldestPendingSeconds
      expect(age).to.be.a('number').within(0, AGE_MARGIN_SECONDS)
      expect(parsed.signals).to.deep.equal([
        {name: 'Signal', table: tableOf(Signal), burstCount: 1, orderingKey: null, pending: 3, oldestPendingSeconds: age, deadLetters: null},
        {name: 'CompositeSignal', table: tableOf(CompositeSignal), burstCount: 7, orderingKey: null, pending: 4, oldestPendingSeconds: null, deadLetters: null},
        {name: 'BatchSignal', table: tableOf(BatchSignal), burstCount: 50, orderingKey: null, pending: 5, oldestPendingSeconds: null, deadLetters: null},
      ])
    })

    for (const timeZone of ['UTC', 'Asia/Kolkata', 'America/Los_Angeles']) {
      it(`reports an hour-old signal as ~3600 s old when the flusher runs in time zone ${timeZone}`, async () => {
        await db.insertSignals(2)
        await backdateCreatedAt(db.dataSource, dialect, Signal, 3600)
        const result = await signals(['-m', 'Signal', '--json'], {TZ: timeZone})
        expect(result.stderrLines).to.deep.equal([])
        expect(result.code).to.equal(0)
        const age = parseJson(result).signals[0]!.oldestPendingSeconds
        expect(age, `oldestPendingSeconds with TZ=${timeZone}`).to.be.a('number').within(3600, 3600 + AGE_MARGIN_SECONDS)
        const human = await signals(['-m', 'Signal'], {TZ: timeZone})
        expect(tableRecords(human.stdout)[0]!.OLDEST).to.match(/^6[0-2]m$/)
      })
    }

    it('-m Signal lists only that model', async () => {
      await insertPending(db)
      const result = await signals(['-m', 'Signal', '--json'])
      expect(result.code).to.equal(0)
      expect(parseJson(result).signals.map((entry) => [entry.name, entry.pending])).to.deep.equal([['Signal', 3]])
    })

    it('without --strict an unknown name is one warning on stderr and the known models are listed', async () => {
      const result = await signals(['-m', 'Signal,Nope'])
      expect(result.code).to.equal(0)
      expect(result.stderrLines).to.deep.equal(['Warning: A signal with name "Nope" does not exist.'])
      expect(tableRecords(result.stdout).map((record) => record.NAME)).to.deep.equal(['Signal'])
    })

    it('--strict with an unknown name exits 2 with one error line and lists nothing', async () => {
      const result = await signals(['--strict', '-m', 'Signal,Nope'])
      expect(result.code).to.equal(2)
      expect(result.stdout).to.equal('')
      expect(result.stderrLines).to.have.length(1)
      expect(result.stderrLines[0]).to.contain('A signal with name "Nope" does not exist.')
    })

    it('--strict exits 2 with one line naming a signal table missing from the database', async () => {
      const missing = tableOf(CompositeSignal)
      await db.dataSource.query(`DROP TABLE ${db.dataSource.driver.escape(missing)}`)
      const result = await signals(['--strict'])
      expect(result.code).to.equal(2)
      expect(result.stdout).to.equal('')
      expect(result.stderrLines).to.have.length(1)
      expect(result.stderrLines[0]).to.contain(missing)
      expect(result.stderrLines[0]).not.to.contain(tableOf(Signal))
    })

    it('without --strict a missing signal table fails the command with exit 1 and one line naming the table', async () => {
      const missing = tableOf(CompositeSignal)
      await db.dataSource.query(`DROP TABLE ${db.dataSource.driver.escape(missing)}`)
      const result = await signals([])
      expect(result.code).to.equal(1)
      expect(result.stderrLines).to.have.length(1)
      expect(result.stderrLines[0]).to.contain(missing)
    })

    it('--strict passes when every named table exists, even if another signal table is missing', async () => {
      await db.dataSource.query(`DROP TABLE ${db.dataSource.driver.escape(tableOf(CompositeSignal))}`)
      await db.insertSignals(1)
      const result = await signals(['--strict', '-m', 'Signal', '--json'])
      expect(result.stderrLines).to.deep.equal([])
      expect(result.code).to.equal(0)
      expect(parseJson(result).signals.map((entry) => [entry.name, entry.pending])).to.deep.equal([['Signal', 1]])
    })
  })
}

describe('signalbus signals with a broken data source', () => {
  it('exits 2 with one line naming the model when an entity has a sendSignalbusMessage that is not a method', async () => {
    const result = await runCli(['signals'], {
      env: {SIGNALBUS_DATA_SOURCE: compiledFixture('models/malformed-data-source.js')},
      timeoutMs: CLI_TIMEOUT_MS,
    })
    expect(result.code).to.equal(2)
    expect(result.stdout).to.equal('')
    expect(result.stderrLines).to.have.length(1)
    expect(result.stderrLines[0]).to.contain('NotAMethod').and.to.contain('sendSignalbusMessage')
  })

  it('fails with one line naming the database type when the data source is of an unsupported type', async () => {
    const result = await runCli(['signals'], {
      env: {SIGNALBUS_DATA_SOURCE: compiledFixture('models/expo-data-source.js')},
      timeoutMs: CLI_TIMEOUT_MS,
    })
    expect(result.stdout).to.equal('')
    expect(result.stderrLines).to.have.length(1)
    expect(result.stderrLines[0]).to.match(/unsupported database type "expo"/i)
    expect(result.code, 'an unsupported database type is a configuration error (exit 2)').to.equal(2)
  })
})
