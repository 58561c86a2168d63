// --log-format json through the real binary: every stderr line of failing runs is one JSON object with level and
// msg (and model, error where known), credentials masked; TypeORM's query log and flag errors included.
import {expect} from 'chai'
import {ServiceSignal} from '../fixtures/service/entities.js'
import {entities} from '../fixtures/signals/entities.js'
import {closedPort} from '../helpers/faults.js'
import {runCli, type CliResult} from '../helpers/run-cli.js'
import {TestDatabase} from '../helpers/test-database.js'

interface JsonLine {
  level: string
  msg: string
  time: string
  model?: string
  error?: string
  stack?: string
}

function jsonLines(result: CliResult): JsonLine[] {
  expect(result.stderrLines.length, 'stderr lines').to.be.greaterThan(0)
  return result.stderrLines.map((line) => {
    let parsed: JsonLine
    try {
      parsed = JSON.parse(line) as JsonLine
    } catch {
      throw new Error(`not JSON: ${line}`)
    }
    expect(parsed.level, line).to.be.oneOf(['debug', 'info', 'warn', 'error'])
    expect(parsed.msg, line).to.be.a('string').and.not.equal('')
    expect(new Date(parsed.time).getTime(), line).to.be.a('number').and.not.NaN
    return parsed
  })
}

describe('--log-format json', function () {
  let db: TestDatabase

  beforeEach(async function () {
    db = await TestDatabase.create('postgres', {entities: [ServiceSignal, ...entities], fixture: 'service/cli-data-source.js'})
    await db.insert(ServiceSignal, [{payload: 'a'}, {payload: 'b'}])
  })

  afterEach(async function () {
    await db.destroy()
  })

  it('writes every diagnostic line of a failing run as JSON, with the model and no password', async function () {
    const url = `amqp://guest:s3cret@127.0.0.1:${await closedPort()}`
    const result = await runCli(['flushmany', 'ServiceSignal', 'NoSuchSignal', '--log-format', 'json'], {
      env: db.env({SIGNALBUS_RABBITMQ_URL: url}),
    })
    expect(result.code).to.equal(1)
    const lines = jsonLines(result)
    expect(lines.map((line) => line.level)).to.deep.equal(['warn', 'error'])
    expect(lines[0]!.msg).to.equal('A signal with name "NoSuchSignal" does not exist.')
    expect(lines[1]).to.include({model: 'ServiceSignal'})
    expect(lines[1]!.msg).to.match(/^Sending 2 signal\(s\) of "ServiceSignal" failed: Could not connect to RabbitMQ at amqp:\/\/guest:\*\*\*@/)
    expect(result.stderr).not.to.include('s3cret')
  })

  it('also turns debug lines, stacks and TypeORM query logs into JSON (env SIGNALBUS_LOG_FORMAT, --verbose)', async function () {
    const url = `amqp://guest:s3cret@127.0.0.1:${await closedPort()}`
    const result = await runCli(['flush', '-m', 'ServiceSignal', '--verbose'], {
      env: db.env({SIGNALBUS_RABBITMQ_URL: url, SIGNALBUS_LOG_FORMAT: 'json', SIGNALBUS_TEST_LOGGING: '1'}),
    })
    expect(result.code).to.equal(1)
    const lines = jsonLines(result)
    expect(lines.some((line) => line.level === 'debug'), 'debug lines').to.equal(true)
    expect(lines.some((line) => /^query: /.test(line.msg)), "TypeORM's query log").to.equal(true)
    expect(lines.some((line) => line.level === 'error' && line.model === 'ServiceSignal')).to.equal(true)
    expect(result.stderr).not.to.include('s3cret')
  })

  it('reports a bad flag as one JSON error line and exit 2', async function () {
    const result = await runCli(['flushmany', '--burst', '0', '--log-format=json'], {env: db.env()})
    expect(result.code).to.equal(2)
    const lines = jsonLines(result)
    expect(lines).to.have.length(1)
    expect(lines[0]!.level).to.equal('error')
    expect(lines[0]!.msg).to.match(/burst/)
    expect(result.stdout).to.equal('')
  })
})
