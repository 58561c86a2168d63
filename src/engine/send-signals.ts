// Hands a burst to the model: the static batch method when there is more than one signal (or when the
// model has no instance method), otherwise the instance method.
import type {SignalInstance, SignalModel} from '../signal-model.js'

export async function sendSignals(model: SignalModel, signals: object[]): Promise<void> {
  const useBatch = model.sendsInBatches && (signals.length > 1 || !model.sendsOneByOne)
  if (useBatch) {
    await model.target.sendSignalbusMessages!(signals)
    return
  }
  for (const signal of signals as SignalInstance[]) await signal.sendSignalbusMessage!()
}
