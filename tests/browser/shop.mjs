// shop: what the capture widget's and the Braze Web SDK's browser tests
// share (docs/sdk.md).
//
// A brand's page lives on an origin of its own, as it would in real use:
// servePages() is a small HTTP server on another loopback port, so every
// call from the page to optd is cross-origin and goes through CORS.
// It also serves the npm package @braze/web-sdk, unmodified, from
// tests/browser/node_modules under /web-sdk/. withShop() starts an optd
// set up for the seed's Option 2 (docs/flows.md): an SMS group, a REST
// key, the flow that subscribes whoever logs phone_number_captured and
// sends the confirmation, and an SDK key for the page's origin.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, freePort, launch, startOptd } from './lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DOCS = join(HERE, '..', '..', 'docs');
const WEB_SDK = join(HERE, 'node_modules', '@braze', 'web-sdk');
export const NUMBER = '+15550001111'; // the group's sending number
export const GROUP = 'promo';
const TYPES = { '.js': 'text/javascript', '.html': 'text/html',
  '.json': 'application/json' };

// pages[path] (HTML text; the caller may add pages later) and the SDK's
// files: { url, pages, close }.
export async function servePages(pages = {}) {
  const port = await freePort();
  const server = http.createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    let body = pages[path];
    let type = 'text/html; charset=utf-8';
    if (body === undefined && path.startsWith('/web-sdk/')) {
      const file = normalize(join(WEB_SDK, path.slice('/web-sdk/'.length)));
      if (file.startsWith(WEB_SDK)) {
        body = await readFile(file).catch(() => undefined);
        type = TYPES[extname(file)] || 'application/octet-stream';
      }
    }
    if (path === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    res.writeHead(body === undefined ? 404 : 200, { 'Content-Type': type });
    res.end(body === undefined ? 'not found' : body);
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${port}`, pages,
    close: () => new Promise((ok) => server.close(ok)),
  };
}

// A shop's page around `inner` (the widget's tag, or a module script).
export function shopPage(inner) {
  const product = (name, price, color) => `<article><div class="pic"
    style="background:${color}"></div><h3>${name}</h3><p>${price}</p>
    <a href="#">Add to cart</a></article>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Outdoor</title><style>
body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#222;background:#f6f5f2}
header{background:#223a2c;color:#fff;padding:16px 24px;font-weight:700;
font-size:20px}nav a{color:#fff;margin-left:16px;font-weight:400;font-size:16px}
.hero{padding:40px 24px;background:#dfe7dc}.hero h1{margin:0 0 8px;font-size:32px}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));
gap:24px;padding:24px}article{background:#fff;border-radius:8px;padding:16px}
.pic{height:140px;border-radius:6px}article a{color:#223a2c}
</style></head><body>
<header>Acme Outdoor <nav><a href="#">Shop</a><a href="#">Stories</a></nav>
</header><section class="hero"><h1>Ready for the trail</h1>
<p>Light packs, warm layers, boots that last.</p></section>
<main>${product('Ridge 30 pack', '$129', '#8aa38b')}
${product('Down vest', '$149', '#c9a66b')}
${product('Trail boots', '$189', '#7b6a58')}
${product('Camp mug', '$18', '#9bb6c9')}</main>
${inner}</body></html>`;
}

// optd set up for Option 2 with an SDK key for `origin`; fn(o, browser,
// sdkKey), then everything is stopped.
export async function withShop(origin, fn, { keyOrigins } = {}) {
  const o = await startOptd();
  let browser;
  try {
    let r = await o.admin('POST', '/admin/subscription_groups', {
      id: GROUP, name: 'Acme Outdoor', channel: 'sms', numbers: [NUMBER],
    });
    expect(r.status === 201, 'group', r.text);
    r = await o.admin('POST', '/admin/api_keys', {
      name: 'flows', scopes: ['subscription.status.set'],
    });
    expect(r.status === 201, 'REST key', r.text);
    const body = `{"subscription_group_id":"${GROUP}",` +
      '"subscription_state":"subscribed","external_id":"{{${user_id}}}",' +
      '"phone":"{{canvas_entry_properties.${phone_number}}}"}';
    r = await o.admin('POST', '/admin/flows', {
      id: 'seed-option-2', name: 'Phone captured: subscribe and confirm',
      entry: { event: 'phone_number_captured' },
      audience: { all: [{ attribute: 'external_id', op: 'is_not_blank' }] },
      steps: [
        { type: 'webhook', method: 'POST',
          url: `${o.url}/subscription/status/set`,
          headers: { 'Content-Type': 'application/json',
            Authorization: `Bearer ${r.json.key}` }, body },
        { type: 'sms', group_id: GROUP,
          body: 'Acme Outdoor: thanks {{${first_name} | default: ' +
            '"for signing up"}}! Reply STOP to cancel.' }],
    });
    expect(r.status === 201, 'flow', r.text);
    r = await o.admin('POST', '/admin/api_keys', {
      name: 'shop-web', sdk: true, origins: keyOrigins || [origin],
    });
    expect(r.status === 201, 'SDK key', r.text);
    browser = await launch();
    await fn(o, browser, r.json.key);
  } finally {
    if (browser) await browser.close();
    await o.stop();
  }
}

export async function waitFor(fn, what, ms = 15000) {
  let last;
  for (const t0 = Date.now(); Date.now() - t0 < ms;) {
    last = await fn();
    if (last) return last;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`${what} not reached in ${ms} ms (last: ${JSON.stringify(last)})`);
}

// What Option 2 leaves behind for `user` with `phone`: the run done, the
// user subscribed, the confirmation sent. The message.
export async function optedIn(o, user, phone) {
  const run = await waitFor(async () => {
    const r = await o.admin('GET', '/admin/flows/seed-option-2/runs');
    return r.json.runs.find((x) => x.state === 'done' || x.state === 'failed');
  }, 'the flow run ends');
  expect(run.state === 'done', 'the run is done', run);
  const st = await o.admin('GET', '/subscription/status/get?' +
    new URLSearchParams({ subscription_group_id: GROUP, external_id: user }));
  expect(st.json.status[user] === 'Subscribed', 'subscribed', st.text);
  return waitFor(async () => {
    const r = await o.admin('GET', '/admin/messages?' +
      new URLSearchParams({ to: phone }));
    return r.json.messages.find((m) => m.state === 'sent');
  }, 'the confirmation SMS is sent');
}

export async function events(o, user) {
  const r = await o.admin('GET', `/admin/users/${user}/events`);
  return r.status === 200 ? r.json.events : [];
}
