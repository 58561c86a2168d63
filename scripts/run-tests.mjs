// Runs the test suite on typeorm 1.x (test-dist/) and the behaviour tests on typeorm 0.3 (test-dist-typeorm-0.3/)
// at the same time: the two trees share no tables or queues, and the 0.3 specs never touch the broker (whose
// fault tests are global), so running them side by side halves the wait. The 1.x output streams; the 0.3
// output is printed when both are done, so that neither is interleaved with the other.
import {spawn} from 'node:child_process'

function run(command, args, {capture}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit', env: process.env})
    const chunks = []
    if (capture) {
      child.stdout.on('data', (chunk) => chunks.push(chunk))
      child.stderr.on('data', (chunk) => chunks.push(chunk))
    }
    child.on('close', (code, signal) => resolve({code: code ?? (signal ? 1 : 0), output: Buffer.concat(chunks).toString('utf8')}))
  })
}

const [current, typeorm03] = await Promise.all([
  run('npx', ['mocha', 'test-dist/test/**/*.test.js'], {capture: false}),
  run('npm', ['run', '--silent', 'test:typeorm-0.3'], {capture: true}),
])
process.stdout.write('\n=== The behaviour tests on typeorm 0.3 (ran beside the suite above)\n')
process.stdout.write(typeorm03.output)
if (current.code !== 0 || typeorm03.code !== 0) {
  process.stderr.write(`Tests failed: typeorm 1.x suite exit ${current.code}, typeorm 0.3 suite exit ${typeorm03.code}\n`)
  process.exit(1)
}
