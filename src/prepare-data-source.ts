// Makes a user's DataSource safe and fit for flushing before it is initialized.
import type {DataSource, DataSourceOptions} from 'typeorm'
import {connectionOptionsFor} from './engine/dialects/index.js'
import {DatabaseError, describeError} from './errors.js'

/** Flushing must never alter a user's schema, whatever the data source file says. */
const SCHEMA_SAFETY: Partial<DataSourceOptions> = {synchronize: false, migrationsRun: false, dropSchema: false}

/** Forces the schema-safety options and the dialect's connection options, then initializes. An already initialized data source is used as it is. */
export async function initializeForFlushing(dataSource: DataSource): Promise<DataSource> {
  if (dataSource.isInitialized) return dataSource
  const overrides = {...SCHEMA_SAFETY, ...connectionOptionsFor(dataSource.options)} as Partial<DataSourceOptions>
  dataSource.setOptions(overrides)
  // Some drivers (MySQL) copy the options when the DataSource is constructed; setOptions does not reach them.
  if (dataSource.driver.options !== dataSource.options) Object.assign(dataSource.driver.options, overrides)
  try {
    return await dataSource.initialize()
  } catch (error) {
    throw new DatabaseError(`Could not initialize the data source: ${describeError(error)}`, {cause: error})
  }
}
