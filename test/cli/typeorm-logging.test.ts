import {expect} from 'chai'
import {runCli} from '../helpers/run-cli.js'
import {TestDatabase} from '../helpers/test-database.js'

describe("a data source with TypeORM's logging on", () => {
  let db: TestDatabase

  beforeEach(async () => {
    db = await TestDatabase.create('postgres')
    await db.insertSignals(3)
  })

  afterEach(async () => {
    await db.destroy()
  })

  it('keeps stdout for the result: the logged queries go to stderr', async () => {
    const result = await runCli(['flushmany', '-m', 'Signal', '--json'], {env: db.env({SIGNALBUS_TEST_LOGGING: '1'})})
    expect(result.code).to.equal(0)
    expect(JSON.parse(result.stdout)).to.include({sent: 3})
    expect(result.stderr).to.match(/FOR UPDATE SKIP LOCKED/)
  })
})
