// The one place where errors become exit codes (documented in the README).
import {SignalbusConfigError} from '../errors.js'

export const ExitCode = {
  /** Everything named was flushed (or listed). */
  success: 0,
  /** A flush failed at run time: send error, broker or database failure. Rows stay pending. */
  runtimeFailure: 1,
  /** Usage or configuration error: bad flag, data source that does not load, unknown name under --strict. */
  configError: 2,
} as const

export function exitCodeFor(error: unknown): number {
  if (error instanceof SignalbusConfigError) return ExitCode.configError
  const oclifExit = (error as {oclif?: {exit?: unknown}})?.oclif?.exit
  if (oclifExit === ExitCode.configError) return ExitCode.configError
  return ExitCode.runtimeFailure
}
