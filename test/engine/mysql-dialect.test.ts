import {expect} from 'chai'
import {randomBytes} from 'node:crypto'
import {SignalBus} from '../../src/index.js'
import {makeDataSource} from '../fixtures/signals/data-sources.js'
import {Signal} from '../fixtures/signals/entities.js'
import {controls} from '../fixtures/signals/test-controls.js'
import {duplicates} from '../helpers/test-database.js'

describe('MySQL dialect on mariadb', () => {
  it('flushes everything with one delete per round trip when the pool has no multipleStatements', async () => {
    controls.sent.length = 0
    const dataSource = makeDataSource({dialect: 'mariadb', prefix: `sbt_${randomBytes(4).toString('hex')}_`, sqliteFile: ''})
    dataSource.setOptions({synchronize: true})
    await dataSource.initialize()
    try {
      expect(dataSource.driver.options).not.to.have.property('multipleStatements', true)
      await dataSource.getRepository(Signal).insert(Array.from({length: 30}, (_, index) => ({payload: `p${index}`, tags: ['x']})))
      expect(await new SignalBus(dataSource).flushmany([Signal], {burst: 8})).to.equal(30)
      expect(duplicates(controls.sent.map((record) => record.key))).to.deep.equal([])
      expect(await dataSource.getRepository(Signal).count()).to.equal(0)
    } finally {
      for (const metadata of dataSource.entityMetadatas) await dataSource.query(`DROP TABLE IF EXISTS \`${metadata.tableName}\``)
      await dataSource.destroy()
    }
  })
})
