// lib: what optd's real-browser tests share, and their runner.
//
// Each test starts the real optd binary on a free loopback port with a
// scratch database (OPTD_ADMIN_KEY fixed, so admin calls need no
// scraping) and drives Debian's Chromium (/usr/bin/chromium, headless)
// through playwright-core. Chromium is kept on this machine: every host
// name resolves to nothing, and its background services are off, so the
// only server it reaches is the optd on 127.0.0.1.
//
//   node tests/browser/lib.mjs OPTD_BIN tests/browser/test_*.mjs
//
// runs every exported function whose name starts with "test" in each
// file, prints one line per test and ends with "N passed, N failed"
// (exit status 1 when a test failed).
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

export const ADMIN_KEY = 'optd_browser_admin_key_0123456789abcdef';
export const CHROMIUM = '/usr/bin/chromium';
const READY_MS = 20000;
const TEST_MS = 120000;

export function freePort() {
  return new Promise((ok, fail) => {
    const s = net.createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

// An optd of its own: { url, port, dir, admin(), log(), stop() }.
export async function startOptd(bin = process.env.OPTD_BIN) {
  const dir = mkdtempSync(join(tmpdir(), 'optd-browser-'));
  const port = await freePort();
  const log = join(dir, 'optd.log');
  const out = openSync(log, 'a');
  const proc = spawn(resolve(bin), ['serve', '--listen', '127.0.0.1',
    '--port', String(port), '--db', join(dir, 'optd.db')], {
    cwd: dir, // the log SMS provider writes optd-sms.log here
    env: { ...process.env, OPTD_ADMIN_KEY: ADMIN_KEY },
    stdio: ['ignore', out, out],
  });
  const url = `http://127.0.0.1:${port}`;
  const o = {
    url, port, dir, proc,
    log: () => readFileSync(log, 'utf8'),
    admin: (method, path, body) => call(url, method, path, body, ADMIN_KEY),
    async stop() {
      if (proc.exitCode === null) {
        const done = new Promise((ok) => proc.once('exit', ok));
        proc.kill('SIGTERM');
        await Promise.race([done, sleep(15000)]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      const text = o.log();
      for (const mark of ['ERROR: AddressSanitizer', 'runtime error:',
        'ERROR: LeakSanitizer']) {
        if (text.includes(mark)) throw new Error(`sanitizer report:\n${text}`);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (const t0 = Date.now(); Date.now() - t0 < READY_MS; await sleep(50)) {
    if (proc.exitCode !== null) throw new Error(`optd exited: ${o.log()}`);
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) return o;
    } catch { /* not listening yet */ }
  }
  await o.stop();
  throw new Error('optd did not become ready');
}

// One HTTP call; the answer as { status, json, text }.
export async function call(url, method, path, body, key) {
  const headers = {};
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(url + path, {
    method, headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text };
}

export async function launch() {
  const args = ['--disable-background-networking', '--disable-sync',
    '--disable-component-update', '--disable-default-apps',
    '--no-first-run', '--no-pings', '--disable-domain-reliability',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'];
  // Chromium's sandbox needs user namespaces it cannot have as root.
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

export function expect(cond, what, detail) {
  if (!cond) {
    throw new Error(what + (detail === undefined ? ''
      : `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`));
  }
}

async function main(bin, files) {
  let passed = 0;
  let failed = 0;
  process.env.OPTD_BIN = bin;
  for (const file of files) {
    const mod = await import(pathToFileURL(resolve(file)).href);
    for (const name of Object.keys(mod).filter((n) => n.startsWith('test')).sort()) {
      const full = `${basename(file, '.mjs')}.${name}`;
      const t0 = Date.now();
      let timer;
      try {
        await Promise.race([mod[name](), new Promise((_, fail) => {
          timer = setTimeout(() => fail(new Error('timed out')), TEST_MS);
        })]);
        passed++;
        console.log(`ok    ${full.padEnd(50)} ${((Date.now() - t0) / 1000).toFixed(2)}s`);
      } catch (e) {
        failed++;
        console.log(`FAIL  ${full}\n${e && e.stack ? e.stack : e}`);
      } finally {
        clearTimeout(timer);
      }
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [bin, ...files] = process.argv.slice(2);
  if (!bin || !files.length) {
    console.error('usage: node lib.mjs OPTD_BIN test_*.mjs...');
    process.exit(2);
  }
  main(bin, files).then((rc) => process.exit(rc), (e) => {
    console.error(e);
    console.log('0 passed, 1 failed');
    process.exit(1);
  });
}
