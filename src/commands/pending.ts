import {SignalbusCommand} from '../cli/base-command.js'
import {renderPending} from '../cli/render.js'

export default class Pending extends SignalbusCommand {
  static override summary = 'Show the number of pending signals per model and the total.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  async run(): Promise<void> {
    const {flags} = await this.parse(Pending)
    const pending = await this.withSignalBus(flags, flags.models ?? [], (signalbus, models) => signalbus.pending(models))
    renderPending(this.out, pending, flags.json)
  }
}
