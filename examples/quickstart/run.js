#!/usr/bin/env node
// The quick start: record signals in the same transaction as a business change (the transactional outbox),
// then let the real signalbus CLI list, send and count them. Run it with `npm run quickstart` (builds first).
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, rmSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {dataSource, databaseFile} from './data-source.js'
import {StockReservedSignal} from './stock-reserved-signal.js'

const SIGNAL_COUNT = 3000
const INSERT_CHUNK = 200
const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, '..', '..')
const dataSourceFile = path.relative(repoRoot, path.join(here, 'data-source.js'))

function step(title) {
  console.log(`\n=== ${title}`)
}

/** A fresh database with the tables. Only the application syncs its schema: the signalbus CLI never does. */
async function createTables() {
  rmSync(path.dirname(databaseFile), {recursive: true, force: true})
  mkdirSync(path.dirname(databaseFile), {recursive: true})
  dataSource.setOptions({synchronize: true})
  await dataSource.initialize()
}

/** One transaction: the order and its signals are committed together, or not at all. */
async function placeOrder() {
  return dataSource.transaction(async (manager) => {
    const {identifiers} = await manager.insert('Order', {customer: 'ACME Corp.'})
    const orderId = identifiers[0].id
    const signals = Array.from({length: SIGNAL_COUNT}, (_, line) => ({
      orderId,
      sku: `SKU-${String(line + 1).padStart(4, '0')}`,
      quantity: 1 + (line % 5),
    }))
    // SQLite caps the size of one statement, so the rows go in a few INSERTs (still one transaction).
    for (let start = 0; start < signals.length; start += INSERT_CHUNK) {
      await manager.insert(StockReservedSignal, signals.slice(start, start + INSERT_CHUNK))
    }
    return orderId
  })
}

/** Runs the real signalbus binary the way cron would, with this terminal as its stdout and stderr. */
function signalbus(...args) {
  const argv = ['bin/run.js', ...args, '-d', dataSourceFile]
  console.log(`$ signalbus ${args.join(' ')} -d ${dataSourceFile}`)
  const result = spawnSync(process.execPath, argv, {cwd: repoRoot, stdio: 'inherit'})
  if (result.error) throw result.error
  if (result.status !== 0) {
    throw new Error(`signalbus ${args.join(' ')} exited with ${result.status ?? result.signal}`)
  }
}

async function main() {
  if (!existsSync(path.join(repoRoot, 'dist', 'index.js'))) {
    throw new Error('signalbus is not built: run `npm run quickstart` (it builds first) or `npm run build`.')
  }

  step(`1. The application places an order and records ${SIGNAL_COUNT} signals in the same transaction`)
  await createTables()
  const orderId = await placeOrder()
  await dataSource.destroy()
  console.log(`order #${orderId} committed together with ${SIGNAL_COUNT} StockReservedSignal rows (${databaseFile})`)

  step('2. signalbus finds the signal models and what is pending')
  signalbus('signals')

  step('3. signalbus sends them in bursts of 500, one transaction per burst (send → delete → commit)')
  signalbus('flushmany')

  step('4. Nothing is left pending')
  signalbus('pending')
}

try {
  await main()
  console.log('\nDone. See examples/quickstart/README.md for what to try next.')
} catch (error) {
  console.error(`\nQuick start failed: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
}
