// The TypeORM data source that both the application (run.js) and the signalbus CLI load (-d data-source.js).
// The database is a SQLite file next to this one, under .data/ (git-ignored).
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {DataSource} from 'typeorm'
import {OrderSchema, StockReservedSignalSchema} from './stock-reserved-signal.js'

export const databaseFile = path.join(path.dirname(fileURLToPath(import.meta.url)), '.data', 'quickstart.sqlite')

export const dataSource = new DataSource({
  type: 'better-sqlite3',
  database: databaseFile,
  entities: [OrderSchema, StockReservedSignalSchema],
})
