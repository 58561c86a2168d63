import {Flags} from '@oclif/core'
import {SignalbusCommand} from '../cli/base-command.js'
import {renderSetup} from '../cli/render.js'

export default class Setup extends SignalbusCommand {
  static override summary = "Print the SQL that creates signalbus's own tables (dead letters); --apply runs it."
  static override description =
    'Nothing is created unless you run this with --apply (or run the printed SQL yourself). The statements are ' +
    'idempotent (IF NOT EXISTS) and run in one transaction on PostgreSQL and SQLite; MySQL and MariaDB commit DDL ' +
    'implicitly, so there each statement stands alone. Table names follow the data source: <entityPrefix>signalbus_attempts ' +
    'and <entityPrefix>signalbus_dead_letters, in its schema.'
  static override flags = {
    apply: Flags.boolean({summary: 'Run the statements instead of printing them.', default: false}),
  }
  static override examples = [
    '<%= config.bin %> <%= command.id %> > signalbus-setup.sql',
    '<%= config.bin %> <%= command.id %> --apply',
  ]

  async run(): Promise<void> {
    const {flags} = await this.parse(Setup)
    const plan = await this.withSignalBus(flags, flags.models ?? [], async (signalbus, models) =>
      flags.apply ? signalbus.setup(models) : signalbus.setupPlan(models),
    )
    renderSetup(this.out, plan, {json: flags.json, applied: flags.apply})
  }
}
