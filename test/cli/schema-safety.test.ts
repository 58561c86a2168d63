// The CLI never alters a user's schema, even when the data source file asks for synchronize, dropSchema and
// migrationsRun. Each test works in a PostgreSQL schema or MariaDB database of its own, so that a regression
// could only drop that one.
import {expect} from 'chai'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {Customer, Signal, entities} from '../fixtures/signals/entities.js'
import {IsolatedDatabase} from '../helpers/inspection.js'
import {runCli, type CliResult} from '../helpers/run-cli.js'
import {compiledFixture} from '../helpers/test-database.js'

const UNSAFE_DATA_SOURCE = compiledFixture('models/unsafe-data-source.js')
/** A column the entity does not declare: synchronize would drop it. */
const EXTRA_COLUMN = 'kept_by_user'

for (const dialect of DIALECTS) {
  describe(`schema safety on ${dialect}`, () => {
    let db: IsolatedDatabase
    let tablesBefore: string[]
    let signalTable: string

    beforeEach(async () => {
      db = await IsolatedDatabase.create(dialect, entities, {prefix: 'app_'})
      signalTable = db.dataSource.getMetadata(Signal).tableName
      const table = db.dataSource.getMetadata(Signal).tablePath.split('.').map((part) => db.dataSource.driver.escape(part)).join('.')
      await db.dataSource.query(`ALTER TABLE ${table} ADD COLUMN ${db.dataSource.driver.escape(EXTRA_COLUMN)} INTEGER NULL`)
      await db.dataSource.getRepository(Signal).insert([1, 2, 3].map((index) => ({payload: `p${index}`, tags: ['a']})))
      await db.dataSource.getRepository(Customer).insert([{name: 'Ada'}, {name: 'Grace'}])
      tablesBefore = await db.tableNames()
    })

    afterEach(async () => {
      await db.destroy()
    })

    const run = (args: string[]): Promise<CliResult> => runCli(args, {env: db.env(UNSAFE_DATA_SOURCE), timeoutMs: 30_000})

    async function expectSchemaUnchanged(): Promise<void> {
      const tables = await db.tableNames()
      expect(tables, 'the entity without a table was not created').not.to.include('app_never_created')
      expect(tables).to.deep.equal(tablesBefore)
      expect(await db.columnNames(signalTable), 'a column the entity does not declare survives').to.include(EXTRA_COLUMN)
      expect(await db.dataSource.getRepository(Customer).count(), 'rows of plain entities survive').to.equal(2)
    }

    for (const command of ['signals', 'pending']) {
      it(`${command} with a synchronize + dropSchema data source leaves tables, columns and rows as they were`, async () => {
        const result = await run([command, '--json'])
        expect(result.stderrLines).to.deep.equal([])
        expect(result.code).to.equal(0)
        const output = JSON.parse(result.stdout) as {pending?: Record<string, number>; signals?: Array<{name: string; pending: number}>}
        const signalPending = output.pending?.['Signal'] ?? output.signals?.find((entry) => entry.name === 'Signal')?.pending
        expect(signalPending, 'the command read the pending rows').to.equal(3)
        await expectSchemaUnchanged()
        expect(await db.dataSource.getRepository(Signal).count(), 'signal rows survive').to.equal(3)
      })
    }

    it('flushmany with a synchronize + dropSchema data source sends the signals and alters nothing else', async () => {
      const result = await run(['flushmany', '--json'])
      expect(result.stderrLines).to.deep.equal([])
      expect(result.code).to.equal(0)
      const report = JSON.parse(result.stdout) as {sent: number; models: Record<string, number>; failed: unknown[]}
      expect(report.sent).to.equal(3)
      expect(report.models).to.deep.equal({Signal: 3, CompositeSignal: 0, BatchSignal: 0})
      expect(report.failed).to.deep.equal([])
      expect(await db.dataSource.getRepository(Signal).count(), 'the sent signals are deleted').to.equal(0)
      await expectSchemaUnchanged()
    })
  })
}
