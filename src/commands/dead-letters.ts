import {Args} from '@oclif/core'
import {SignalbusCommand} from '../cli/base-command.js'
import {renderDeadLetters} from '../cli/render.js'

export default class DeadLettersCommand extends SignalbusCommand {
  static override summary = 'List the signals moved to the dead letters after failing signalbusMaxAttempts times.'
  static override description =
    'Needs the tables of `signalbus setup --apply`. Keys are shown the way `signalbus requeue --key` takes them.'
  static override strict = false
  static override args = {names: Args.string({description: 'Signal model names (entity class or table).'})}
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> OrderShipped --json']

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(DeadLettersCommand)
    const names = [...(argv as string[]), ...(flags.models ?? [])]
    const deadLetters = await this.withSignalBus(flags, names, (signalbus, models) => signalbus.deadLetters(models))
    renderDeadLetters(this.out, deadLetters, flags.json)
  }
}
