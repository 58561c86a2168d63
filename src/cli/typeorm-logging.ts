// TypeORM's console loggers print queries to stdout; a command's stdout carries only its result (the
// summary line or the --json object), so the CLI sends them to stderr instead.
import type {DataSource, LogLevel, LogMessage} from 'typeorm'
import {abstractLoggerOf} from '../typeorm-compat.js'

const CONSOLE_LOGGERS = new Set([undefined, 'advanced-console', 'simple-console', 'formatted-console'])

export async function routeTypeormLogsToStderr(dataSource: DataSource): Promise<void> {
  const {logger, logging} = dataSource.options
  if (!logging || typeof logger === 'object' || !CONSOLE_LOGGERS.has(logger)) return
  // The user's typeorm, not the copy signalbus would import: the two may differ (a 0.3 app, a monorepo).
  const AbstractLogger = abstractLoggerOf(dataSource) ?? (await import('typeorm')).AbstractLogger

  class StderrLogger extends AbstractLogger {
    protected writeLog(_level: LogLevel, logMessage: LogMessage | string | number | Array<LogMessage | string | number>): void {
      for (const message of this.prepareLogMessages(logMessage, {highlightSql: false}, undefined)) {
        const prefix = message.prefix ? `${message.prefix} ` : ''
        process.stderr.write(`${prefix}${String(message.message)}\n`)
      }
    }
  }

  dataSource.setOptions({logger: new StderrLogger(logging)})
}
