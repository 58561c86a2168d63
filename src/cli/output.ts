// Where the CLI writes: results to stdout, diagnostics to stderr — as coloured text (colour only on a TTY,
// never with NO_COLOR) or, with --log-format json, as one JSON object per line.
import {Chalk, type ChalkInstance} from 'chalk'
import type {LogFields, Logger} from '../logger.js'
import {maskCredentials} from '../mask-credentials.js'
import {JsonLog, type LogFormat} from './json-log.js'

function colorsFor(stream: NodeJS.WriteStream): ChalkInstance {
  const enabled = stream.isTTY === true && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb'
  return new Chalk({level: enabled ? 1 : 0})
}

export class Output {
  readonly stdoutColors = colorsFor(process.stdout)
  readonly stderrColors = colorsFor(process.stderr)
  private readonly jsonLog: JsonLog | undefined

  constructor(
    readonly isVerbose: boolean,
    readonly logFormat: LogFormat = 'text',
  ) {
    if (logFormat === 'json') this.jsonLog = new JsonLog(isVerbose)
  }

  result(line: string): void {
    process.stdout.write(`${line}\n`)
  }

  json(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value)}\n`)
  }

  warn(message: string, fields?: LogFields): void {
    if (this.jsonLog) return this.jsonLog.write('warn', message, fields)
    process.stderr.write(`${this.stderrColors.yellow('Warning:')} ${maskCredentials(message)}\n`)
  }

  error(message: string, fields?: LogFields): void {
    if (this.jsonLog) return this.jsonLog.write('error', message, fields)
    process.stderr.write(`${this.stderrColors.red('Error:')} ${maskCredentials(message)}\n`)
  }

  /** An informational line: only in JSON logs (round summaries, the listener's state); text mode keeps stderr quiet. */
  info(message: string, fields?: LogFields): void {
    if (this.jsonLog) return this.jsonLog.write('info', message, fields)
    this.debug(message)
  }

  debug(message: string, fields?: LogFields): void {
    if (!this.isVerbose) return
    if (this.jsonLog) return this.jsonLog.write('debug', message, fields)
    process.stderr.write(`${this.stderrColors.dim(maskCredentials(message))}\n`)
  }

  /** A line logged by TypeORM (the user turned `logging` on): printed as it is, or as a JSON object. */
  typeorm(level: 'info' | 'warn' | 'error', line: string): void {
    if (this.jsonLog) return this.jsonLog.write(level, line, {source: 'typeorm'})
    process.stderr.write(`${line}\n`)
  }

  /** The stack of an error and of each cause under it (where a user's module failed), with --verbose. */
  stack(error: Error): void {
    const stacks: string[] = []
    for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
      if (current.stack) stacks.push(depth === 0 ? current.stack : `Caused by: ${current.stack}`)
    }
    if (stacks.length === 0) return
    if (this.jsonLog) return this.jsonLog.write('debug', 'stack', {stack: stacks.join('\n')})
    process.stderr.write(stacks.map((stack) => `${stack}\n`).join(''))
  }

  /** A library logger writing here; errors are reported by the command itself, so they are debug lines. */
  logger(): Logger {
    return {
      debug: (message, fields) => this.debug(message, fields),
      info: (message, fields) => this.debug(message, fields),
      warn: (message, fields) => this.warn(message, fields),
      error: (message, fields) => this.debug(message, fields),
    }
  }
}
