// --listen on PostgreSQL: one dedicated connection LISTENs on each signal table's channel and wakes the
// --repeat loop's sleep shortly after an insert. The connection is made with the data source's own driver
// (node-postgres, reached through TypeORM) and options, outside its pool, and is made again after it is lost
// (pg_terminate_backend, a server restart). Polling goes on regardless, so a lost notification only delays.
import type {DataSource} from 'typeorm'
import {describeError} from '../errors.js'
import type {Logger} from '../logger.js'
import {sleep} from '../sleep.js'
import {channelFor} from './channels.js'
import {WakeUp} from './wake-up.js'

/** The part of node-postgres the listener uses. */
interface PgClient {
  connect(): Promise<unknown>
  query(sql: string): Promise<unknown>
  end(): Promise<void>
  on(event: 'notification', listener: (message: {channel: string}) => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'end', listener: () => void): unknown
  removeAllListeners(): unknown
}
type PgClientClass = new (config: Record<string, unknown>) => PgClient

/** What a TypeORM PostgresDriver holds: the pg module it loaded and its (master) pool with the options it was built with. */
interface PostgresDriverParts {
  postgres?: {Client?: PgClientClass}
  master?: {options?: Record<string, unknown>}
}

const RECONNECT_FIRST_MS = 250
const RECONNECT_MAX_MS = 5000
export const LISTENER_APPLICATION_NAME = 'signalbus listen'

export interface PostgresListenerOptions {
  /** Each table by its display name (schema.table), and the wake-up its channel's notifications end. */
  tables: ReadonlyArray<{readonly table: string; readonly wakeUp: WakeUp}>
  logger: Logger
}

export class PostgresListener {
  private client: PgClient | undefined
  private closed = false
  private readonly stopping = new AbortController()
  private connecting: Promise<void> | undefined
  /** The wake-up of each channel listened on. */
  private readonly channels: Map<string, WakeUp>

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: PostgresListenerOptions,
  ) {
    this.channels = new Map(options.tables.map(({table, wakeUp}) => [channelFor(table), wakeUp]))
  }

  /** Connects and listens; when that fails, the loop polls and the listener keeps trying in the background. */
  async start(): Promise<void> {
    try {
      await this.connect()
    } catch (error) {
      this.options.logger.warn(`Could not LISTEN on PostgreSQL (${describeError(error)}); polling, and trying again.`)
      this.connecting = this.reconnect()
    }
  }

  async close(): Promise<void> {
    this.closed = true
    this.stopping.abort()
    await this.connecting?.catch(() => undefined)
    const client = this.client
    this.client = undefined
    if (!client) return
    client.removeAllListeners()
    client.on('error', () => undefined)
    try {
      await client.end()
    } catch {
      // Already gone.
    }
  }

  private newClient(): PgClient {
    const driver = this.dataSource.driver as unknown as PostgresDriverParts
    const Client = driver.postgres?.Client
    const poolOptions = driver.master?.options
    if (!Client || !poolOptions) throw new Error('the data source has no node-postgres driver to listen with')
    return new Client({...poolOptions, application_name: LISTENER_APPLICATION_NAME, keepAlive: true})
  }

  private async connect(): Promise<void> {
    const client = this.newClient()
    client.on('notification', (message) => this.channels.get(message.channel)?.notify())
    client.on('error', (error) => this.lost(client, error))
    client.on('end', () => this.lost(client, undefined))
    try {
      await client.connect()
      for (const channel of this.channels.keys()) await client.query(`LISTEN ${this.dataSource.driver.escape(channel)}`)
    } catch (error) {
      client.removeAllListeners()
      client.on('error', () => undefined)
      void client.end().catch(() => undefined)
      throw error
    }
    if (this.closed) {
      client.removeAllListeners()
      client.on('error', () => undefined)
      await client.end().catch(() => undefined)
      return
    }
    this.client = client
  }

  /** The connection broke: forget it and connect again, with growing pauses, until closed. */
  private lost(client: PgClient, error: Error | undefined): void {
    if (this.client !== client || this.closed) return
    this.client = undefined
    client.removeAllListeners()
    client.on('error', () => undefined)
    this.options.logger.warn(
      `The LISTEN connection to PostgreSQL was lost${error ? ` (${describeError(error)})` : ''}; reconnecting (polling meanwhile).`,
    )
    this.connecting = this.reconnect()
  }

  private async reconnect(): Promise<void> {
    for (let pause = RECONNECT_FIRST_MS; !this.closed; pause = Math.min(pause * 2, RECONNECT_MAX_MS)) {
      await sleep(pause, this.stopping.signal)
      if (this.closed) return
      try {
        await this.connect()
        if (this.closed) return
        this.options.logger.info('Listening for inserts again.')
        // Rows may have been inserted while nobody listened.
        for (const wakeUp of this.channels.values()) wakeUp.notify()
        return
      } catch (error) {
        this.options.logger.debug(`Reconnecting the LISTEN connection failed: ${describeError(error)}`)
      }
    }
  }
}
