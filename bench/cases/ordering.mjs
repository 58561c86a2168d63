// Case 8, per-key ordering: `flushmany` over 100,000 rows whose order keys are drawn at random from 10, 500 or
// 50,000 keys, with 1 and 4 processes, the model ordered (signalbusOrderingKey) or not; nothing else differs.
// The table carries the recommended (order_key, id) index; one more run per database leaves it out (500 keys,
// 4 flushers, ordered). Every run reads the queue back: each row exactly once, and for ordered runs every key in
// primary-key order. Run from bench/run.mjs (section "ordering").
import amqplib from 'amqplib'
import {KEYED_TABLE} from '../fixture/keyed-signal.mjs'
import {PAYLOAD_LENGTH, QUEUE, RABBITMQ_URL} from '../lib/settings.mjs'
import {fixed, markdownTable, median, ratio, round, thousands} from '../lib/stats.mjs'

const DATA_SOURCE = 'bench/fixture/keyed-data-source.mjs'

export const orderingConfig = {
  rows: Number(process.env.BENCH_ORDERING_ROWS ?? 100_000),
  runs: Number(process.env.BENCH_ORDERING_RUNS ?? 3),
  keys: (process.env.BENCH_ORDERING_KEYS ?? '10,500,50000').split(',').map(Number),
  flushers: [1, 4],
  dialects: (process.env.BENCH_ORDERING_DIALECTS ?? 'postgres,mariadb').split(',').map((name) => name.trim()),
}

export async function createKeyedTable(db, {index}) {
  await dropKeyedTable(db)
  const id = db.dialect === 'postgres' ? 'id bigserial PRIMARY KEY' : 'id bigint AUTO_INCREMENT PRIMARY KEY'
  await db.query(`CREATE TABLE ${KEYED_TABLE} (${id}, order_key int NOT NULL, payload varchar(200) NOT NULL)`)
  if (index) await db.query(`CREATE INDEX ${KEYED_TABLE}_ordering ON ${KEYED_TABLE} (order_key, id)`)
}

export const dropKeyedTable = (db) => db.query(`DROP TABLE IF EXISTS ${KEYED_TABLE}`)

async function seedKeyed(db, rows, keys) {
  const filler = 'x'.repeat(PAYLOAD_LENGTH - 8)
  if (db.dialect === 'postgres') {
    await db.query(`TRUNCATE ${KEYED_TABLE} RESTART IDENTITY`)
    await db.query(
      `INSERT INTO ${KEYED_TABLE} (order_key, payload) SELECT floor(random() * $3::int), $1 || lpad(g::text, 8, '0') ` +
        `FROM generate_series(1, $2::int) AS g ORDER BY g`,
      [filler, rows, keys],
    )
    await db.query(`VACUUM ANALYZE ${KEYED_TABLE}`)
  } else {
    await db.query(`TRUNCATE TABLE ${KEYED_TABLE}`)
    await db.query(
      `INSERT INTO ${KEYED_TABLE} (order_key, payload) SELECT FLOOR(RAND() * ?), CONCAT(?, LPAD(seq, 8, '0')) FROM seq_1_to_${rows} ORDER BY seq`,
      [keys, filler],
    )
    await db.query(`ANALYZE TABLE ${KEYED_TABLE}`)
  }
}

/** Reads the whole queue back: ids 1…expected missing or repeated, and arrivals before a lower id of their key. */
async function readBack(expected) {
  const connection = await amqplib.connect(RABBITMQ_URL)
  try {
    const channel = await connection.createChannel()
    const total = (await channel.checkQueue(QUEUE)).messageCount
    const seen = new Uint8Array(expected + 1)
    const highest = new Map()
    let duplicates = 0
    let violations = 0
    let received = 0
    await new Promise((resolve, reject) => {
      if (total === 0) return resolve()
      channel.on('error', reject)
      channel
        .consume(QUEUE, (message) => {
          if (message === null) return
          const body = JSON.parse(message.content.toString())
          const id = Number(body.id) // a bigint column arrives as a string
          const key = body.key
          if (seen[id]) duplicates++
          else seen[id] = 1
          if ((highest.get(key) ?? 0) > id) violations++
          else highest.set(key, id)
          if (++received === total) resolve()
        }, {noAck: true})
        .catch(reject)
    })
    let missing = 0
    for (let id = 1; id <= expected; id++) if (!seen[id]) missing++
    return {received, missing, duplicates, violations}
  } finally {
    await connection.close()
  }
}

/**
 * Runs every combination `runs` times, alternating ordered and unordered side by side so that both see the same
 * machine; `tools` are run.mjs's broker, databases, process helpers and log.
 */
export async function benchOrdering(tools) {
  const {broker, databases, startMeasured, assertSucceeded, cliArgs, waitUntilQuiet, cpus, log, problems} = tools
  const results = []
  const combos = []
  for (const dialect of orderingConfig.dialects) {
    for (const keys of orderingConfig.keys) {
      for (const flushers of orderingConfig.flushers) {
        for (const ordered of [false, true]) combos.push({dialect, keys, flushers, ordered, index: true})
      }
    }
    if (orderingConfig.keys.includes(500)) combos.push({dialect, keys: 500, flushers: 4, ordered: true, index: false})
  }
  for (const db of Object.values(databases)) await createKeyedTable(db, {index: true})
  try {
    for (let run = 1; run <= orderingConfig.runs; run++) {
      for (const combo of combos) {
        // Other processes on the machine may close broker connections: a run that fails is tried once more.
        try {
          results.push(await measure(combo, run))
        } catch (error) {
          log(`ordering run ${run}, ${describe(combo)} failed (${String(error).split('\n')[0]}); trying once more`)
          results.push(await measure(combo, run))
        }
      }
    }
  } finally {
    for (const db of Object.values(databases)) await dropKeyedTable(db)
  }
  return results

  async function measure(combo, run) {
    const db = databases[combo.dialect]
    if (!combo.index) await createKeyedTable(db, {index: false})
    await broker.reset()
    await seedKeyed(db, orderingConfig.rows, combo.keys)
    await waitUntilQuiet(cpus, {maxMs: 3000})
    const begun = performance.now()
    const args = cliArgs('flushmany', '--json', '-d', DATA_SOURCE)
    const env = {BENCH_DIALECT: combo.dialect, SIGNALBUS_RABBITMQ_URL: RABBITMQ_URL, BENCH_ORDERED: combo.ordered ? '1' : '0'}
    const finished = await Promise.all(Array.from({length: combo.flushers}, () => startMeasured(args, {env}).done))
    const wallSeconds = (performance.now() - begun) / 1000
    finished.forEach((result, index) => assertSucceeded(`ordering flusher ${index + 1}`, result))
    const flushSeconds = Math.max(...finished.map((result) => result.json?.seconds ?? NaN))
    const delivery = await readBack(orderingConfig.rows)
    const left = Number((await db.query(`SELECT COUNT(*) AS n FROM ${KEYED_TABLE}`))[0].n)
    const label = describe(combo)
    if (delivery.missing || delivery.duplicates || left || (combo.ordered && delivery.violations)) {
      problems.push(`ordering ${label} run ${run}: ${JSON.stringify({...delivery, left})}`)
    }
    log(`ordering run ${run}, ${label}: ${thousands(orderingConfig.rows / flushSeconds)} msg/s, violations ${delivery.violations}`)
    if (!combo.index) await createKeyedTable(db, {index: true})
    return {...combo, run, rows: orderingConfig.rows, wallSeconds, flushSeconds, perSecond: orderingConfig.rows / flushSeconds, ...delivery, rowsLeft: left}
  }
}

const describe = (combo) =>
  `${combo.dialect}, ${thousands(combo.keys)} keys, ${combo.flushers} flusher(s), ${combo.ordered ? 'ordered' : 'unordered'}${combo.index ? '' : ', no index'}`

/** Medians per combination, ordered/unordered ratios (same-run pairs), and the target. */
export function summarizeOrdering(results) {
  const same = (a, b) => a.dialect === b.dialect && a.keys === b.keys && a.flushers === b.flushers && a.index === b.index
  const groups = []
  for (const row of results) if (!groups.some((group) => same(group, row) && group.ordered === row.ordered)) groups.push(row)
  const rate = (combo) => median(results.filter((row) => same(row, combo) && row.ordered === combo.ordered).map((row) => row.perSecond))
  const table = groups
    .filter((group) => group.ordered)
    .map((group) => {
      // The unordered claim does not use the index: a run without it is compared with the indexed unordered one.
      const unordered = {...group, ordered: false, index: true}
      const pairs = results
        .filter((row) => same(row, group) && row.ordered)
        .map((row) => ratio(row.perSecond, results.find((other) => same(other, unordered) && !other.ordered && other.run === row.run)?.perSecond))
      return {
        dialect: group.dialect,
        keys: group.keys,
        flushers: group.flushers,
        index: group.index,
        unorderedPerSecond: round(rate(unordered), 0),
        orderedPerSecond: round(rate(group), 0),
        orderedVsUnordered: round(median(pairs.filter(Number.isFinite)), 3),
        violations: results.filter((row) => same(row, group) && row.ordered).reduce((sum, row) => sum + row.violations, 0),
      }
    })
  const targets = {}
  for (const row of table.filter((entry) => entry.keys === 500 && entry.flushers === 4 && entry.index)) {
    targets[`ordering: 500 keys, 4 flushers ordered ≥ 0.8× unordered (${row.dialect})`] = row.orderedVsUnordered >= 0.8
  }
  targets['ordering: 0 order violations, every row exactly once'] = results.every(
    (row) => row.missing === 0 && row.duplicates === 0 && row.rowsLeft === 0 && (!row.ordered || row.violations === 0),
  )
  return {table, targets}
}

export function printOrdering(out, summary) {
  out(`\n## Per-key ordering: flushmany over ${thousands(orderingConfig.rows)} rows (flush-time msg/s, median of ${orderingConfig.runs}; ratio = median of same-run pairs)\n`)
  out(
    markdownTable(
      ['database', 'keys', 'flushers', 'index', 'unordered msg/s', 'ordered msg/s', 'ordered ÷ unordered', 'order violations'],
      summary.table.map((row) => [
        row.dialect,
        thousands(row.keys),
        row.flushers,
        row.index ? 'yes' : 'no',
        thousands(row.unorderedPerSecond),
        thousands(row.orderedPerSecond),
        fixed(row.orderedVsUnordered),
        row.violations,
      ]),
    ),
  )
}
