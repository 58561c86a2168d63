// Case 6, the floor for start-up: a bare script that loads and initializes the same data source the CLI
// loads, runs one query, and exits. Whatever `signalbus flushmany` takes beyond this is the CLI's own cost.
import dataSource from '../fixture/data-source.mjs'
import {TABLE} from '../lib/settings.mjs'

await dataSource.initialize()
const rows = await dataSource.query(`SELECT COUNT(*) AS n FROM ${TABLE}`)
await dataSource.destroy()
process.stdout.write(JSON.stringify({pending: Number(rows[0].n)}) + '\n')
