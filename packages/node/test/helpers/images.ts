/** Test images beside helpers/containers.ts's busybox: saved as archives, or made of one file. */
import { spawnSync } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type Docker from 'dockerode'

/** Saves an image of the engine as a `docker save` archive. */
export async function saveImage (docker: Docker, image: string, file: string): Promise<void> {
  const stream = await docker.getImage(image).get()
  await pipeline(stream, createWriteStream(file))
}

/** A one-file image (its own content, so its own layer and id), imported into the engine. */
export async function fileImage (docker: Docker, work: string, name: string, content: string): Promise<string> {
  const root = join(work, `${name}-root`)
  spawnSync('mkdir', ['-p', root])
  await writeFile(join(root, `${name}.txt`), content)
  const tarball = join(work, `${name}.tar`)
  if (spawnSync('tar', ['-C', root, '-cf', tarball, '.']).status !== 0) throw new Error('tar failed')
  const progress = await docker.importImage(tarball, { repo: `localhost/ionet-test-${name}`, tag: 'latest' })
  await new Promise((resolve, reject) => { docker.modem.followProgress(progress, (err: Error | null) => { if (err !== null) reject(err); else resolve(undefined) }) })
  const image = await docker.getImage(`localhost/ionet-test-${name}:latest`).inspect()
  return image.Id.startsWith('sha256:') ? image.Id : `sha256:${image.Id}`
}

