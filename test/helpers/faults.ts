// Faults the reliability tests inject, each aimed at one flusher only (other tests may run at the same time):
// killing the database session of a given child process, a TCP proxy in front of RabbitMQ that can be down,
// hold a burst or cut the connection, and a temporarily lowered RabbitMQ message size limit. Plus the
// bookkeeping every fault test ends with: seeded keys against delivered ∪ pending.
import {execFile} from 'node:child_process'
import {readFileSync, readdirSync, readlinkSync} from 'node:fs'
import net from 'node:net'
import {promisify} from 'node:util'
import type {TestDatabase} from './test-database.js'
import {duplicates} from './test-database.js'
import {listenOnLoopback} from './tcp-proxy.js'

// ------------------------------------------------------------------------------------ database sessions

const SERVER_PORTS = {postgres: 5432, mariadb: 3306} as const
type ServerDialect = keyof typeof SERVER_PORTS

/** Local ports of the TCP connections process `pid` has open to `remotePort` on this machine (Linux /proc). */
export function localPortsOf(pid: number, remotePort: number): number[] {
  const inodes = new Set<string>()
  let fds: string[]
  try {
    fds = readdirSync(`/proc/${pid}/fd`)
  } catch {
    return [] // the process is gone
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (match) inodes.add(match[1]!)
    } catch {
      // closed while we looked
    }
  }
  const ports: number[] = []
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[]
    try {
      lines = readFileSync(table, 'utf8').split('\n').slice(1)
    } catch {
      continue
    }
    for (const line of lines) {
      const fields = line.trim().split(/\s+/)
      if (fields.length < 10 || !inodes.has(fields[9]!)) continue
      const local = parseInt(fields[1]!.split(':')[1]!, 16)
      const remote = parseInt(fields[2]!.split(':')[1]!, 16)
      if (remote === remotePort) ports.push(local)
    }
  }
  return ports
}

/**
 * How often to poll sessionInBurst. MariaDB refreshes its information_schema.INNODB_TRX snapshot only when nobody
 * has read it for 100 ms: polling faster keeps showing the same stale snapshot.
 */
export const SESSION_POLL_MS = 250

/**
 * The server-side id of the session through which child `pid` holds an open burst (claimed and deleted rows,
 * not yet committed): PostgreSQL — the backend idle in transaction after the SKIP LOCKED claim; MariaDB — the
 * thread whose InnoDB transaction modified rows. Only sessions of that child's own sockets are considered.
 * A flusher on PostgreSQL or MariaDB claims the next burst on a second connection while one is being sent: of
 * two such sessions, the oldest transaction is the burst being sent.
 */
export async function sessionInBurst(db: TestDatabase, pid: number): Promise<number | undefined> {
  const dialect = serverDialect(db)
  const ports = localPortsOf(pid, SERVER_PORTS[dialect])
  if (ports.length === 0) return undefined
  if (dialect === 'postgres') {
    const rows = (await db.dataSource.query(
      `SELECT pid FROM pg_stat_activity
       WHERE client_port = ANY($1::int[]) AND state = 'idle in transaction' AND query ILIKE '%FOR UPDATE SKIP LOCKED%'
       ORDER BY xact_start LIMIT 1`,
      [ports],
    )) as Array<{pid: number}>
    return rows.length === 1 ? Number(rows[0]!.pid) : undefined
  }
  const rows = (await db.dataSource.query(
    `SELECT p.ID AS id, p.HOST AS host FROM information_schema.PROCESSLIST p
     JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID
     WHERE t.trx_rows_modified > 0 ORDER BY t.trx_started, t.trx_id`,
  )) as Array<{id: number | string; host: string}>
  const ours = rows.filter((row) => ports.includes(Number(row.host.split(':').pop())))
  return ours.length > 0 ? Number(ours[0]!.id) : undefined
}

/** The server-side ids of every session child `pid` has open. */
export async function sessionsOf(db: TestDatabase, pid: number): Promise<number[]> {
  const dialect = serverDialect(db)
  const ports = localPortsOf(pid, SERVER_PORTS[dialect])
  if (ports.length === 0) return []
  if (dialect === 'postgres') {
    const rows = (await db.dataSource.query('SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])', [ports])) as Array<{
      pid: number
    }>
    return rows.map((row) => Number(row.pid))
  }
  const rows = (await db.dataSource.query('SELECT ID AS id, HOST AS host FROM information_schema.PROCESSLIST')) as Array<{
    id: number | string
    host: string
  }>
  return rows.filter((row) => ports.includes(Number(row.host.split(':').pop()))).map((row) => Number(row.id))
}

/** Terminates one server session (pg_terminate_backend, or MariaDB KILL CONNECTION). */
export async function killSession(db: TestDatabase, id: number): Promise<void> {
  if (!Number.isSafeInteger(id)) throw new Error(`not a session id: ${id}`)
  if (serverDialect(db) === 'postgres') {
    const [row] = (await db.dataSource.query('SELECT pg_terminate_backend($1) AS done', [id])) as Array<{done: boolean}>
    if (!row?.done) throw new Error(`pg_terminate_backend(${id}) found no such backend`)
    return
  }
  await db.dataSource.query(`KILL CONNECTION ${id}`)
}

/** True while the server still has the session (a killed client's transaction is rolled back when it goes). */
export async function sessionExists(db: TestDatabase, id: number): Promise<boolean> {
  const rows = (await db.dataSource.query(
    serverDialect(db) === 'postgres'
      ? 'SELECT 1 FROM pg_stat_activity WHERE pid = $1'
      : 'SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ?',
    [id],
  )) as unknown[]
  return rows.length > 0
}

function serverDialect(db: TestDatabase): ServerDialect {
  if (db.dialect === 'sqlite') throw new Error('SQLite has no server sessions to kill')
  return db.dialect
}

// ------------------------------------------------------------------------------------------ RabbitMQ

const BROKER = {host: '127.0.0.1', port: 5672}

interface ProxiedConnection {
  client: net.Socket
  upstream: net.Socket
}

/**
 * A TCP proxy on a loopback port in front of RabbitMQ, for one flusher. `reachable = false` makes it drop every
 * new connection (the broker is unreachable); `hold()` stops passing the client's bytes on (its publishes are
 * never confirmed) and counts them; `cut()` drops the connections it carries (a lost network).
 */
export class BrokerProxy {
  reachable = true
  private holding = false
  private held = 0
  private readonly connections = new Set<ProxiedConnection>()

  private constructor(private readonly server: net.Server) {}

  static async start(): Promise<BrokerProxy> {
    const server = net.createServer()
    const proxy = new BrokerProxy(server)
    server.on('connection', (client) => proxy.accept(client))
    await listenOnLoopback(server)
    return proxy
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`
  }

  /** Client bytes kept back since hold() began. */
  get heldBytes(): number {
    return this.held
  }

  get openConnections(): number {
    return this.connections.size
  }

  hold(): void {
    this.holding = true
    this.held = 0
  }

  /** Drops every connection it carries; new connections are passed through again (unless unreachable). */
  cut(): void {
    this.holding = false
    for (const connection of this.connections) {
      connection.client.destroy()
      connection.upstream.destroy()
    }
    this.connections.clear()
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private accept(client: net.Socket): void {
    if (!this.reachable) {
      client.destroy()
      return
    }
    const upstream = net.connect(BROKER.port, BROKER.host)
    const connection = {client, upstream}
    this.connections.add(connection)
    const drop = (): void => {
      client.destroy()
      upstream.destroy()
      this.connections.delete(connection)
    }
    client.on('data', (chunk: Buffer) => {
      if (this.holding) this.held += chunk.length
      else upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => client.write(chunk))
    for (const socket of [client, upstream]) {
      socket.on('error', drop)
      socket.on('close', drop)
    }
  }
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const {port} = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

const RABBITMQ_DEFAULT_MAX_MESSAGE_SIZE = 134_217_728

async function setMaxMessageSize(bytes: number): Promise<void> {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`not a size: ${bytes}`)
  await promisify(execFile)('rabbitmqctl', ['eval', `application:set_env(rabbit, max_message_size, ${bytes}).`], {
    timeout: 30_000,
  })
}

/**
 * Lowers RabbitMQ's max_message_size (read by channels when they open) while `during` runs, and always puts
 * the default (128 MiB) back.
 */
export async function withMaxMessageSize(bytes: number, during: () => Promise<void>): Promise<void> {
  await setMaxMessageSize(bytes)
  try {
    await during()
  } finally {
    await setMaxMessageSize(RABBITMQ_DEFAULT_MAX_MESSAGE_SIZE)
  }
}

// ----------------------------------------------------------------------------------------- bookkeeping

export interface LossReport {
  seeded: number
  delivered: number
  /** Seeded keys neither delivered nor pending. */
  lost: string[]
  /** Keys delivered more than once. */
  duplicates: string[]
  /** Delivered keys that were never seeded (a bug in the test or the engine). */
  unknown: string[]
}

/** Compares the keys a test seeded with what was delivered (with repeats) and what is still pending. */
export function account(seeded: readonly string[], delivered: readonly string[], pending: readonly string[] = []): LossReport {
  const seen = new Set([...delivered, ...pending])
  const seededSet = new Set(seeded)
  return {
    seeded: seeded.length,
    delivered: delivered.length,
    lost: seeded.filter((key) => !seen.has(key)),
    duplicates: duplicates([...delivered]),
    unknown: [...new Set(delivered)].filter((key) => !seededSet.has(key)),
  }
}

/** The one-line summary each fault test prints, for docs/reliability.md. */
export function summary(report: LossReport, what = ''): string {
  const extra = what ? `; ${what}` : ''
  return `      (delivered ${report.delivered} for ${report.seeded} rows: ${report.duplicates.length} duplicate(s), ${report.lost.length} lost${extra})`
}

/** Inserts `count` rows {payload: `<tag><n>`} into a model with a generated `id`; returns their ids as keys. */
export async function seedRows(db: TestDatabase, entity: Function, count: number, tag = 'r'): Promise<string[]> {
  const before = new Set(await pendingKeys(db, entity))
  await db.insert(entity, Array.from({length: count}, (_, index) => ({payload: `${tag}${index}`})))
  return (await pendingKeys(db, entity)).filter((key) => !before.has(key))
}

/** The ids of the rows still in the model's table, as keys. */
export async function pendingKeys(db: TestDatabase, entity: Function): Promise<string[]> {
  const rows = (await db.dataSource.getRepository(entity).find({select: {id: true} as never})) as Array<{id: unknown}>
  return rows.map((row) => String(row.id))
}
