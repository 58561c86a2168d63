// TypeORM 0.3 and 1.x: which major this test tree really runs on (test-dist/ → 1.x, test-dist-typeorm-0.3/ → 0.3),
// in this process and in the CLI children; what the compatibility module answers on it; and the version check.
import {expect} from 'chai'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {basename, join} from 'node:path'
import {DataSource} from 'typeorm'
import {SignalBus, SignalbusConfigError} from '../src/index.js'
import {
  SUPPORTED_TYPEORM_RANGE,
  dataSourceOf,
  isSupportedTypeormVersion,
  supportedIsolationLevels,
  typeormPackageFrom,
} from '../src/typeorm-compat.js'
import {MYSQL_CONNECTOR_ENV, connectionOptions} from './fixtures/signals/data-sources.js'
import {testTreeRoot} from './helpers/paths.js'
import {runCli} from './helpers/run-cli.js'
import {TestDatabase} from './helpers/test-database.js'

const onTypeorm03 = basename(testTreeRoot) === 'test-dist-typeorm-0.3'
const major = onTypeorm03 ? '0.3' : '1.x'
const fixturesTypeorm = typeormPackageFrom(join(testTreeRoot, 'test', 'fixtures'))

describe(`this test tree runs on typeorm ${major}`, () => {
  it(`its fixtures import typeorm ${major}`, () => {
    expect(fixturesTypeorm?.version).to.match(onTypeorm03 ? /^0\.3\.\d+$/ : /^1\.\d+\.\d+$/)
  })

  it(`the DataSource class the tests use behaves as ${major}: a query runner names its DataSource as ${onTypeorm03 ? '.connection' : '.dataSource'}`, async () => {
    const dataSource = await new DataSource({type: 'better-sqlite3', database: ':memory:'}).initialize()
    const runner = dataSource.createQueryRunner()
    try {
      const named = runner as unknown as {dataSource?: DataSource; connection?: DataSource}
      expect(named.dataSource === dataSource).to.equal(!onTypeorm03)
      expect(named.connection).to.equal(dataSource)
      expect(dataSourceOf(runner)).to.equal(dataSource)
      expect(dataSourceOf(runner.manager)).to.equal(dataSource)
      expect('supportedIsolationLevels' in dataSource.driver).to.equal(!onTypeorm03)
    } finally {
      await runner.release()
      await dataSource.destroy()
    }
  })

  it(`the CLI child loads the fixture's typeorm ${major} (--verbose names it)`, async () => {
    const db = await TestDatabase.create('sqlite')
    try {
      const result = await runCli(['pending', '--verbose'], {env: db.env()})
      expect(result.code, result.stderr).to.equal(0)
      expect(result.stderr).to.contain(`(typeorm ${fixturesTypeorm?.version} from `)
    } finally {
      await db.destroy()
    }
  })

  const expectedConnector = onTypeorm03 ? (process.env[MYSQL_CONNECTOR_ENV] ?? 'mysql') : 'mysql2'
  it(`MariaDB goes through the ${expectedConnector} package`, async () => {
    const db = await TestDatabase.create('mariadb')
    try {
      const loaded = (db.dataSource.driver as unknown as {mysql: unknown}).mysql
      expect(loaded).to.equal(createRequire(import.meta.url)(expectedConnector))
    } finally {
      await db.destroy()
    }
  })
})

describe(`the compatibility module on typeorm ${major}`, () => {
  it('knows the isolation levels of each database, so executeAtomic can choose REPEATABLE READ', () => {
    const levelsOf = (dialect: 'postgres' | 'mariadb' | 'sqlite'): readonly string[] =>
      supportedIsolationLevels(new DataSource(connectionOptions(dialect, ':memory:')))
    const all = ['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE']
    expect(levelsOf('postgres')).to.deep.equal(all)
    expect(levelsOf('mariadb')).to.deep.equal(all)
    expect(levelsOf('sqlite')).to.deep.equal(['READ UNCOMMITTED', 'SERIALIZABLE'])
  })

  it(`accepts typeorm ${SUPPORTED_TYPEORM_RANGE} and nothing else`, () => {
    const supported = ['0.3.20', '0.3.28', '0.3.31', '1.0.0', '1.1.1', '1.7.0-beta.1']
    const unsupported = ['0.3.19', '0.3.20-dev.1', '0.2.45', '0.4.0', '1.0.0-dev.0b8fde6', '2.0.0', 'latest', '']
    expect(supported.filter((version) => !isSupportedTypeormVersion(version))).to.deep.equal([])
    expect(unsupported.filter((version) => isSupportedTypeormVersion(version))).to.deep.equal([])
  })

  it('SignalBus refuses, as a configuration error, an object that is not a TypeORM DataSource (a 0.2 Connection)', () => {
    const connection = {isInitialized: true, entityMetadatas: [], createQueryRunner: () => undefined}
    expect(() => new SignalBus(connection as unknown as DataSource))
      .to.throw(SignalbusConfigError, `SignalBus needs a TypeORM DataSource (typeorm ${SUPPORTED_TYPEORM_RANGE}).`)
  })
})

describe('signalbus in an app on an unsupported typeorm', () => {
  let app: string

  beforeEach(() => {
    app = mkdtempSync(join(tmpdir(), 'signalbus-typeorm-02-'))
    mkdirSync(join(app, 'node_modules', 'typeorm'), {recursive: true})
    writeFileSync(join(app, 'node_modules', 'typeorm', 'package.json'), JSON.stringify({name: 'typeorm', version: '0.2.45'}))
    writeFileSync(join(app, 'package.json'), JSON.stringify({name: 'old-app', type: 'module'}))
    writeFileSync(join(app, 'data-source.js'), "throw new Error('signalbus must refuse before importing the data source')\n")
  })

  afterEach(() => {
    rmSync(app, {recursive: true, force: true})
  })

  it('exits 2 at start-up with one line naming the version, the typeorm it found and the supported range', async () => {
    const result = await runCli(['flushmany'], {cwd: app, env: {SIGNALBUS_DATA_SOURCE: join(app, 'data-source.js')}})
    expect(result.code).to.equal(2)
    expect(result.stdout).to.equal('')
    expect(result.stderrLines).to.have.length(1)
    expect(result.stderrLines[0]).to.contain('typeorm 0.2.45').and.to.contain(join(app, 'node_modules', 'typeorm'))
    expect(result.stderrLines[0]).to.contain(`typeorm ${SUPPORTED_TYPEORM_RANGE}`)
  })
})
