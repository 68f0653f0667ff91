// Regenerates src/gen/messages.ts from proto/messages.proto with protons.
//
// messages.proto imports protons.proto only so that protoc and other standard tools know the
// `(protons.options).limit` option. protons would also generate code for everything an import
// brings in (the `protons` and `google.protobuf` packages), and it needs no declaration to read
// the option, so it is given a copy of messages.proto without that one import.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generate } from 'protons'

const IMPORT = /^import "protons\.proto";\n/m
const source = await readFile('proto/messages.proto', 'utf8')
if (!IMPORT.test(source)) throw new Error('proto/messages.proto no longer imports "protons.proto"; update scripts/generate.mjs')
const dir = await mkdtemp(join(tmpdir(), 'ionet-protons-'))
try {
  await writeFile(join(dir, 'messages.proto'), source.replace(IMPORT, ''))
  await generate(join(dir, 'messages.proto'), { output: 'src/gen' })
} finally {
  await rm(dir, { recursive: true, force: true })
}
