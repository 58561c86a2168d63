import {Flags} from '@oclif/core'
import {FlushCommand, flushFlags} from '../cli/flush-command.js'

export default class Flush extends FlushCommand {
  static override summary = 'Send the signals pending at the moment of the call (optionally after --wait seconds), then stop.'
  static override description =
    'Counts the pending signals of each model, waits --wait seconds, then sends and deletes up to that many per model, ' +
    'oldest key first. Signals inserted after the call are left for the next run.'
  static override flags = {
    ...flushFlags,
    wait: Flags.integer({summary: 'Seconds to wait before sending.', min: 0, default: 0, helpValue: '<seconds>'}),
  }
  static override examples = ['<%= config.bin %> <%= command.id %> --models OrderCreated --wait 10']

  async run(): Promise<void> {
    const {flags} = await this.parse(Flush)
    await this.runFlushing(flags, flags.models ?? [], {mode: 'flush', wait: flags.wait})
  }
}
