// --verbose stack traces of a TypeScript data source name the .ts file's own lines (inline source maps of the
// compiled output, with Node's source maps turned on for --verbose only), with either transpiler.
import {expect} from 'chai'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {runCli} from '../helpers/run-cli.js'

const THROWS_AT_LINE_5 = `interface Settings {
  retries: number
}
export function fail(settings: Settings): never {
  throw new Error(\`boom after \${settings.retries} retries\`)
}
fail({retries: 3})
`

describe('TypeScript data sources in --verbose stack traces', function () {
  this.timeout(60_000)
  let project: string

  before(async () => {
    project = await mkdtemp(path.join(tmpdir(), 'signalbus-ts-stacks-'))
    await writeFile(path.join(project, 'package.json'), JSON.stringify({name: 'stacks'}))
    await writeFile(path.join(project, 'data-source.ts'), THROWS_AT_LINE_5)
  })

  after(async () => {
    if (project) await rm(project, {recursive: true, force: true})
  })

  for (const transpiler of ['swc', 'typescript']) {
    it(`point at the line and column of the .ts source (${transpiler})`, async () => {
      const file = path.join(project, 'data-source.ts')
      const env = {SIGNALBUS_TRANSPILER: transpiler, SIGNALBUS_TS_CACHE_DIR: 'off'}
      const result = await runCli(['signals', '--verbose', '-d', file], {cwd: project, env})
      expect(result.code).to.equal(2)
      expect(result.stderr).to.include('Caused by: Error: boom after 3 retries')
      expect(result.stderr).to.include(`at fail (${file}:5:9)`)
      expect(result.stderr).to.include(`${file}:7:1)`)
    })
  }

  it('without --verbose, one line', async () => {
    const result = await runCli(['signals', '-d', path.join(project, 'data-source.ts')], {cwd: project})
    expect(result.code).to.equal(2)
    expect(result.stderrLines).to.have.length(1)
    expect(result.stderrLines[0]).to.match(/^Error: Could not load data source file ".*data-source\.ts": boom after 3 retries /)
  })
})
