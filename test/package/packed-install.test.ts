// The package as users get it: `npm pack`, installed with `npm install` into three scratch TypeORM apps
// (test/fixtures/packed-apps: TypeScript CommonJS, TypeScript ESM, plain JavaScript ESM) next to their own
// typeorm, pg and reflect-metadata, then `npx signalbus …` run in each against PostgreSQL, the way cron would.
// Needs the build (`npm run build`: dist/ and oclif.manifest.json) and the npm registry, reached through one npm
// cache in the OS temp dir that every run shares (the first run on a machine downloads, later ones do not).
import {expect} from 'chai'
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {DataSource} from 'typeorm'
import {connectionOptions} from '../fixtures/signals/data-sources.js'
import {tableRecords} from '../helpers/inspection.js'
import {createApp, packRepository, run, typeormPackageDirectory, type PackedTarball} from '../helpers/packed-install.js'
import {repoRoot} from '../helpers/paths.js'
import type {CliResult} from '../helpers/run-cli.js'

/** Cold installs download ~60 MB; three run at once. */
const SETUP_TIMEOUT_MS = 8 * 60_000
const NPM_TIMEOUT_MS = 6 * 60_000
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
const TYPEORM_MAJOR = /\d+/.exec(ours.dependencies['typeorm']!)![0]
/** Older than signalbus's typeorm range, so that npm must install signalbus a typeorm copy of its own. */
const TYPEORM_BELOW_OUR_RANGE = '1.1.0'

interface AppSpec {
  /** Fixture directory under test/fixtures/packed-apps. */
  name: string
  /** The signal model's entity class name. */
  model: string
  typeorm: string
  typescript: boolean
}

const APP_SPECS: AppSpec[] = [
  {name: 'ts-commonjs', model: 'TsCommonjsSignal', typeorm: TYPEORM_BELOW_OUR_RANGE, typescript: true},
  {name: 'ts-esm', model: 'TsEsmSignal', typeorm: TYPEORM_MAJOR, typescript: true},
  {name: 'js-esm', model: 'JsEsmSignal', typeorm: TYPEORM_MAJOR, typescript: false},
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
  /** The JavaScript app's batch method: the size of the burst this signal was sent in. */
  batch?: number
}

/** A TypeScript file that uses signalbus's published types; generated, as the repository's own build cannot resolve 'signalbus'. */
const USES_SIGNALBUS_TYPES = `import {SignalBus, getModelsToFlush, type SignalModelClass} from 'signalbus'
import type {DataSource} from 'typeorm'
import {TsEsmSignal} from './entity.js'

export const model: SignalModelClass<TsEsmSignal> = TsEsmSignal

export async function flushTsEsmSignals(dataSource: DataSource): Promise<number> {
  const signalbus = new SignalBus(dataSource)
  return signalbus.flushmany(getModelsToFlush(signalbus, ['TsEsmSignal']))
}
`

describe('the packed package, installed into TypeScript CommonJS, TypeScript ESM and JavaScript ESM TypeORM apps', function () {
  this.timeout(TEST_TIMEOUT_MS)

  let workDirectory: string
  let tarball: PackedTarball
  let database: DataSource
  const apps: App[] = APP_SPECS.map((spec) => {
    const prefix = `sbp_${randomBytes(4).toString('hex')}_`
    return {...spec, directory: '', prefix, table: `${prefix}packed_signal`}
  })
  const byName = (name: string): App => apps.find((app) => app.name === name)!

  before(async function () {
    this.timeout(SETUP_TIMEOUT_MS)
    workDirectory = await mkdtemp(path.join(tmpdir(), 'signalbus-packed-'))
    tarball = await packRepository(workDirectory, NPM_TIMEOUT_MS)
    database = await new DataSource(connectionOptions('postgres', '')).initialize()
    await Promise.all(
      apps.map(async (app) => {
        app.directory = path.join(workDirectory, app.name)
        await createApp(path.join(FIXTURES, app.name), app.directory, packagesFor(app), NPM_TIMEOUT_MS)
        await createSignalTable(app)
      }),
    )
  })

  after(async () => {
    if (database?.isInitialized) {
      for (const app of apps) await database.query(`DROP TABLE IF EXISTS ${quoted(app.table)}`)
      await database.destroy()
    }
    if (workDirectory) await rm(workDirectory, {recursive: true, force: true})
  })

  function packagesFor(app: App): string[] {
    const packages = [tarball.file, `typeorm@${app.typeorm}`, versionOf('pg'), versionOf('reflect-metadata')]
    // ts-node works with TypeScript 5.x only (6 and 7 break it), which is what this repository pins.
    if (app.typescript) packages.push(versionOf('typescript'), versionOf('ts-node'), versionOf('@types/node'))
    return packages
  }

  const quoted = (table: string): string => database.driver.escape(table)

  /** The table the app's entity maps (as its migration would create it; signalbus never alters a schema). */
  async function createSignalTable(app: App): Promise<void> {
    await database.query(
      `CREATE TABLE ${quoted(app.table)} (` +
        `"id" SERIAL PRIMARY KEY, "message" varchar NOT NULL, "createdAt" timestamp NOT NULL DEFAULT now())`,
    )
  }

  /** Empties the app's table and inserts `count` rows: ids 1…count, messages "message 1"…. */
  async function refill(app: App, count: number): Promise<void> {
    await database.query(`TRUNCATE ${quoted(app.table)} RESTART IDENTITY`)
    await database.query(`INSERT INTO ${quoted(app.table)} ("message") SELECT 'message ' || n FROM generate_series(1, $1) n`, [count])
  }

  async function pendingRows(app: App): Promise<number> {
    const rows = (await database.query(`SELECT COUNT(*) AS count FROM ${quoted(app.table)}`)) as Array<{count: string}>
    return Number(rows[0]!.count)
  }

  function signalbus(app: App, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    return run('npx', ['signalbus', ...args], {
      cwd: app.directory,
      env: {PACKED_APP_TABLE_PREFIX: app.prefix, PACKED_APP_SENT_LOG: path.join(workDirectory, `${app.name}-unused.jsonl`), ...env},
      timeoutMs: CLI_TIMEOUT_MS,
    })
  }

  it('npm pack ships dist/ (JavaScript and .d.ts), bin/run.js, oclif.manifest.json, README.md and package.json, nothing else', () => {
    const shipped = (file: string): boolean =>
      ['package.json', 'README.md', 'LICENSE', 'bin/run.js', 'oclif.manifest.json'].includes(file) || /^dist\/.+\.(js|d\.ts)$/.test(file)
    expect(tarball.files.filter((file) => !shipped(file)), 'unexpected files (sources, tests, source maps …)').to.deep.equal([])
    expect(tarball.files).to.include.members([
      'package.json',
      'README.md',
      'oclif.manifest.json',
      'bin/run.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/commands/flushmany.js',
      'dist/commands/signals.js',
    ])
  })

  it('signals --strict -m <Model> exits 0 and lists the model with its table, burst count, pending count and age', async () => {
    await inEvery(apps, async (app) => {
      await refill(app, ROWS)
      const result = await signalbus(app, ['signals', '--strict', '-m', app.model])
      expect(result.code, explain(result)).to.equal(0)
      expect(result.stderrLines, 'stderr').to.deep.equal([])
      const records = tableRecords(result.stdout)
      expect(records.map(({OLDEST: _oldest, ...rest}) => rest)).to.deep.equal([
        {NAME: app.model, TABLE: app.table, BURST: String(BURST), PENDING: String(ROWS), DEAD: '-'},
      ])
      expect(records[0]!.OLDEST, 'the age of the oldest row, from the @CreateDateColumn').to.match(/^\d+s$/)
    })
  })

  it('flushmany sends every pending row once as an entity instance, in bursts of signalbusBurstCount, and deletes them', async () => {
    await inEvery(apps, async (app) => {
      await refill(app, ROWS)
      const sentLog = path.join(workDirectory, `${app.name}-sent-${randomBytes(4).toString('hex')}.jsonl`)
      const result = await signalbus(app, ['flushmany'], {PACKED_APP_SENT_LOG: sentLog})
      expect(result.code, explain(result)).to.equal(0)
      expect(result.stderrLines, 'stderr').to.deep.equal([])
      expect(result.stdout.trim()).to.equal(`${ROWS} signals have been successfully processed.`)
      const sent = (await readFile(sentLog, 'utf8'))
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as SentRecord)
      expect(sent.map((record) => record.id).sort((a, b) => a - b)).to.deep.equal(Array.from({length: ROWS}, (_, index) => index + 1))
      for (const {batch: _batch, ...record} of sent) {
        expect(record).to.deep.equal({entity: app.model, id: record.id, message: `message ${record.id}`, createdAtIsDate: true})
      }
      if (app.name === 'js-esm') {
        const bursts = sent.map((record) => record.batch)
        expect(bursts.filter((size) => size === BURST), 'signals sent in full bursts').to.have.length(2 * BURST)
        expect(bursts.filter((size) => size === ROWS - 2 * BURST), 'signals sent in the last burst').to.have.length(ROWS - 2 * BURST)
      }
      expect(await pendingRows(app), 'rows left').to.equal(0)
    })
  })

  it('CI smoke check: signals --strict -m Nope exits 2 with one line naming the unknown model', async () => {
    await inEvery(apps, async (app) => {
      const result = await signalbus(app, ['signals', '--strict', '-m', `${app.model},Nope`])
      expect(result.code, explain(result)).to.equal(2)
      expect(result.stderrLines).to.deep.equal(['Error: A signal with name "Nope" does not exist.'])
      expect(result.stdout).to.equal('')
    })
  })

  it('CI smoke check: signals --strict exits 2 with one line when a signal table is missing from the database', async () => {
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

  it(`an app pinned to typeorm ${TYPEORM_BELOW_OUR_RANGE} gets its own typeorm module instance beside signalbus's, and the CLI accepts its DataSource`, async () => {
    const app = byName('ts-commonjs')
    const appCopy = typeormPackageDirectory(app.directory)
    const signalbusCopy = typeormPackageDirectory(path.join(app.directory, 'node_modules', 'signalbus', 'dist'))
    expect(signalbusCopy, 'two copies: `instanceof DataSource` would fail across them').not.to.equal(appCopy)
    expect(packageVersion(appCopy)).to.equal(TYPEORM_BELOW_OUR_RANGE)
    expect(packageVersion(signalbusCopy)).not.to.equal(TYPEORM_BELOW_OUR_RANGE)
    await refill(app, 3)
    const result = await signalbus(app, ['pending', '--json'])
    expect(result.code, explain(result)).to.equal(0)
    expect(JSON.parse(result.stdout)).to.deep.equal({pending: {[app.model]: 3}, total: 3})
  })

  it(`apps on the latest typeorm ${TYPEORM_MAJOR}.x share one typeorm copy with signalbus (npm dedupes it)`, () => {
    for (const app of apps.filter((candidate) => candidate.typeorm === TYPEORM_MAJOR)) {
      const appCopy = typeormPackageDirectory(app.directory)
      expect(typeormPackageDirectory(path.join(app.directory, 'node_modules', 'signalbus', 'dist')), app.name).to.equal(appCopy)
    }
  })

  it('the library imports from a JavaScript ESM app, and its published types check in a TypeScript ESM app', async () => {
    const jsApp = byName('js-esm')
    const imported = await run(
      'node',
      ['--input-type=module', '-e', "const m = await import('signalbus'); console.log(JSON.stringify(Object.keys(m)))"],
      {cwd: jsApp.directory, timeoutMs: CLI_TIMEOUT_MS},
    )
    expect(imported.code, explain(imported)).to.equal(0)
    expect(JSON.parse(imported.stdout)).to.include.members(['SignalBus', 'getModelsToFlush', 'executeAtomic', 'RabbitmqPublisher'])

    const tsApp = byName('ts-esm')
    await writeFile(path.join(tsApp.directory, 'src', 'uses-signalbus.ts'), USES_SIGNALBUS_TYPES)
    const typecheck = await run('npx', ['tsc', '--noEmit', '-p', '.'], {cwd: tsApp.directory, timeoutMs: CLI_TIMEOUT_MS})
    expect(typecheck.code, explain(typecheck)).to.equal(0)
  })
})

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
