/**
 * A node keeps its identity and its datastore across restarts, refuses an identity key that other
 * users can read, and a second process on the same data directory is told it is in use.
 */
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { IonetNode } from '../../src/node/ionet-node.js'
import { dataDirLayout } from '../../src/node/data-dir.js'

describe('data directory', () => {
  const dirs: string[] = []
  afterAll(async () => { await Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true }))) })

  async function fresh (): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'ionet-persist-'))
    dirs.push(dir)
    return dir
  }

  const options = (dataDir: string) => ({ dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })

  it('keeps the peer id and the datastore across restarts', async () => {
    const dir = await fresh()
    const first = await IonetNode.create(options(dir))
    await first.start()
    const peerId = first.peerId
    await first.libp2p.peerStore.merge(first.libp2p.peerId, { tags: { remembered: { value: 42 } } })
    await first.stop()
    expect((await stat(dataDirLayout(dir).identityKey)).mode & 0o777).toBe(0o600)

    const second = await IonetNode.create(options(dir))
    await second.start()
    expect(second.peerId).toBe(peerId)
    expect((await second.libp2p.peerStore.get(second.libp2p.peerId)).tags.get('remembered')?.value).toBe(42)
    await second.stop()
  })

  it('refuses an identity key other users can read', async () => {
    const dir = await fresh()
    const node = await IonetNode.create(options(dir))
    await node.stop()
    await chmod(dataDirLayout(dir).identityKey, 0o644)
    await expect(IonetNode.create(options(dir))).rejects.toMatchObject({ code: 'ERR_DATA_DIR', message: expect.stringContaining('chmod 600') })
  })

  it('tells a second process that the data directory is in use', async () => {
    const dir = await fresh()
    const node = await IonetNode.create(options(dir))
    await expect(IonetNode.create(options(dir))).rejects.toMatchObject({ code: 'ERR_DATA_DIR', message: expect.stringContaining('in use by another ionet-p2p process') })
    await node.stop()
  })
})
