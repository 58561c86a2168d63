// --env-file and "signalbus": {"envFile": …}: environment files loaded before the data source is imported, with
// the real binary. The data source (test/fixtures/data-sources/env) takes its driver, database file and table
// prefix from the environment only, so `signals --json` shows which value won.
import {expect} from 'chai'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {DataSource} from 'typeorm'
import {repoRoot} from '../helpers/paths.js'
import {runCli, type CliResult} from '../helpers/run-cli.js'

const DATA_SOURCE = path.join(repoRoot, 'test', 'fixtures', 'data-sources', 'env', 'data-source.js')

describe('environment files (--env-file, "signalbus": {"envFile"})', function () {
  this.timeout(60_000)
  let project: string
  let database: string

  before(async () => {
    project = await mkdtemp(path.join(tmpdir(), 'signalbus-env-'))
    database = path.join(project, 'signals.sqlite')
    const setup = await new DataSource({type: 'better-sqlite3', database}).initialize()
    for (const prefix of ['base_', 'local_', 'shell_']) {
      await setup.query(`CREATE TABLE "${prefix}js_esm_signal" ("id" integer PRIMARY KEY, "message" varchar NOT NULL)`)
    }
    await setup.destroy()
    await mkdir(path.join(project, 'config'))
    await writeFile(path.join(project, 'config', 'base.env'), `# the app's settings\nENV_FIXTURE_TYPE=better-sqlite3\nENV_FIXTURE_DATABASE="${database}"\nENV_FIXTURE_PREFIX=base_\n`)
    await writeFile(path.join(project, 'config', 'local.env'), 'export ENV_FIXTURE_PREFIX=local_\n')
    await writeFile(path.join(project, 'config', 'no-driver.env'), `ENV_FIXTURE_DATABASE=${database}\n`)
  })

  after(async () => {
    if (project) await rm(project, {recursive: true, force: true})
  })

  const signals = (args: string[], options: {cwd?: string; env?: Record<string, string>} = {}): Promise<CliResult> =>
    runCli(['signals', '--json', ...args], {cwd: options.cwd ?? project, env: options.env ?? {}})

  const tableOf = (result: CliResult): string => {
    expect(result.code, result.stderr + result.stdout).to.equal(0)
    return (JSON.parse(result.stdout) as {signals: Array<{table: string}>}).signals[0]!.table
  }

  it('--env-file PATH (relative to the working directory) sets the variables the data source reads', async () => {
    expect(tableOf(await signals(['-d', DATA_SOURCE, '--env-file', 'config/base.env']))).to.equal('base_js_esm_signal')
  })

  it('--env-file is repeatable and a later file wins over an earlier one', async () => {
    const result = await signals(['-d', DATA_SOURCE, '--env-file', 'config/base.env', '--env-file', 'config/local.env'])
    expect(tableOf(result)).to.equal('local_js_esm_signal')
  })

  it('a variable already set in the environment wins over every file', async () => {
    const result = await signals(['-d', DATA_SOURCE, '--env-file', 'config/base.env', '--env-file', 'config/local.env'], {
      env: {ENV_FIXTURE_PREFIX: 'shell_'},
    })
    expect(tableOf(result)).to.equal('shell_js_esm_signal')
  })

  it('"signalbus": {"envFile": […]} in the nearest package.json is resolved against that file, from a subdirectory too', async () => {
    const app = path.join(project, 'app')
    await mkdir(path.join(app, 'src'), {recursive: true})
    const settings = {dataSource: DATA_SOURCE, envFile: ['../config/base.env', '../config/local.env']}
    await writeFile(path.join(app, 'package.json'), JSON.stringify({name: 'app', signalbus: settings}))
    expect(tableOf(await signals([], {cwd: path.join(app, 'src')}))).to.equal('local_js_esm_signal')
    await writeFile(path.join(app, 'package.json'), JSON.stringify({name: 'app', signalbus: {...settings, envFile: '../config/base.env'}}))
    expect(tableOf(await signals([], {cwd: app})), 'a single path').to.equal('base_js_esm_signal')
  })

  it('a missing env file named in package.json is a configuration error (exit 2) in one line, before the data source is imported', async () => {
    const app = path.join(project, 'missing')
    await mkdir(app, {recursive: true})
    await writeFile(path.join(app, 'package.json'), JSON.stringify({signalbus: {dataSource: DATA_SOURCE, envFile: ['../config/base.env', 'nope.env']}}))
    const result = await runCli(['signals'], {cwd: app})
    expect(result.code).to.equal(2)
    expect(result.stderrLines).to.deep.equal([`Error: Environment file "${path.join(app, 'nope.env')}" does not exist.`])
    expect(result.stdout).to.equal('')
  })

  it('a missing --env-file stops the run with one line naming the file (Node itself exits 9 first: nodejs/node#54232)', async () => {
    const result = await runCli(['signals', '-d', DATA_SOURCE, '--env-file', 'config/nope.env'], {cwd: project})
    expect(result.code).to.be.oneOf([2, 9])
    expect(result.stderrLines).to.have.length(1)
    expect(result.stderrLines[0]).to.include('nope.env').and.to.match(/not found|does not exist/)
    expect(result.stdout).to.equal('')
  })

  it('a data source that fails for want of a variable says, in its one line, that no env file was loaded', async () => {
    const result = await runCli(['signals', '-d', DATA_SOURCE], {cwd: project})
    expect(result.code).to.equal(2)
    expect(result.stderrLines).to.have.length(1)
    expect(result.stderrLines[0]).to.match(/^Error: Could not load data source file ".+": Wrong driver: "undefined" given\./)
    expect(result.stderrLines[0]).to.match(/ \(no environment file was loaded: pass --env-file PATH if the data source reads one\)$/)
  })

  it('a data source that fails for want of a variable names the env files that were loaded', async () => {
    const result = await runCli(['signals', '-d', DATA_SOURCE, '--env-file', 'config/no-driver.env', '--env-file', 'config/local.env'], {cwd: project})
    expect(result.code).to.equal(2)
    expect(result.stderrLines).to.have.length(1)
    expect(result.stderrLines[0]).to.match(/Wrong driver: "undefined" given\..* \(environment files loaded: config\/no-driver\.env, config\/local\.env\)$/)
  })
})
