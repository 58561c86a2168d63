// What every signalbus command shares: the common flags, loading the data source, resolving model
// names, turning errors into one line and an exit code, and closing what was opened.
import {Command, Flags, Errors} from '@oclif/core'
import type {DataSource} from 'typeorm'
import {DatabaseError, SignalbusConfigError, describeError} from '../errors.js'
import type {FlushObserver} from '../flush-observer.js'
import {getModelsToFlush} from '../model-names.js'
import {initializeForFlushing} from '../prepare-data-source.js'
import type {SignalModel} from '../signal-model.js'
import {runShutdownHooks} from '../shutdown-hooks.js'
import {SignalBus} from '../signalbus.js'
import {describeTypeormFor} from '../typeorm-compat.js'
import {loadDataSource, resolveDataSourcePath} from './data-source-file.js'
import {envFilesNote, loadEnvFiles, resolveEnvFiles} from './env-files.js'
import {describeTypescriptLoading} from './typescript/register.js'
import {exitCodeFor} from './exit-codes.js'
import {LOG_FORMATS, LOG_FORMAT_ENV, logFormatBeforeParsing, type LogFormat} from './json-log.js'
import {routeTypeormLogsToStderr} from './typeorm-logging.js'
import {Output} from './output.js'

export interface CommonFlags {
  'data-source'?: string
  'env-file'?: string[]
  models?: string[]
  exclude?: string[]
  strict: boolean
  json: boolean
  verbose: boolean
  'log-format': LogFormat
}

export abstract class SignalbusCommand extends Command {
  static override baseFlags = {
    'data-source': Flags.string({
      char: 'd',
      summary: 'Module that exports the TypeORM DataSource.',
      description:
        'Default: the SIGNALBUS_DATA_SOURCE environment variable, else "signalbus": {"dataSource": …} in the nearest package.json.',
      helpValue: '<path>',
    }),
    'env-file': Flags.string({
      summary: 'Environment file to load before the data source (repeatable; a later file wins over an earlier one).',
      description:
        'Variables already set in the environment win over the files. Default: "signalbus": {"envFile": PATH or [PATH, …]} in the nearest package.json.',
      multiple: true,
      helpValue: '<path>',
    }),
    models: Flags.string({
      char: 'm',
      summary: 'Signal models to use, by entity class name or table name (repeatable, comma-separated). Default: all.',
      multiple: true,
      delimiter: ',',
      helpValue: '<name,…>',
    }),
    exclude: Flags.string({
      char: 'e',
      summary: 'Signal models to leave out (repeatable, comma-separated).',
      multiple: true,
      delimiter: ',',
      helpValue: '<name,…>',
    }),
    strict: Flags.boolean({
      summary: 'Treat unknown model names and missing signal tables as errors (exit 2) before doing anything.',
      default: false,
    }),
    json: Flags.boolean({summary: 'Print the result as one JSON object on stdout.', default: false}),
    verbose: Flags.boolean({summary: 'Print debug lines and error stacks on stderr.', default: false}),
    'log-format': Flags.option({
      options: LOG_FORMATS,
      summary: 'Diagnostics on stderr as text lines or as one JSON object per line.',
      env: LOG_FORMAT_ENV,
      default: 'text',
    })(),
  }

  /** Given to the SignalBus the command builds (the flushing commands feed metrics and health from it). */
  protected observer: FlushObserver | undefined

  protected out = this.outputFor(Boolean(process.env.DEBUG), logFormatBeforeParsing(this.argv))

  private outputFor(verbose: boolean, format: LogFormat): Output {
    // Node's own warnings (deprecations) would be plain lines among the JSON ones.
    if (format === 'json') {
      process.removeAllListeners('warning')
      process.on('warning', (warning) => this.out.warn(`${warning.name}: ${warning.message}`))
    }
    return new Output(verbose, format)
  }

  /** Loads and initializes the data source, resolves the models, runs `use`, and always destroys the data source. */
  protected async withSignalBus<T>(
    flags: CommonFlags,
    names: readonly string[],
    use: (signalbus: SignalBus, models: SignalModel[]) => Promise<T>,
  ): Promise<T> {
    this.out = new Output(flags.verbose || Boolean(process.env.DEBUG), flags['log-format'])
    const cwd = process.cwd()
    const envFiles = await resolveEnvFiles(flags['env-file'], cwd)
    const variables = await loadEnvFiles(envFiles)
    if (envFiles.length > 0) this.out.debug(`Loaded ${variables.length} variable(s) from ${envFiles.join(', ')}`)
    const path = await resolveDataSourcePath(flags['data-source'], {cwd, env: process.env})
    // Finding the typeorm package again costs file reads at every start: only for the debug line.
    if (this.out.isVerbose) this.out.debug(`Loading the data source from ${path} (${describeTypeormFor(path)})`)
    const note = envFilesNote(envFiles, cwd)
    const dataSource = await loadDataSource(path, {sourceMaps: this.out.isVerbose}).catch((error: unknown) => {
      throw withNote(error, note)
    })
    const typescript = describeTypescriptLoading()
    if (typescript !== undefined) this.out.debug(typescript)
    await routeTypeormLogsToStderr(dataSource, (level, line) => this.out.typeorm(level, line))
    try {
      await initializeForFlushing(dataSource)
      const signalbus = new SignalBus(dataSource, {logger: this.out.logger(), observer: this.observer})
      const models = getModelsToFlush(signalbus, names, {
        exclude: flags.exclude,
        onUnknown: flags.strict ? 'error' : 'warn',
        onWarning: (message) => this.out.warn(message),
      })
      if (flags.strict) await this.requireTables(signalbus, models)
      return await use(signalbus, models)
    } finally {
      await runShutdownHooks(this.out.logger())
      await destroyQuietly(dataSource)
    }
  }

  private async requireTables(signalbus: SignalBus, models: SignalModel[]): Promise<void> {
    const missing = await signalbus.missingTables(models)
    if (missing.length === 0) return
    const list = missing.map((model) => `"${model.tableName}" (${model.name})`).join(', ')
    throw new SignalbusConfigError(`Signal table ${list} does not exist in the database.`)
  }

  override async catch(error: Error & {exitCode?: number}): Promise<never> {
    if (error instanceof Errors.ExitError) throw error
    this.out.error(describeError(error), {error: error.name})
    if (this.out.isVerbose) this.out.stack(error)
    this.exit(exitCodeFor(error))
  }
}


/**
 * A data source that failed while importing or constructing (its cause is the module's or the driver's error, e.g.
 * `Wrong driver: "undefined" given` for a variable that is not set) gets the env-file note; other failures (a data
 * source that exports no DataSource) are not about the environment.
 */
function withNote(error: unknown, note: string): unknown {
  if (!(error instanceof Error) || error.cause === undefined) return error
  if (error instanceof SignalbusConfigError) return new SignalbusConfigError(`${error.message}${note}`, {cause: error.cause})
  if (error instanceof DatabaseError) return new DatabaseError(`${error.message}${note}`, {cause: error.cause})
  return error
}

async function destroyQuietly(dataSource: DataSource): Promise<void> {
  if (!dataSource.isInitialized) return
  try {
    await dataSource.destroy()
  } catch {
    // The connection is already gone; nothing is left to close.
  }
}
