import {Args, Flags} from '@oclif/core'
import {SignalbusCommand} from '../cli/base-command.js'
import {ExitCode} from '../cli/exit-codes.js'
import {renderRequeue} from '../cli/render.js'
import {keysToRequeue} from '../dead-letters/index.js'

export default class Requeue extends SignalbusCommand {
  static override summary = 'Put dead letters back into their tables with their original values, to be sent again.'
  static override description =
    'One transaction per signal; its attempt count starts again from 0. --key takes the value of a one-column key ' +
    '(or column=value), and column=value,column=value for a composite key; it needs exactly one model.'
  static override strict = false
  static override args = {names: Args.string({description: 'Signal model names (entity class or table).'})}
  static override flags = {
    key: Flags.string({summary: 'The key of a dead letter to requeue (repeatable).', multiple: true, helpValue: '<key>'}),
    all: Flags.boolean({summary: 'Requeue every dead letter of the models.', default: false}),
  }
  static override examples = [
    '<%= config.bin %> <%= command.id %> OrderShipped --key 250 --key 251',
    '<%= config.bin %> <%= command.id %> ShardedSignal --key shard=2,seq=17',
    '<%= config.bin %> <%= command.id %> --all',
  ]

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Requeue)
    const names = [...(argv as string[]), ...(flags.models ?? [])]
    const selection = {keyArguments: flags.key ?? [], all: flags.all}
    const report = await this.withSignalBus(flags, names, (signalbus, models) =>
      signalbus.requeue(models, {keys: keysToRequeue(models, selection), all: flags.all, strict: flags.strict}),
    )
    renderRequeue(this.out, report, flags.json)
    if (report.failed.length > 0) this.exit(ExitCode.runtimeFailure)
  }
}
