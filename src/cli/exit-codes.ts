// The one place where errors become exit codes (documented in the README).
import {SignalbusConfigError} from '../errors.js'

export const ExitCode = {
  /** Everything named was flushed (or listed); signals moved to the dead letters do not change that. */
  success: 0,
  /**
   * A flush failed at run time: a model stopped (broker or database failure, sends failing whatever the split), or
   * some signals failed on their own and stay pending while the rest was delivered.
   */
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
