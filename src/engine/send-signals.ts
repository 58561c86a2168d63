// Hands a burst to the model: the static batch method when there is more than one signal (or when the
// model has no instance method), otherwise the instance method, one signal after another.
import type {SignalInstance, SignalModel} from '../signal-model.js'

/**
 * The instance method failed on the signal at index `delivered`: each signal before it had resolved, that is,
 * the broker had stored it. `cause` is what the method threw.
 */
export class OneByOneSendFailure extends Error {
  override name = 'OneByOneSendFailure'
  constructor(
    readonly delivered: number,
    options: {cause: unknown},
  ) {
    super('a signal sent on its own failed', options)
  }
}

export async function sendSignals(model: SignalModel, signals: object[]): Promise<void> {
  const useBatch = model.sendsInBatches && (signals.length > 1 || !model.sendsOneByOne)
  if (useBatch) {
    await model.target.sendSignalbusMessages!(signals)
    return
  }
  const instances = signals as SignalInstance[]
  for (let index = 0; index < instances.length; index++) {
    try {
      await instances[index]!.sendSignalbusMessage!()
    } catch (error) {
      throw new OneByOneSendFailure(index, {cause: error})
    }
  }
}
