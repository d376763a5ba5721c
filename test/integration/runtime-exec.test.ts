/**
 * The tool runtimes on real processes: docker exec in a container of the test image (through the
 * Engine API) and execa on this machine. Same interface, same behaviour: argv kept apart, stdout and
 * stderr separated line by line, raw bytes to a file, stdin, secrets only in the environment, and a
 * cancel that really ends the process (in the container too, not only the stream).
 */
import { isCancelled } from '../../src/core/errors/error';
import assert from 'node:assert/strict';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ContainerRuntime, HostRuntime, type ToolRuntime } from '../../src/core/runtime';
import { useIdleContainer } from '../support/idle-container';

const SECRET = 'never-in-argv-9f3a';

function behaves(name: string, make: () => ToolRuntime) {
  describe(`${name}`, () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'tsdbops-rt-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('keeps each argv element whole (no shell) and separates stdout from stderr, line by line', async () => {
      const out: string[] = [];
      const err: string[] = [];
      const r = await make().run(
        ['sh', '-c', 'printf "%s\\n" "$1" "two"; echo oops >&2; exit 3', 'sh', 'a b; $(rm -rf /) "quoted"'],
        {
          onStdoutLine: (l) => out.push(l),
          onStderrLine: (l) => err.push(l),
        },
      );
      assert.equal(r.exitCode, 3);
      assert.deepEqual(out, ['a b; $(rm -rf /) "quoted"', 'two']);
      assert.deepEqual(err, ['oops']);
      assert.deepEqual(r.stderrTail, ['oops']);
    });

    it('writes raw stdout bytes to a stream (a dump to its file), exactly', async () => {
      const file = join(dir, `${name.replace(/\W/g, '')}.bin`);
      const ws = createWriteStream(file);
      const r = await make().run(['head', '-c', '3000000', '/dev/zero'], { stdout: ws });
      await new Promise<void>((res) => ws.end(res));
      assert.equal(r.exitCode, 0);
      assert.equal(statSync(file).size, 3_000_000);
    });

    it('feeds stdin and passes secrets through the environment only', async () => {
      const r = await make().run(
        ['sh', '-c', 'cat; test -n "$PGPASSWORD" && echo "len ${#PGPASSWORD}"; cat /proc/$$/cmdline | tr "\\0" " "'],
        {
          stdin: Readable.from(['line from stdin\n']),
          env: { PGPASSWORD: SECRET },
        },
      );
      assert.equal(r.exitCode, 0);
      assert.equal(r.stdoutLines[0], 'line from stdin');
      assert.equal(r.stdoutLines[1], `len ${SECRET.length}`);
      assert.ok(!r.stdoutLines.join('\n').includes(SECRET), 'the secret is not in the process argv');
    });

    it('a cancel ends the process itself and rejects with a CancelledError naming the tool', async () => {
      const rt = make();
      // A unique sleep duration marks the process; the bracket keeps the search from finding itself.
      const digits = String(Math.floor(Math.random() * 1e6)).padStart(6, '0');
      const running = async () => {
        const r = await rt.run(['sh', '-c', 'grep -ls -e "$0" /proc/[0-9]*/cmdline || true', `30[0]\\.${digits}`]);
        return r.stdoutLines.filter(Boolean).length > 0;
      };
      const ac = new AbortController();
      const started = Date.now();
      const p = rt.run(['sleep', `300.${digits}`], { signal: ac.signal });
      let seen = false;
      for (let i = 0; i < 50 && !seen; i++) {
        await new Promise((r) => setTimeout(r, 100));
        seen = await running();
      }
      assert.ok(seen, 'the process was running');
      ac.abort();
      await assert.rejects(p, (e: unknown) => isCancelled(e) && e.facts.argv !== undefined);
      assert.ok(Date.now() - started < 15_000);
      let gone = false;
      for (let i = 0; i < 50 && !gone; i++) {
        gone = !(await running());
        if (!gone) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(gone, 'the cancelled process no longer runs');
    });
  });
}

describe('tool runtimes on real processes', function () {
  this.timeout(300_000);
  const idle = useIdleContainer('runtime-exec');

  behaves(
    'ContainerRuntime (docker exec through the Engine API)',
    () => new ContainerRuntime(idle.client(), idle.container().id, 'test container'),
  );
  behaves('HostRuntime (execa on this machine)', () => new HostRuntime());

  it("ContainerRuntime runs as postgres by default, like the guide's docker exec -u postgres", async () => {
    const r = await new ContainerRuntime(idle.client(), idle.container().id, 'test container').run(['id', '-un']);
    assert.equal(r.stdoutLines[0], 'postgres');
  });

  it('a missing tool is an exit code, not a hang', async () => {
    const r = await new ContainerRuntime(idle.client(), idle.container().id, 'test container').run([
      'no-such-tool-xyz',
    ]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderrTail.join('\n'), /no-such-tool-xyz/);
    void readFileSync;
  });
});
