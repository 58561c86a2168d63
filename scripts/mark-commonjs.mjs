// Marks a build directory as CommonJS (the package itself is "type": "module"), so that Node loads its .js
// files with require() and TypeScript reads its .d.ts files as CommonJS declarations.
import {writeFileSync} from 'node:fs'
import path from 'node:path'

const directory = process.argv[2]
if (!directory) throw new Error('usage: node scripts/mark-commonjs.mjs DIRECTORY')
writeFileSync(path.join(directory, 'package.json'), `${JSON.stringify({type: 'commonjs'}, null, 2)}\n`)
