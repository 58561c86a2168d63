// The debounced wake-up of --listen on its own: a notification ends the sleep shortly after, several fold
// into one, one that came during the round ends the next sleep at once, and a stop is never missed.
import {expect} from 'chai'
import {WakeUp} from '../../src/index.js'

const timed = async (sleeping: Promise<void>): Promise<number> => {
  const started = performance.now()
  await sleeping
  return performance.now() - started
}

describe('WakeUp', function () {
  it('ends the sleep shortly after the first notification, folding the ones that follow', async function () {
    const wakeUp = new WakeUp(20)
    const sleeping = timed(wakeUp.sleep(5000))
    setTimeout(() => wakeUp.notify(), 30)
    setTimeout(() => wakeUp.notify(), 40)
    const slept = await sleeping
    expect(slept).to.be.within(45, 500)
    expect(await timed(wakeUp.sleep(150)), 'both notifications were used up').to.be.at.least(140)
  })

  it('remembers a notification from during the round', async function () {
    const wakeUp = new WakeUp(20)
    wakeUp.notify()
    expect(await timed(wakeUp.sleep(5000))).to.be.below(500)
  })

  it('returns at once when the loop was stopped during the round', async function () {
    const controller = new AbortController()
    controller.abort()
    expect(await timed(new WakeUp().sleep(5000, controller.signal))).to.be.below(100)
    const later = new AbortController()
    const sleeping = timed(new WakeUp().sleep(5000, later.signal))
    setTimeout(() => later.abort(), 20)
    expect(await sleeping).to.be.below(500)
  })
})
