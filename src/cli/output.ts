// Where the CLI writes: results to stdout, diagnostics to stderr, colour only on a TTY (and never with NO_COLOR).
import {Chalk, type ChalkInstance} from 'chalk'
import type {Logger} from '../logger.js'
import {maskCredentials} from '../mask-credentials.js'


function colorsFor(stream: NodeJS.WriteStream): ChalkInstance {
  const enabled = stream.isTTY === true && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb'
  return new Chalk({level: enabled ? 1 : 0})
}

export class Output {
  readonly stdoutColors = colorsFor(process.stdout)
  readonly stderrColors = colorsFor(process.stderr)

  constructor(readonly isVerbose: boolean) {}

  result(line: string): void {
    process.stdout.write(`${line}\n`)
  }

  json(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value)}\n`)
  }

  warn(message: string): void {
    process.stderr.write(`${this.stderrColors.yellow('Warning:')} ${maskCredentials(message)}\n`)
  }

  error(message: string): void {
    process.stderr.write(`${this.stderrColors.red('Error:')} ${maskCredentials(message)}\n`)
  }

  debug(message: string): void {
    if (this.isVerbose) process.stderr.write(`${this.stderrColors.dim(maskCredentials(message))}\n`)
  }

  /** A library logger writing here; errors are reported by the command itself, so they are debug lines. */
  logger(): Logger {
    return {
      debug: (message) => this.debug(message),
      info: (message) => this.debug(message),
      warn: (message) => this.warn(message),
      error: (message) => this.debug(message),
    }
  }
}
