import {SignalbusCommand} from '../cli/base-command.js'
import {renderSignals} from '../cli/render.js'

export default class Signals extends SignalbusCommand {
  static override summary =
    'List the signal models: name, table, burst count, ordering key, pending count, dead letters, age of the oldest pending signal.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --strict -m OrderCreated,PaymentSignal',
  ]

  async run(): Promise<void> {
    const {flags} = await this.parse(Signals)
    const signals = await this.withSignalBus(flags, flags.models ?? [], (signalbus, models) => signalbus.status(models))
    renderSignals(this.out, signals, flags.json)
  }
}
