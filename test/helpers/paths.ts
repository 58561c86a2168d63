// Where the repository is, seen from a compiled test file (test-dist/test/helpers/paths.js).
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
