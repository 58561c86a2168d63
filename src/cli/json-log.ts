// --log-format json: each diagnostic line on stderr is one JSON object written by pino (time, level, msg and
// fields such as model, count, error), synchronously, so that nothing is lost when the process exits.
import {createRequire} from 'node:module'
import type {Logger as Pino, pino as createPino} from 'pino'
import type {LogFields} from '../logger.js'
import {maskCredentials} from '../mask-credentials.js'

export const LOG_FORMATS = ['text', 'json'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]
export const LOG_FORMAT_ENV = 'SIGNALBUS_LOG_FORMAT'

export type JsonLevel = 'debug' | 'info' | 'warn' | 'error'

export class JsonLog {
  private readonly pino: Pino

  constructor(verbose: boolean, destination: number = 2) {
    // Loaded on demand (synchronously: pino is CommonJS), so that text-format runs do not pay its start-up time.
    const pino = createRequire(import.meta.url)('pino') as typeof createPino
    this.pino = pino(
      {
        level: verbose ? 'debug' : 'info',
        base: {pid: process.pid},
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: {level: (label) => ({level: label})},
      },
      pino.destination({dest: destination, sync: true}),
    )
  }

  write(level: JsonLevel, message: string, fields: LogFields = {}): void {
    const masked: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(fields)) {
      if (value !== undefined) masked[name] = typeof value === 'string' ? maskCredentials(value) : value
    }
    this.pino[level](masked, maskCredentials(message))
  }
}

/**
 * The format before the flags are parsed (errors in parsing them must come out in it too): the last
 * --log-format in argv, else the environment variable, else text.
 */
export function logFormatBeforeParsing(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): LogFormat {
  let format: string | undefined
  argv.forEach((arg, index) => {
    if (arg === '--log-format') format = argv[index + 1]
    else if (arg.startsWith('--log-format=')) format = arg.slice('--log-format='.length)
  })
  format ??= env[LOG_FORMAT_ENV]
  return format === 'json' ? 'json' : 'text'
}
