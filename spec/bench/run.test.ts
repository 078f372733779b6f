// End-to-end: the harness runs under Bun, so it is driven as a child process.
// Against the C reference relay (built into /tmp) until bin/server.ts exists.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';

const root = path.resolve(import.meta.dirname, '../..');
const bun = path.resolve(root, 'node_modules/.bin/bun');
const relaySrc = [path.resolve(root, '../shared/peers/c_relay.c'), '/work/shared/peers/c_relay.c'].find(existsSync);

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(bun, ['bench/main.ts', ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** Resolves once the relay printed its start line. */
function waitStarted(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      if (/listening on/.test(out)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`relay exited early (${code})`)));
  });
}

t.test('bad flag: one error line plus usage, exit 2, no stack', async (t) => {
  const r = await runBench(['--clients', 'lots']);
  t.equal(r.code, 2);
  t.match(r.stderr, /^bench: --clients must be an integer/m);
  t.match(r.stderr, /usage: bun bench/);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

t.test('refused target: clear error, exit 1', async (t) => {
  const port = await freePort(); // closed again: nothing listens there
  const r = await runBench(['--target', `127.0.0.1:${port}`, '--scenario', 'fanout']);
  t.equal(r.code, 1);
  t.match(r.stderr, new RegExp(`bench: cannot connect to 127.0.0.1:${port}`));
});

const hasCc = spawnSync('cc', ['--version']).status === 0;
t.test('tiny fanout run against the C relay: accounting is consistent', { skip: !hasCc ? 'no C compiler (cc) to build the reference relay' : !relaySrc ? 'c_relay.c not found in ../shared/peers' : false }, async (t) => {
  const bin = path.join(mkdtempSync(path.join(tmpdir(), 'bench-run-')), 'c_relay');
  const cc = spawnSync('cc', ['-O2', '-o', bin, relaySrc as string], { encoding: 'utf8' });
  t.equal(cc.status, 0, cc.stderr);
  const port = await freePort();
  const relay = spawn(bin, ['127.0.0.1', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => relay.kill());
  await waitStarted(relay);
  const svg = path.join(tmpdir(), `bench-run-${process.pid}.svg`);
  const r = await runBench(['--scenario', 'connect,fanout,latency', '--clients', '20', '--senders', '2', '--duration', '1', '--json', '--svg', svg, '--target', `127.0.0.1:${port}`]);
  t.equal(r.code, 0, r.stderr);
  const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.same(results.map((x) => x.scenario), ['connect', 'fanout', 'latency']);
  for (const x of results) {
    t.equal(x.status, 'ok', `${x.scenario} ran`);
    const a = x.accounting;
    t.equal(a.lost, 0, `${x.scenario}: no losses`);
    t.equal(a.duplicates, 0, `${x.scenario}: no duplicates`);
    t.equal(a.orderViolations, 0, `${x.scenario}: no order violations`);
    t.equal(a.delivered, a.expected, `${x.scenario}: delivered = expected`);
  }
  const connect = results[0];
  t.equal(connect.accounting.expected, (20 * 19) / 2, 'N(N-1)/2 join notices');
  for (const x of results.slice(1)) {
    t.ok(x.accounting.sent > 0, `${x.scenario} sent something`);
    t.equal(x.accounting.expected, x.accounting.sent * (20 - 1), `${x.scenario}: expected = sent x receivers`);
    t.equal(x.latencyUs.count, x.accounting.delivered, 'one latency sample per delivery');
  }
  t.ok(existsSync(svg), 'svg written');
});
