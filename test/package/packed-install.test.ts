// The package as users get it: `npm pack`, installed with `npm install` into three scratch apps shaped like real
// ones (test/fixtures/packed-apps): a CommonJS NestJS app on typeorm 0.3 (tsc build, Jest, .env, `src/...` imports,
// RabbitMQ), an ESM TypeScript app on typeorm 1.x, and a CommonJS JavaScript (Express-style) app on typeorm 0.3
// with the old `mysql` driver on MariaDB; then `npx signalbus …` in each, the way cron would.
// Needs the build (`npm run build`), the npm registry (through one npm cache in the OS temp dir that every run
// shares: the first run on a machine downloads, later ones do not), PostgreSQL, MariaDB and RabbitMQ.
import {expect} from 'chai'
import {randomBytes} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {DataSource} from 'typeorm'
import {connectionOptions} from '../fixtures/signals/data-sources.js'
import {tableRecords} from '../helpers/inspection.js'
import {createApp, packRepository, run, typeormPackageDirectory, type PackedTarball} from '../helpers/packed-install.js'
import {repoRoot} from '../helpers/paths.js'
import {RABBITMQ_URL, TestQueue} from '../helpers/rabbitmq.js'
import type {CliResult} from '../helpers/run-cli.js'

/** Cold installs download ~150 MB (NestJS, Jest, SWC); three run at once. */
const SETUP_TIMEOUT_MS = 10 * 60_000
const NPM_TIMEOUT_MS = 8 * 60_000
const TEST_TIMEOUT_MS = 3 * 60_000
const CLI_TIMEOUT_MS = 90_000
const ROWS = 25
const BURST = 10

const FIXTURES = path.join(repoRoot, 'test', 'fixtures', 'packed-apps')
const ours = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}
/** The apps get the versions this repository is developed with (and so mostly hit the npm cache). */
const versionOf = (name: string): string => `${name}@${ours.dependencies[name] ?? ours.devDependencies[name]}`
/** The newest 0.3 release (what most apps in the wild run) and this repository's 1.x. */
const TYPEORM_03 = '0.3.31'
const TYPEORM_1 = packageVersion(path.join(repoRoot, 'node_modules', 'typeorm'))

type Database = 'postgres' | 'mariadb'

interface AppSpec {
  /** Fixture directory under test/fixtures/packed-apps. */
  name: string
  /** The signal model's entity class name. */
  model: string
  database: Database
  typeorm: string
  /** What the app installs besides signalbus and typeorm (its driver, its tools). */
  packages: string[]
  /** Where its model sends: a JSON-lines log file, or a RabbitMQ queue. */
  delivery: 'log' | 'rabbitmq'
}

const APP_SPECS: AppSpec[] = [
  {
    name: 'nest-commonjs',
    model: 'OrderPlacedSignal',
    database: 'postgres',
    typeorm: TYPEORM_03,
    packages: [
      versionOf('pg'),
      versionOf('reflect-metadata'),
      '@nestjs/common@^11.1.0',
      '@nestjs/core@^11.1.0',
      '@nestjs/typeorm@^11.0.0',
      'rxjs@^7.8.0',
      versionOf('typescript'),
      versionOf('@types/node'),
      versionOf('@swc/core'),
      'jest@^30.0.0',
      '@swc/jest@^0.2.39',
      '@types/jest@^30.0.0',
    ],
    delivery: 'rabbitmq',
  },
  {
    name: 'ts-esm',
    model: 'TsEsmSignal',
    database: 'postgres',
    typeorm: TYPEORM_1,
    // TypeScript but no SWC: signalbus compiles with the app's typescript.
    packages: [versionOf('pg'), versionOf('reflect-metadata'), versionOf('typescript'), versionOf('@types/node')],
    delivery: 'log',
  },
  {
    name: 'express-mysql',
    model: 'OrderSignal',
    database: 'mariadb',
    typeorm: TYPEORM_03,
    packages: ['mysql@^2.18.1', versionOf('reflect-metadata')],
    delivery: 'log',
  },
]

interface App extends AppSpec {
  directory: string
  /** entityPrefix of the app's tables (PACKED_APP_TABLE_PREFIX), unique per app and run. */
  prefix: string
  table: string
}

interface SentRecord {
  entity: string
  id: number
  message: string
  createdAtIsDate: boolean
  /** Batch methods: the size of the burst this signal was sent in. */
  batch?: number
}

describe('the packed package, installed into a NestJS (CommonJS, typeorm 0.3), an ESM (typeorm 1.x) and an Express-style (CommonJS, mysql) app', function () {
  this.timeout(TEST_TIMEOUT_MS)

  let workDirectory: string
  let tarball: PackedTarball
  let queue: TestQueue
  const databases = {} as Record<Database, DataSource>
  const apps: App[] = APP_SPECS.map((spec) => {
    const prefix = `sbp_${randomBytes(4).toString('hex')}_`
    return {...spec, directory: '', prefix, table: `${prefix}packed_signal`}
  })
  const byName = (name: string): App => apps.find((app) => app.name === name)!

  before(async function () {
    this.timeout(SETUP_TIMEOUT_MS)
    workDirectory = await mkdtemp(path.join(tmpdir(), 'signalbus-packed-'))
    tarball = await packRepository(workDirectory, NPM_TIMEOUT_MS)
    queue = await TestQueue.create()
    for (const database of ['postgres', 'mariadb'] as const) {
      databases[database] = await new DataSource(connectionOptions(database, '')).initialize()
    }
    await Promise.all(
      apps.map(async (app) => {
        app.directory = path.join(workDirectory, app.name)
        await createApp(path.join(FIXTURES, app.name), app.directory, [tarball.file, `typeorm@${app.typeorm}`, ...app.packages], NPM_TIMEOUT_MS)
        await createSignalTable(app)
      }),
    )
    await writeNestEnvFile(byName('nest-commonjs'))
  })

  after(async () => {
    for (const app of apps) await databases[app.database]?.query(`DROP TABLE IF EXISTS ${quoted(app)}`)
    for (const database of Object.values(databases)) await database.destroy()
    await queue?.destroy()
    if (workDirectory) await rm(workDirectory, {recursive: true, force: true})
  })

  /** The Nest app keeps its settings in .env, as Nest apps do: signalbus reads it through "signalbus": {"envFile"}. */
  async function writeNestEnvFile(app: App): Promise<void> {
    const settings = {
      DB_TYPE: 'postgres',
      DB_HOST: '127.0.0.1',
      DB_PORT: '5432',
      DB_USERNAME: 'postgres',
      DB_NAME: 'test',
      PACKED_APP_TABLE_PREFIX: app.prefix,
      PACKED_APP_QUEUE: queue.name,
      SIGNALBUS_RABBITMQ_URL: RABBITMQ_URL,
    }
    await writeFile(path.join(app.directory, '.env'), Object.entries(settings).map(([name, value]) => `${name}=${value}\n`).join(''))
  }

  const quoted = (app: App): string => databases[app.database].driver.escape(app.table)

  /** The table the app's entity maps (as its migration would create it; signalbus never alters a schema). */
  async function createSignalTable(app: App): Promise<void> {
    const columns =
      app.database === 'postgres'
        ? `"id" SERIAL PRIMARY KEY, "message" varchar NOT NULL, "createdAt" timestamp NOT NULL DEFAULT now()`
        : '`id` int AUTO_INCREMENT PRIMARY KEY, `message` varchar(255) NOT NULL, `createdAt` timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)'
    await databases[app.database].query(`CREATE TABLE ${quoted(app)} (${columns})`)
  }

  /** Empties the app's table and inserts `count` rows: ids 1…count, messages "message 1"…. */
  async function refill(app: App, count: number): Promise<void> {
    const database = databases[app.database]
    await database.query(`TRUNCATE ${quoted(app)}${app.database === 'postgres' ? ' RESTART IDENTITY' : ''}`)
    const values = Array.from({length: count}, (_, index) => `('message ${index + 1}')`).join(', ')
    if (count > 0) await database.query(`INSERT INTO ${quoted(app)} (${database.driver.escape('message')}) VALUES ${values}`)
  }

  async function pendingRows(app: App): Promise<number> {
    const rows = (await databases[app.database].query(`SELECT COUNT(*) AS count FROM ${quoted(app)}`)) as Array<{count: string}>
    return Number(rows[0]!.count)
  }

  /** `npx signalbus …` in the app; the Nest app gets its settings from .env only, the others from the environment. */
  function signalbus(app: App, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    const appEnv: Record<string, string> =
      app.name === 'nest-commonjs' ? {} : {PACKED_APP_TABLE_PREFIX: app.prefix, PACKED_APP_SENT_LOG: path.join(workDirectory, `${app.name}-unused.jsonl`)}
    return run('npx', ['signalbus', ...args], {cwd: app.directory, env: {...appEnv, ...env}, timeoutMs: CLI_TIMEOUT_MS})
  }

  const inApp = (app: App, command: string, args: string[]): Promise<CliResult> =>
    run(command, args, {cwd: app.directory, timeoutMs: CLI_TIMEOUT_MS})

  it('npm pack ships dist/ (ESM and CommonJS JavaScript and .d.ts), bin/run.js, oclif.manifest.json, README.md and package.json, nothing else', () => {
    const shipped = (file: string): boolean =>
      ['package.json', 'README.md', 'LICENSE', 'bin/run.js', 'oclif.manifest.json', 'dist/cjs/package.json'].includes(file) ||
      /^dist\/.+\.(js|d\.ts)$/.test(file)
    expect(tarball.files.filter((file) => !shipped(file)), 'unexpected files (sources, tests, source maps …)').to.deep.equal([])
    expect(tarball.files).to.include.members([
      'package.json',
      'README.md',
      'oclif.manifest.json',
      'bin/run.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cjs/package.json',
      'dist/cjs/index.js',
      'dist/cjs/index.d.ts',
      'dist/commands/flushmany.js',
      'dist/commands/signals.js',
    ])
    expect(tarball.files.filter((file) => file.startsWith('dist/cjs/cli/') || file.startsWith('dist/cjs/commands/')), 'the CLI is ESM only').to.deep.equal([])
  })

  it('every app, on typeorm 0.3 or 1.x, has one typeorm copy, shared with signalbus, and no driver it did not ask for', () => {
    for (const app of apps) {
      const signalbusDirectory = path.join(app.directory, 'node_modules', 'signalbus')
      expect(existsSync(path.join(signalbusDirectory, 'node_modules', 'typeorm')), `${app.name}: a second typeorm under signalbus`).to.equal(false)
      const appCopy = typeormPackageDirectory(app.directory)
      expect(typeormPackageDirectory(path.join(signalbusDirectory, 'dist')), app.name).to.equal(appCopy)
      expect(typeormPackageDirectory(path.join(signalbusDirectory, 'dist', 'cjs')), app.name).to.equal(appCopy)
      expect(packageVersion(appCopy), app.name).to.equal(app.typeorm)
      const unwanted = app.database === 'postgres' ? ['mysql2', 'mysql'] : ['pg', 'mysql2']
      for (const driver of unwanted) expect(existsSync(path.join(app.directory, 'node_modules', driver)), `${app.name}: ${driver}`).to.equal(false)
    }
  })

  it('signals --strict -m <Model> exits 0 and lists the model with its table, burst count, pending count and age', async () => {
    await inEvery(apps, async (app) => {
      await refill(app, ROWS)
      const result = await signalbus(app, ['signals', '--strict', '-m', app.model])
      expect(result.code, explain(result)).to.equal(0)
      expect(result.stderrLines, 'stderr').to.deep.equal([])
      const records = tableRecords(result.stdout)
      expect(records.map(({OLDEST: _oldest, ...rest}) => rest)).to.deep.equal([
        {NAME: app.model, TABLE: app.table, BURST: String(BURST), ORDERING: '-', PENDING: String(ROWS), DEAD: '-'},
      ])
      expect(records[0]!.OLDEST, 'the age of the oldest row, from the @CreateDateColumn').to.match(/^\d+s$/)
    })
  })

  it('flushmany sends every pending row once as an entity instance, in bursts of signalbusBurstCount, and deletes them', async () => {
    await inEvery(apps, async (app) => {
      await refill(app, ROWS)
      const sentLog = path.join(workDirectory, `${app.name}-sent-${randomBytes(4).toString('hex')}.jsonl`)
      const result = await signalbus(app, ['flushmany'], app.delivery === 'log' ? {PACKED_APP_SENT_LOG: sentLog} : {})
      expect(result.code, explain(result)).to.equal(0)
      expect(result.stderrLines, 'stderr').to.deep.equal([])
      expect(result.stdout.trim()).to.equal(`${ROWS} signals have been successfully processed.`)
      const sent = app.delivery === 'log' ? await readSentLog(sentLog) : await readQueue()
      expect(sent.map((record) => record.id).sort((a, b) => a - b)).to.deep.equal(Array.from({length: ROWS}, (_, index) => index + 1))
      for (const {batch: _batch, ...record} of sent) {
        expect(record).to.deep.equal({entity: app.model, id: record.id, message: `message ${record.id}`, createdAtIsDate: true})
      }
      const bursts = sent.map((record) => record.batch).filter((size) => size !== undefined)
      if (bursts.length > 0) {
        expect(bursts.filter((size) => size === BURST), 'signals sent in full bursts').to.have.length(2 * BURST)
        expect(bursts.filter((size) => size === ROWS - 2 * BURST), 'signals sent in the last burst').to.have.length(ROWS - 2 * BURST)
      }
      expect(await pendingRows(app), 'rows left').to.equal(0)
    })
  })

  /** What reached the Nest app's RabbitMQ queue: persistent JSON messages whose message id is the primary key. */
  async function readQueue(): Promise<SentRecord[]> {
    const messages = await queue.drainMessages()
    for (const message of messages) expect(message.messageId).to.equal(String((message.body as SentRecord).id))
    return messages.map((message) => message.body as SentRecord)
  }

  it('CI smoke check: signals --strict -m Nope exits 2 with one line naming the unknown model', async () => {
    await inEvery(apps, async (app) => {
      const result = await signalbus(app, ['signals', '--strict', '-m', `${app.model},Nope`])
      expect(result.code, explain(result)).to.equal(2)
      expect(result.stderrLines).to.deep.equal(['Error: A signal with name "Nope" does not exist.'])
      expect(result.stdout).to.equal('')
    })
  })

  it('CI smoke check: signals --strict exits 2 with one line when a signal table is missing (the environment wins over .env)', async () => {
    await inEvery(apps, async (app) => {
      const missingTable = `${app.prefix}missing_packed_signal`
      const result = await signalbus(app, ['signals', '--strict', '-m', app.model], {PACKED_APP_TABLE_PREFIX: `${app.prefix}missing_`})
      expect(result.code, explain(result)).to.equal(2)
      expect(result.stderrLines).to.deep.equal([`Error: Signal table "${missingTable}" (${app.model}) does not exist in the database.`])
      expect(result.stdout).to.equal('')
    })
  })

  it('CI smoke check: signals --strict exits 2 with one line when the data source file does not exist', async () => {
    await inEvery(apps, async (app) => {
      const result = await signalbus(app, ['signals', '--strict', '-m', app.model, '-d', 'no-such-dir/data-source.js'])
      expect(result.code, explain(result)).to.equal(2)
      const missingFile = path.join(app.directory, 'no-such-dir', 'data-source.js')
      expect(result.stderrLines).to.deep.equal([`Error: Data source file "${missingFile}" does not exist.`])
      expect(result.stdout).to.equal('')
    })
  })

  describe('the NestJS app (CommonJS, typeorm 0.3, @nestjs/typeorm)', () => {
    it('builds with tsc: executeAtomic(this.dataSource, …) type-checks without casts (module commonjs)', async () => {
      const app = byName('nest-commonjs')
      const build = await inApp(app, 'npm', ['run', '--silent', 'build'])
      expect(build.code, explain(build)).to.equal(0)
      expect(existsSync(path.join(app.directory, 'dist', 'orders', 'orders.service.js'))).to.equal(true)
    })

    it('type-checks with module node16 too (the "require" condition types)', async () => {
      const typecheck = await inApp(byName('nest-commonjs'), 'npx', ['tsc', '-p', 'tsconfig.node16.json'])
      expect(typecheck.code, explain(typecheck)).to.equal(0)
    })

    it("passes its Jest test (default CommonJS runtime, no transformIgnorePatterns) that imports a signal entity and records a signal", async () => {
      const app = byName('nest-commonjs')
      await refill(app, 0)
      const jest = await inApp(app, 'npx', ['jest', '--ci'])
      expect(jest.code, explain(jest)).to.equal(0)
      expect(jest.stderr).to.match(/Tests:\s+3 passed, 3 total/)
      expect(await pendingRows(app), 'the signal the Jest test recorded').to.equal(1)
    })

    it('a data source that fails for want of its settings names the env file that was loaded, in one line (exit 2)', async () => {
      const app = byName('nest-commonjs')
      await writeFile(path.join(app.directory, 'empty.env'), '# nothing here\n')
      const empty = await signalbus(app, ['signals', '--env-file', 'empty.env'])
      expect(empty.code, explain(empty)).to.equal(2)
      expect(empty.stderrLines).to.have.length(1)
      expect(empty.stderrLines[0]).to.match(/Wrong driver: "undefined" given.* \(environment file loaded: empty\.env\)$/)
    })
  })

  describe('the ESM app (typeorm 1.x)', () => {
    it("imports the library in plain Node, and its TypeScript (NodeNext, the \"import\" condition types) type-checks without casts", async () => {
      const app = byName('ts-esm')
      const imported = await inApp(app, 'node', ['--input-type=module', '-e', "const m = await import('signalbus'); console.log(JSON.stringify(Object.keys(m)))"])
      expect(imported.code, explain(imported)).to.equal(0)
      expect(JSON.parse(imported.stdout)).to.include.members(['SignalBus', 'getModelsToFlush', 'executeAtomic', 'RabbitmqPublisher'])
      const typecheck = await inApp(app, 'npx', ['tsc', '--noEmit', '-p', '.'])
      expect(typecheck.code, explain(typecheck)).to.equal(0)
    })
  })

  describe('the Express-style app (CommonJS JavaScript, typeorm 0.3, mysql driver, MariaDB)', () => {
    it("require('signalbus') works in plain Node: executeAtomic records signals that flushmany then sends", async () => {
      const app = byName('express-mysql')
      await refill(app, 0)
      const placed = await run('node', ['place-orders.js', '5'], {cwd: app.directory, env: {PACKED_APP_TABLE_PREFIX: app.prefix}, timeoutMs: CLI_TIMEOUT_MS})
      expect(placed.code, explain(placed)).to.equal(0)
      expect(JSON.parse(placed.stdout)).to.deep.equal({placed: 5})
      const sentLog = path.join(workDirectory, `express-placed-${randomBytes(4).toString('hex')}.jsonl`)
      const result = await signalbus(app, ['flushmany', '--json'], {PACKED_APP_SENT_LOG: sentLog})
      expect(result.code, explain(result)).to.equal(0)
      expect(JSON.parse(result.stdout)).to.include({sent: 5})
      expect((await readSentLog(sentLog)).map((record) => record.message).sort()).to.deep.equal(['message 1', 'message 2', 'message 3', 'message 4', 'message 5'])
    })
  })
})

async function readSentLog(file: string): Promise<SentRecord[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as SentRecord)
}

/** Runs `check` for every app at once; the error names the apps that failed and why. */
async function inEvery(apps: App[], check: (app: App) => Promise<void>): Promise<void> {
  const outcomes = await Promise.allSettled(apps.map(check))
  const failures = outcomes.flatMap((outcome, index) =>
    outcome.status === 'rejected' ? [`${apps[index]!.name}: ${outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason)}`] : [],
  )
  if (failures.length > 0) throw new Error(failures.join('\n\n'))
}

function explain(result: CliResult): string {
  return `exit code (stdout: ${JSON.stringify(result.stdout)}, stderr: ${JSON.stringify(result.stderr)})`
}

function packageVersion(directory: string): string {
  return (JSON.parse(readFileSync(path.join(directory, 'package.json'), 'utf8')) as {version: string}).version
}
