import assert from 'node:assert/strict';
import { fsErrorCode, type FileSystem } from '../fs/file-system.js';

/** A file system to test, rooted at an existing empty directory. */
export interface FileSystemFixture {
  fs: FileSystem;
  root: string;
  cleanup(): Promise<void> | void;
  /**
   * Whether the handles `fs.openAppend` returns have `extendWithZeros`, which the interface leaves
   * optional (default true). When false, the case that checks its behaviour checks its absence instead.
   */
  extendsWithZeros?: boolean;
}

/**
 * The functions of a test framework the suite registers its cases with: vitest's, node:test's and
 * mocha's all fit, so durable-kv needs no test framework at run time.
 */
export interface ContractTestFunctions {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: () => Promise<void>): unknown;
  beforeEach(body: () => Promise<void>): unknown;
  afterEach(body: () => Promise<void>): unknown;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);
// Compare as text: the real file system hands out Buffers, the in-memory one plain Uint8Arrays.
const text = (data: Uint8Array): string => decoder.decode(data);

/** The code of the error `promise` rejects with ('no code' if it has none); undefined if it resolves. */
async function rejectionCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return fsErrorCode(error) ?? 'no code';
  }
  return undefined;
}

/**
 * Registers, with `test`'s functions, the behaviour every `FileSystem` must share: one `describe`
 * named `FileSystem contract: ${name}` whose cases each run on a fresh fixture from `makeFixture`
 * and call its `cleanup` afterwards. durable-kv runs it against both the real `NodeFileSystem` and
 * the `MemoryFileSystem`, which keeps the model from drifting away from what the disk actually
 * does; run it against your own `FileSystem` before handing that to a store.
 *
 * @example
 * ```ts
 * import { afterEach, beforeEach, describe, it } from 'vitest';
 * import { fileSystemContract } from 'durable-kv/testing';
 *
 * fileSystemContract('MyFileSystem', async () => {
 *   const fs = new MyFileSystem();
 *   await fs.mkdir('/contract');
 *   return { fs, root: '/contract', cleanup: () => fs.dispose() };
 * }, { describe, it, beforeEach, afterEach });
 * ```
 */
export function fileSystemContract(
  name: string,
  makeFixture: () => Promise<FileSystemFixture> | FileSystemFixture,
  test: ContractTestFunctions,
): void {
  const { describe, it, beforeEach, afterEach } = test;
  describe(`FileSystem contract: ${name}`, () => {
    let fixture: FileSystemFixture;
    let fs: FileSystem;
    const at = (relative: string): string => `${fixture.root}/${relative}`;

    async function writeFile(relative: string, content: string): Promise<void> {
      const handle = await fs.openAppend(at(relative), 'truncate');
      await handle.append(bytes(content));
      await handle.close();
    }

    beforeEach(async () => {
      fixture = await makeFixture();
      fs = fixture.fs;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    it('reads back appended bytes with readFile', async () => {
      const handle = await fs.openAppend(at('a'), 'new');
      await handle.append(bytes('hello '));
      await handle.append(bytes('world'));
      await handle.sync();
      await handle.close();
      assert.equal(text(await fs.readFile(at('a'))), 'hello world');
    });

    it("openAppend 'new' fails with EEXIST on an existing file", async () => {
      await writeFile('a', 'x');
      assert.equal(await rejectionCode(fs.openAppend(at('a'), 'new')), 'EEXIST');
    });

    it("openAppend 'truncate' empties an existing file", async () => {
      await writeFile('a', 'old content');
      const handle = await fs.openAppend(at('a'), 'truncate');
      await handle.close();
      assert.equal(await fs.size(at('a')), 0);
    });

    it("openAppend 'never' fails with ENOENT on a missing file", async () => {
      assert.equal(await rejectionCode(fs.openAppend(at('missing'), 'never')), 'ENOENT');
    });

    it("openAppend 'never' appends at the end of the existing data", async () => {
      await writeFile('a', 'abc');
      const handle = await fs.openAppend(at('a'), 'never');
      await handle.append(bytes('def'));
      await handle.close();
      assert.equal(text(await fs.readFile(at('a'))), 'abcdef');
    });

    it('extendWithZeros grows the file with zeros without moving the append position, and never shrinks it', async () => {
      for (const create of ['new', 'never'] as const) {
        if (create === 'never') await writeFile('b', '');
        const file = create === 'new' ? 'a' : 'b';
        const handle = await fs.openAppend(at(file), create);
        if (fixture.extendsWithZeros === false) {
          assert.equal(handle.extendWithZeros, undefined, 'the fixture says extendsWithZeros: false');
          await handle.close();
          continue;
        }
        assert.ok(handle.extendWithZeros, 'extendWithZeros is optional: a fixture without it says extendsWithZeros: false');
        await handle.append(bytes('ab'));
        await handle.extendWithZeros(6);
        assert.equal(await fs.size(at(file)), 6);
        await handle.append(bytes('cd'));
        await handle.extendWithZeros(3);
        await handle.append(bytes('ef'));
        await handle.extendWithZeros(10);
        await handle.append(bytes('g'));
        await handle.sync();
        await handle.close();
        assert.equal(text(await fs.readFile(at(file))), 'abcdefg\0\0\0', `openAppend '${create}'`);
      }
    });

    it('rename replaces an existing target and removes the source name', async () => {
      await writeFile('from', 'new');
      await writeFile('to', 'old');
      await fs.rename(at('from'), at('to'));
      assert.equal(text(await fs.readFile(at('to'))), 'new');
      assert.equal(await rejectionCode(fs.readFile(at('from'))), 'ENOENT');
    });

    it('rename of a missing file fails with ENOENT', async () => {
      assert.equal(await rejectionCode(fs.rename(at('missing'), at('to'))), 'ENOENT');
    });

    it('unlink removes the file, and fails with ENOENT when it is missing', async () => {
      await writeFile('a', 'x');
      await fs.unlink(at('a'));
      assert.equal(await rejectionCode(fs.readFile(at('a'))), 'ENOENT');
      assert.equal(await rejectionCode(fs.unlink(at('a'))), 'ENOENT');
    });

    it('truncate cuts the file to the given length', async () => {
      await writeFile('a', 'abcdef');
      await fs.truncate(at('a'), 2);
      assert.equal(text(await fs.readFile(at('a'))), 'ab');
      assert.equal(await fs.size(at('a')), 2);
    });

    it('size reports the byte length, or ENOENT', async () => {
      await writeFile('a', 'héllo'); // 6 bytes in UTF-8
      assert.equal(await fs.size(at('a')), 6);
      assert.equal(await rejectionCode(fs.size(at('missing'))), 'ENOENT');
    });

    it('readdir lists entry names, and fails with ENOENT on a missing directory', async () => {
      await writeFile('b', '');
      await writeFile('a', '');
      await fs.mkdir(at('sub/deeper'));
      assert.deepEqual((await fs.readdir(fixture.root)).sort(), ['a', 'b', 'sub']);
      assert.deepEqual(await fs.readdir(at('sub')), ['deeper']);
      assert.equal(await rejectionCode(fs.readdir(at('missing'))), 'ENOENT');
    });

    it('mkdir is idempotent', async () => {
      await fs.mkdir(at('d'));
      await fs.mkdir(at('d'));
      assert.deepEqual(await fs.readdir(at('d')), []);
    });

    it('readFile and openRead of a missing file fail with ENOENT', async () => {
      assert.equal(await rejectionCode(fs.readFile(at('missing'))), 'ENOENT');
      assert.equal(await rejectionCode(fs.openRead(at('missing'))), 'ENOENT');
    });

    it('openRead reads at a position and returns fewer bytes at the end of the file', async () => {
      await writeFile('a', '0123456789');
      const handle = await fs.openRead(at('a'));
      assert.equal(text(await handle.read(2, 3)), '234');
      assert.equal(text(await handle.read(7, 100)), '789');
      assert.equal((await handle.read(10, 5)).byteLength, 0);
      assert.equal((await handle.read(50, 5)).byteLength, 0);
      await handle.close();
    });

    it('hands out bytes the caller owns: later writes and reads do not change what readFile or read returned', async () => {
      // Readers keep views of what they read (no copy of a 64 MiB segment); this is what makes that safe.
      await writeFile('a', 'abcdef');
      const whole = await fs.readFile(at('a'));
      const handle = await fs.openRead(at('a'));
      const part = await handle.read(1, 3);
      const appender = await fs.openAppend(at('a'), 'never');
      await appender.append(bytes('ghi'));
      await appender.sync();
      await appender.close();
      await fs.readFile(at('a'));
      await handle.read(0, 9);
      await handle.close();
      assert.equal(text(whole), 'abcdef');
      assert.equal(text(part), 'bcd');
    });

    it('syncDir succeeds on an existing directory', async () => {
      await writeFile('a', 'x');
      assert.equal(await fs.syncDir(fixture.root), undefined);
    });

    it('lock creates the file if missing', async () => {
      const lock = await fs.lock(at('LOCK'));
      const names = await fs.readdir(fixture.root);
      assert.ok(names.includes('LOCK'), `readdir gave ${JSON.stringify(names)}`);
      await lock.release();
    });

    it('a second lock of the same path fails with ELOCKED', async () => {
      const lock = await fs.lock(at('LOCK'));
      assert.equal(await rejectionCode(fs.lock(at('LOCK'))), 'ELOCKED');
      await lock.release();
    });

    it('a released lock can be taken again', async () => {
      const first = await fs.lock(at('LOCK'));
      await first.release();
      const second = await fs.lock(at('LOCK'));
      await second.release();
    });

    it('release is idempotent and does not release a later holder', async () => {
      const first = await fs.lock(at('LOCK'));
      await first.release();
      const second = await fs.lock(at('LOCK'));
      await first.release();
      assert.equal(await rejectionCode(fs.lock(at('LOCK'))), 'ELOCKED');
      await second.release();
    });
  });
}
