// `signalbus setup`: the SQL it prints per database, and --apply (twice is harmless), through the real binary.
import {expect} from 'chai'
import {signalModelOf} from '../../src/signal-model.js'
import {deadLetterEntities} from '../fixtures/dead-letters/entities.js'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {attemptRows, bookkeepingNames, dropBookkeeping, hasTable} from '../helpers/dead-letters.js'
import {runCli, type CliResult} from '../helpers/run-cli.js'
import {TestDatabase} from '../helpers/test-database.js'

const CLI_TIMEOUT_MS = 30_000

interface SetupJson {
  database: string
  transactional: boolean
  applied: boolean
  parts: Array<{name: string; description: string; statements: string[]}>
}

const EXPECTED = {
  postgres: {database: 'postgres', transactional: true, quote: '"', times: 'TIMESTAMPTZ', rowType: 'TEXT'},
  mariadb: {database: 'mariadb', transactional: false, quote: '`', times: 'DATETIME(6)', rowType: 'LONGTEXT'},
  sqlite: {database: 'better-sqlite3', transactional: true, quote: '"', times: 'TEXT', rowType: 'TEXT'},
}

for (const dialect of DIALECTS) {
  describe(`signalbus setup on ${dialect}`, () => {
    let db: TestDatabase

    beforeEach(async () => {
      db = await TestDatabase.create(dialect, {entities: deadLetterEntities(dialect), fixture: 'dead-letters/cli-data-source.js'})
    })

    afterEach(async () => {
      await dropBookkeeping(db.dataSource)
      await db.destroy()
    })

    const setup = (args: string[]): Promise<CliResult> => runCli(['setup', ...args], {env: db.env(), timeoutMs: CLI_TIMEOUT_MS})
    const names = (): {attempts: string; deadLetters: string} => bookkeepingNames(db.dataSource)
    const tablesExist = async (): Promise<boolean[]> =>
      Promise.all([hasTable(db.dataSource, names().attempts), hasTable(db.dataSource, names().deadLetters)])

    it(`prints CREATE TABLE IF NOT EXISTS for the prefixed attempts and dead-letter tables in ${dialect} SQL, and creates nothing`, async () => {
      const expected = EXPECTED[dialect]
      const result = await setup([])
      expect(result.stderrLines).to.deep.equal([])
      expect(result.code).to.equal(0)
      const q = (name: string): string => `${expected.quote}${name}${expected.quote}`
      expect(result.stdout).to.contain(`CREATE TABLE IF NOT EXISTS ${q(names().attempts)} (`)
      expect(result.stdout).to.contain(`CREATE TABLE IF NOT EXISTS ${q(names().deadLetters)} (`)
      expect(result.stdout).to.contain(`${q('first_failed_at')} ${expected.times} NOT NULL`)
      expect(result.stdout).to.contain(`${q('signal_row')} ${expected.rowType} NOT NULL`)
      expect(result.stdout).to.contain(`PRIMARY KEY (${q('model')}, ${q('signal_key')})`)
      if (dialect === 'mariadb') expect(result.stdout).to.contain('DDL commits implicitly')
      expect(await tablesExist(), 'printing creates nothing').to.deep.equal([false, false])
    })

    it('--json gives the statements per part; run as printed, they create both tables', async () => {
      const result = await setup(['--json'])
      expect(result.code).to.equal(0)
      const parsed = JSON.parse(result.stdout) as SetupJson
      expect(Object.keys(parsed)).to.deep.equal(['database', 'transactional', 'applied', 'parts'])
      expect(parsed).to.include({database: EXPECTED[dialect].database, transactional: EXPECTED[dialect].transactional, applied: false})
      // PostgreSQL also gets the NOTIFY triggers of --listen (3 statements per signal table).
      const listenParts = dialect === 'postgres' ? ['listen-triggers'] : []
      expect(parsed.parts.map((part) => part.name)).to.deep.equal(['dead-letters', ...listenParts])
      expect(parsed.parts[0]!.statements).to.have.length(2)
      for (const statement of parsed.parts[0]!.statements) await db.dataSource.query(statement)
      expect(await tablesExist()).to.deep.equal([true, true])
    })

    it('--apply creates both tables; a second --apply is harmless and keeps their rows', async () => {
      const first = await setup(['--apply'])
      expect(first.stderrLines).to.deep.equal([])
      expect(first.code).to.equal(0)
      const signalTables = db.dataSource.entityMetadatas.filter((metadata) => signalModelOf(metadata)).length
      expect(first.stdout).to.match(
        dialect === 'postgres'
          ? new RegExp(`^Applied ${2 + 3 * signalTables} statement\\(s\\) of dead-letters, listen-triggers `)
          : /^Applied 2 statement\(s\) of dead-letters /,
      )
      expect(first.stdout).to.contain(dialect === 'mariadb' ? 'one by one' : 'in one transaction')
      expect(await tablesExist()).to.deep.equal([true, true])
      const escape = (name: string): string => db.dataSource.driver.escape(name)
      const now = {postgres: 'CURRENT_TIMESTAMP', mariadb: 'UTC_TIMESTAMP(6)', sqlite: "'2026-12-01T00:00:00.000Z'"}[dialect]
      await db.dataSource.query(
        `INSERT INTO ${escape(names().attempts)} VALUES ('RichSignal', '["acme","1"]', 2, ${now}, ${now}, 'boom')`,
      )
      const second = await setup(['--apply', '--json'])
      expect(second.stderrLines).to.deep.equal([])
      expect(second.code).to.equal(0)
      expect((JSON.parse(second.stdout) as SetupJson).applied).to.equal(true)
      expect(await attemptRows(db.dataSource)).to.deep.equal({'["acme","1"]': 2})
    })
  })
}
