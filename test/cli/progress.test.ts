import {expect} from 'chai'
import {execFile} from 'node:child_process'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {repoRoot} from '../helpers/paths.js'
import {TestDatabase} from '../helpers/test-database.js'

/** Runs the CLI on a pseudo-terminal (util-linux `script`), the way a person at a shell would; returns what the terminal showed. */
async function runOnTerminal(args: string[], env: Record<string, string>): Promise<string> {
  const command = [process.execPath, join(repoRoot, 'bin', 'run.js'), ...args].map((part) => `'${part}'`).join(' ')
  const {stdout} = await promisify(execFile)('script', ['-qfec', command, '/dev/null'], {
    env: {...process.env, TERM: 'xterm', ...env},
    timeout: 60_000,
  })
  return stdout
}

const COLOUR = /\x1b\[(3\d|9\d|1|2|22|39)m/

describe('flushmany progress on a terminal', () => {
  let db: TestDatabase

  beforeEach(async () => {
    db = await TestDatabase.create('postgres')
    await db.insertSignals(600)
  })

  afterEach(async () => {
    await db.destroy()
  })

  it('shows live progress (sent, rate, remaining) on a TTY, then clears it before the summary', async () => {
    const screen = await runOnTerminal(['flushmany', '-m', 'Signal', '--burst', '50'], db.env({SIGNALBUS_TEST_SEND_DELAY_MS: '60'}))
    expect(screen).to.match(/flushing.* \d+ sent · \d+\/s · ~\d+ remaining/)
    expect(screen).to.contain('\r\x1b[2K600 signals have been successfully processed.')
    expect(screen).to.match(COLOUR)
  })

  it('shows no colour with NO_COLOR, and no progress at all with --json', async () => {
    const plain = await runOnTerminal(['flushmany', '-m', 'Signal', '--burst', '50'], db.env({SIGNALBUS_TEST_SEND_DELAY_MS: '60', NO_COLOR: '1'}))
    expect(plain).to.contain('remaining')
    expect(plain).not.to.match(COLOUR)
    await db.insertSignals(300, 1000)
    const json = await runOnTerminal(['flushmany', '-m', 'Signal', '--burst', '50', '--json'], db.env({SIGNALBUS_TEST_SEND_DELAY_MS: '60'}))
    expect(json).not.to.contain('remaining')
    expect(JSON.parse(json.trim())).to.include({sent: 300})
  })
})
