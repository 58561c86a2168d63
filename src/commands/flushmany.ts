import {Args} from '@oclif/core'
import {FlushCommand, flushFlags} from '../cli/flush-command.js'

export default class Flushmany extends FlushCommand {
  static override summary = 'Send and delete all pending signals of the given models, in bursts; safe to run in parallel.'
  static override description =
    'Each burst is one transaction: claim rows (FOR UPDATE SKIP LOCKED) → send → broker confirms → delete → commit. ' +
    'A burst whose send fails is narrowed down to the signals whose own send fails: they stay pending, the others are ' +
    'delivered. Model names may be given as arguments or with --models; default: all.'
  static override strict = false
  static override args = {names: Args.string({description: 'Signal model names (entity class or table).'})}
  static override flags = flushFlags
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> OrderCreated PaymentSignal --burst 1000',
    '<%= config.bin %> <%= command.id %> --repeat 5 --data-source dist/data-source.js',
  ]

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Flushmany)
    const names = [...(argv as string[]), ...(flags.models ?? [])]
    await this.runFlushing(flags, names, {mode: 'flushmany'})
  }
}
