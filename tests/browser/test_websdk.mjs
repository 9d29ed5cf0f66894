// test_websdk: the unmodified Braze Web SDK (npm @braze/web-sdk, pinned
// in package.json) on a brand's page, with optd as its backend
// (docs/sdk.md).
//
// The page initialises the SDK with baseUrl pointing at optd and an optd
// SDK key, names its user with changeUser, sets attributes, and on its
// own sign-up form calls setPhoneNumber and logs phone_number_captured.
// optd must answer so the SDK is content: no error in the console, every
// call a 2xx, no request repeated; and the event must start the seed's
// Option 2 flow as /users/track would. When optd refuses (an origin the
// key does not list, the budget spent), the SDK backs off instead of
// retrying in a loop.
import { expect } from './lib.mjs';
import { events, optedIn, servePages, shopPage, waitFor,
  withShop } from './shop.mjs';

// The brand's page: the SDK for `user`, and a form of its own.
function sdkPage(optdUrl, key, user) {
  return shopPage(`<form id="texts" style="padding:0 24px 24px">
<label for="phone">Mobile number for trail news</label>
<input id="phone" type="tel" autocomplete="tel">
<button>Text me</button></form>
<p id="state" style="padding:0 24px"></p>
<script type="module">
import * as braze from '/web-sdk/src/index.js';
braze.initialize(${JSON.stringify(key)},
  { baseUrl: ${JSON.stringify(optdUrl)}, enableLogging: true });
braze.changeUser(${JSON.stringify(user)});
const me = braze.getUser();
me.setFirstName('Ada');
me.setEmail('ada@example.com');
me.setCustomUserAttribute('plan', 'gold');
braze.openSession();
document.getElementById('texts').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const phone = document.getElementById('phone').value;
  braze.getUser().setPhoneNumber(phone);
  braze.logCustomEvent('phone_number_captured', { phone_number: phone });
  braze.requestImmediateDataFlush((ok) => {
    document.getElementById('state').textContent = ok ? 'sent' : 'failed';
  });
});
window.sdkReady = braze.isInitialized();
</script>`);
}

// The page for `user`, opened; what it said to optd and the console.
async function openSdkPage(browser, shop, o, key, user) {
  shop.pages['/'] = sdkPage(o.url, key, user);
  const page = await browser.newPage();
  const seen = { errors: [], calls: [], logs: [] };
  page.on('console', (m) => {
    (m.type() === 'error' ? seen.errors : seen.logs).push(m.text());
  });
  page.on('pageerror', (e) => seen.errors.push(String(e)));
  page.on('requestfinished', async (req) => {
    if (!req.url().startsWith(o.url)) return;
    const res = await req.response();
    seen.calls.push({ method: req.method(), path: new URL(req.url()).pathname,
      status: res ? res.status() : 0, at: Math.round(req.timing().startTime),
      retryAfter: res ? Number(await res.headerValue('retry-after')) : 0 });
  });
  page.on('requestfailed', (req) => {
    if (req.url().startsWith(o.url)) {
      seen.calls.push({ method: req.method(), path: new URL(req.url()).pathname,
        status: 0 });
    }
  });
  await page.goto(`${shop.url}/`);
  await page.waitForFunction(() => window.sdkReady === true);
  return { page, seen };
}

async function withSdkShop(fn, opts) {
  const shop = await servePages();
  try {
    await withShop(shop.url, (o, browser, key) => fn(o, browser, key, shop),
      opts);
  } finally {
    await shop.close();
  }
}

const posts = (seen) => seen.calls.filter((c) => c.method === 'POST');

export async function test1_sdk_opts_in_through_option_2() {
  await withSdkShop(async (o, browser, key, shop) => {
    const { page, seen } = await openSdkPage(browser, shop, o, key,
      'shopper-21');
    await page.getByLabel('Mobile number for trail news').fill('+12015550133');
    await page.getByRole('button', { name: 'Text me' }).click();
    await waitFor(async () => await page.textContent('#state') === 'sent',
      'the SDK flushed');
    const m = await optedIn(o, 'shopper-21', '+12015550133');
    expect(m.body === 'Acme Outdoor: thanks Ada! Reply STOP to cancel.',
      'the confirmation, with the first name the SDK set', m);

    const evs = await events(o, 'shopper-21');
    expect(evs.length === 1 && evs[0].name === 'phone_number_captured' &&
      evs[0].properties.phone_number === '+12015550133',
    'the custom event, and nothing of the session', evs);
    const u = await o.admin('GET', '/subscription/user/status?' +
      'external_id=shopper-21');
    expect(u.json.users[0].email === 'ada@example.com' &&
      u.json.users[0].phone === '+12015550133', 'the attributes', u.text);

    // Content: every call answered 2xx (preflights 204), no error, and
    // nothing sent again once the data is in.
    await page.waitForTimeout(3000);
    expect(seen.errors.length === 0, 'no error in the console', seen.errors);
    expect(seen.calls.length > 0 && seen.calls.every((c) =>
      c.status >= 200 && c.status < 300 && (c.path === '/api/v3/data/')),
    'only /api/v3/data/, all 2xx', seen.calls);
    expect(posts(seen).length >= 2 && posts(seen).length <= 4,
      'a few posts, no retries', seen.calls);
    expect(!seen.logs.some((l) => /Backend error|retr(y|ied)/i.test(l)),
      'the SDK logged no backend error or retry',
      seen.logs.filter((l) => /error|retr/i.test(l)));
  });
}

export async function test2_origin_the_key_does_not_list() {
  await withSdkShop(async (o, browser, key, shop) => {
    const { page, seen } = await openSdkPage(browser, shop, o, key,
      'shopper-22');
    await page.getByLabel('Mobile number for trail news').fill('+12015550134');
    await page.getByRole('button', { name: 'Text me' }).click();
    await waitFor(async () => await page.textContent('#state') === 'failed',
      'the SDK gives up for now');
    await page.waitForTimeout(3000);
    expect(seen.calls.every((c) => c.status === 0 || c.status === 403),
      'every call refused', seen.calls);
    expect(seen.calls.length <= 6, 'backing off, not a retry storm',
      seen.calls);
    expect((await events(o, 'shopper-22')).length === 0, 'nothing written');
  }, { keyOrigins: ['https://shop.example'] });
}

export async function test3_budget_spent_then_backing_off() {
  await withSdkShop(async (o, browser, key, shop) => {
    // One request a minute from this address: the session start. Limits
    // count in whole minutes, so start early in one for the budget to stay
    // spent through the test.
    const sec = new Date().getUTCSeconds();
    if (sec > 40) await new Promise((r) => setTimeout(r, (61 - sec) * 1000));
    const k = await o.admin('POST', '/admin/api_keys', {
      name: 'tight', sdk: true, origins: [shop.url], rate_limit: 1 });
    expect(k.status === 201, 'the tight key', k.text);
    const { page, seen } = await openSdkPage(browser, shop, o, k.json.key,
      'shopper-23');
    await waitFor(() => posts(seen).length >= 1, 'the session start');
    await page.getByLabel('Mobile number for trail news').fill('+12015550135');
    await page.getByRole('button', { name: 'Text me' }).click();
    await waitFor(async () => await page.textContent('#state') === 'failed',
      'the flush is refused');
    await page.waitForTimeout(3000);
    // One flush may go out as more than one request at once; what must
    // not come is a second try before Retry-After has passed.
    const first = posts(seen).find((c) => c.status === 429);
    expect(first && first.retryAfter >= 1, 'a 429 with Retry-After',
      seen.calls);
    const early = posts(seen).filter((c) => c.at > first.at + 1000 &&
      c.at < first.at + first.retryAfter * 1000);
    expect(early.length === 0, 'no retry before Retry-After', seen.calls);
    expect(posts(seen).length <= 4, 'no retry storm', seen.calls);
    expect((await events(o, 'shopper-23')).length === 0,
      'the event waits in the browser');
  });
}
