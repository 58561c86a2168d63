// `signalbus pending`: pending counts per model and the total, run through the real binary on every dialect.
import {expect} from 'chai'
import type {EntityTarget, ObjectLiteral} from 'typeorm'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {BatchSignal, CompositeSignal} from '../fixtures/signals/entities.js'
import {insertPending} from '../helpers/inspection.js'
import {runCli, type CliResult} from '../helpers/run-cli.js'
import {TestDatabase} from '../helpers/test-database.js'

interface PendingJson {
  pending: Record<string, number>
  total: number
}

for (const dialect of DIALECTS) {
  describe(`signalbus pending on ${dialect}`, () => {
    let db: TestDatabase

    beforeEach(async () => {
      db = await TestDatabase.create(dialect)
      await insertPending(db)
    })

    afterEach(async () => {
      await db.destroy()
    })

    const pending = (args: string[]): Promise<CliResult> =>
      runCli(['pending', ...args], {env: db.env(), timeoutMs: 30_000})
    const tableOf = (entity: EntityTarget<ObjectLiteral>): string => db.dataSource.getMetadata(entity).tableName
    const lines = (result: CliResult): string[] => result.stdout.split('\n').filter((line) => line.length > 0)
    const parseJson = (result: CliResult): PendingJson => JSON.parse(result.stdout) as PendingJson

    it('prints "Name: n" for every signal model, then "Total pending: N"', async () => {
      const result = await pending([])
      expect(result.stderrLines).to.deep.equal([])
      expect(result.code).to.equal(0)
      expect(lines(result)).to.deep.equal(['Signal: 3', 'CompositeSignal: 4', 'BatchSignal: 5', 'Total pending: 12'])
    })

    it('--json prints exactly {"pending": {name: n}, "total": N} on one line', async () => {
      const result = await pending(['--json'])
      expect(result.stderrLines).to.deep.equal([])
      expect(result.code).to.equal(0)
      expect(lines(result)).to.have.length(1)
      expect(parseJson(result)).to.deep.equal({pending: {Signal: 3, CompositeSignal: 4, BatchSignal: 5}, total: 12})
    })

    it('counts zero for models with nothing pending', async () => {
      await db.dataSource.getRepository(CompositeSignal).clear()
      const result = await pending(['--json'])
      expect(result.code).to.equal(0)
      expect(parseJson(result)).to.deep.equal({pending: {Signal: 3, CompositeSignal: 0, BatchSignal: 5}, total: 8})
    })

    it('-e leaves a model out of the counts and the total', async () => {
      const result = await pending(['-e', 'CompositeSignal'])
      expect(result.code).to.equal(0)
      expect(lines(result)).to.deep.equal(['Signal: 3', 'BatchSignal: 5', 'Total pending: 8'])
    })

    it('--exclude takes table names and comma-separated lists', async () => {
      const result = await pending(['--json', '--exclude', `${tableOf(BatchSignal)},CompositeSignal`])
      expect(result.code).to.equal(0)
      expect(parseJson(result)).to.deep.equal({pending: {Signal: 3}, total: 3})
    })

    it('-m resolves names by entity class name and by table name, in the order given', async () => {
      const result = await pending(['--json', '-m', 'BatchSignal', '-m', tableOf(CompositeSignal)])
      expect(result.stderrLines).to.deep.equal([])
      expect(result.code).to.equal(0)
      const parsed = parseJson(result)
      expect(parsed).to.deep.equal({pending: {BatchSignal: 5, CompositeSignal: 4}, total: 9})
      expect(Object.keys(parsed.pending)).to.deep.equal(['BatchSignal', 'CompositeSignal'])
    })

    it('counts a model named twice (by class name and by table name) once', async () => {
      const result = await pending(['--json', '-m', `BatchSignal,${tableOf(BatchSignal)},BatchSignal`])
      expect(result.code).to.equal(0)
      expect(parseJson(result)).to.deep.equal({pending: {BatchSignal: 5}, total: 5})
    })

    it('warns about an unknown name and counts the others', async () => {
      const result = await pending(['-m', 'Signal,Customer'])
      expect(result.code).to.equal(0)
      expect(result.stderrLines).to.deep.equal(['Warning: A signal with name "Customer" does not exist.'])
      expect(lines(result)).to.deep.equal(['Signal: 3', 'Total pending: 3'])
    })

    it('--strict with an unknown name in --exclude exits 2 with one line and counts nothing', async () => {
      const result = await pending(['--strict', '--json', '-m', 'Signal', '-e', 'Nope'])
      expect(result.code).to.equal(2)
      expect(result.stdout).to.equal('')
      expect(result.stderrLines).to.have.length(1)
      expect(result.stderrLines[0]).to.contain('A signal with name "Nope" does not exist.')
    })
  })
}
