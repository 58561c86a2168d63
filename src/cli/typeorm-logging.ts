// TypeORM's console loggers print queries to stdout; a command's stdout carries only its result (the
// summary line or the --json object), so the CLI sends them to stderr instead (as JSON with --log-format json).
import type {DataSource, LogLevel, LogMessage} from 'typeorm'
import {abstractLoggerOf} from '../typeorm-compat.js'

const CONSOLE_LOGGERS = new Set([undefined, 'advanced-console', 'simple-console', 'formatted-console'])

export type TypeormLineWriter = (level: 'info' | 'warn' | 'error', line: string) => void

const toStderr: TypeormLineWriter = (_level, line) => process.stderr.write(`${line}\n`)

export async function routeTypeormLogsToStderr(dataSource: DataSource, write: TypeormLineWriter = toStderr): Promise<void> {
  const {logger, logging} = dataSource.options
  if (!logging || typeof logger === 'object' || !CONSOLE_LOGGERS.has(logger)) return
  // The user's typeorm, not the copy signalbus would import: the two may differ (a 0.3 app, a monorepo).
  const AbstractLogger = abstractLoggerOf(dataSource) ?? (await import('typeorm')).AbstractLogger

  class StderrLogger extends AbstractLogger {
    protected writeLog(level: LogLevel, logMessage: LogMessage | string | number | Array<LogMessage | string | number>): void {
      for (const message of this.prepareLogMessages(logMessage, {highlightSql: false}, undefined)) {
        const prefix = message.prefix ? `${message.prefix} ` : ''
        write(level === 'warn' || level === 'error' ? level : 'info', `${prefix}${String(message.message)}`)
      }
    }
  }

  dataSource.setOptions({logger: new StderrLogger(logging)})
}
