// test_widget: optd's capture widget (/sdk/widget.js) on a brand's page
// in a real browser (docs/sdk.md).
//
// A shopper types a number into the widget and sends it; the custom
// event phone_number_captured reaches optd across origins with the SDK
// key, the seed's Option 2 flow subscribes the shopper and the
// confirmation SMS goes out. A number optd cannot text is explained
// beside the field and changes nothing; the widget works from the
// keyboard, Escape dismisses it; a page whose origin the key does not
// list gets nowhere. The widget is photographed at a phone's width
// (375 px) and a desktop's (1280 px) into docs/ for the README.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from './lib.mjs';
import { DOCS, events, optedIn, servePages, shopPage, waitFor,
  withShop } from './shop.mjs';

const CONSENT = 'By signing up you agree to receive recurring automated ' +
  'marketing texts from Acme Outdoor at this number. Consent is not a ' +
  'condition of purchase. Msg & data rates may apply. Reply HELP for ' +
  'help, STOP to cancel.';
const LABEL = 'Mobile phone number';

function widgetTag(o, key, user) {
  return `<script src="${o.url}/sdk/widget.js" async data-key="${key}"
    data-user="${user}" data-title="Get trail news by text" data-color="#2e5e3e"
    data-consent="${CONSENT}"></script>`;
}

// A shop page with the widget for `user` at /, served from its own
// origin; fn(o, browser, shop), where shop.pages takes more pages.
async function withWidget(user, fn, opts) {
  const shop = await servePages();
  try {
    await withShop(shop.url, async (o, browser, key) => {
      shop.pages['/'] = shopPage(widgetTag(o, key, user));
      shop.tag = (other) => widgetTag(o, key, other);
      await fn(o, browser, shop);
    }, opts);
  } finally {
    await shop.close();
  }
}

async function openShop(browser, shop, viewport, path = '/') {
  const page = await browser.newPage(viewport ? { viewport } : {});
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(shop.url + path);
  await page.getByRole('region', { name: 'Get trail news by text' })
    .waitFor();
  return { page, errors };
}

export async function test1_widget_opts_in_through_option_2() {
  await withWidget('shopper-7', async (o, browser, shop) => {
    const { page, errors } = await openShop(browser, shop,
      { width: 375, height: 740 });
    mkdirSync(DOCS, { recursive: true });
    await page.screenshot({ path: join(DOCS, 'widget-phone.png'),
      animations: 'disabled' });
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: join(DOCS, 'widget-desktop.png'),
      animations: 'disabled' });

    const field = page.getByLabel(LABEL);
    expect(await field.getAttribute('type') === 'tel' &&
      await field.getAttribute('autocomplete') === 'tel',
    'a telephone field the browser can fill');
    const described = await field.evaluate((el) => el.getAttribute(
      'aria-describedby').split(' ').map((id) =>
      el.getRootNode().getElementById(id).textContent).join(' '));
    expect(described.includes(CONSENT), 'the consent text describes the field',
      described);
    await field.fill('(201) 555-0142');
    await page.getByRole('button', { name: 'Sign me up' }).click();
    await page.getByRole('status').getByText('Check your phone').waitFor();

    const evs = await events(o, 'shopper-7');
    expect(evs.length === 1 && evs[0].name === 'phone_number_captured' &&
      evs[0].properties.phone_number === '(201) 555-0142' &&
      evs[0].properties.consent_text === CONSENT,
    'the event, with the number as typed and the consent text shown', evs);
    const m = await optedIn(o, 'shopper-7', '+12015550142');
    expect(m.body.startsWith('Acme Outdoor: thanks for signing up!'),
      'the confirmation', m);
    expect(errors.length === 0, 'no script error', errors);

    // Taken once: the widget is not offered again to that user.
    await page.reload();
    await page.waitForTimeout(500);
    expect(await page.getByRole('region').count() === 0,
      'not shown again after a number was taken');
  });
}

export async function test2_number_optd_cannot_text_is_explained() {
  await withWidget('shopper-8', async (o, browser, shop) => {
    const { page } = await openShop(browser, shop);
    const field = page.getByLabel(LABEL);
    const send = page.getByRole('button', { name: 'Sign me up' });
    // Not a phone number at all: said at once, nothing sent.
    await field.fill('call me');
    await send.click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(/mobile number/i.test(await alert.textContent()),
      'what to type', await alert.textContent());
    // Digits optd refuses (too short for the US): optd's 400, explained.
    await field.fill('555 0142');
    await send.click();
    await waitFor(async () => /check the number/i.test(
      await alert.textContent()), 'the refusal is shown');
    expect(await field.getAttribute('aria-invalid') === 'true',
      'the field is marked invalid');
    expect(await field.inputValue() === '555 0142', 'what was typed is kept');
    expect(await field.evaluate((el) => el.getRootNode().activeElement ===
      el), 'the focus is back in the field');
    expect((await events(o, 'shopper-8')).length === 0, 'no event');
    const r = await o.admin('GET', '/admin/flows/seed-option-2/runs');
    expect(r.json.runs.length === 0, 'no run', r.text);
  });
}

export async function test3_keyboard_only_and_escape() {
  await withWidget('shopper-9', async (o, browser, shop) => {
    const { page } = await openShop(browser, shop);
    const active = () => page.evaluate(() => {
      let el = document.activeElement;
      while (el && el.shadowRoot && el.shadowRoot.activeElement)
        el = el.shadowRoot.activeElement;
      return !el || el === document.body ? ''
        : el.getAttribute('aria-label') || el.id || el.textContent.trim();
    });
    // The page's own links come first, then the widget: close, field,
    // button. It never took the focus by itself.
    expect(await active() === '', 'no focus taken on load', await active());
    let seen = [];
    for (let i = 0; i < 12 && !seen.includes('optd-phone'); i++) {
      await page.keyboard.press('Tab');
      seen.push(await active());
    }
    expect(seen.includes('Close') && seen.at(-1) === 'optd-phone',
      'Tab reaches the close button, then the field', seen);
    await page.keyboard.type('+1 201 555 0177');
    await page.keyboard.press('Tab');
    expect(await active() === 'Sign me up', 'then the button', await active());
    await page.keyboard.press('Enter');
    await page.getByRole('status').getByText('Check your phone').waitFor();
    await optedIn(o, 'shopper-9', '+12015550177');

    // Escape dismisses another shopper's widget, for the rest of the tab.
    shop.pages['/other'] = shopPage(shop.tag('shopper-10'));
    const { page: other } = await openShop(browser, shop, null, '/other');
    const field = other.getByLabel(LABEL);
    await field.focus();
    await other.keyboard.press('Escape');
    expect(await other.getByRole('region').count() === 0, 'dismissed');
    await other.reload();
    await other.waitForTimeout(500);
    expect(await other.getByRole('region').count() === 0,
      'still dismissed in this tab');
  });
}

export async function test4_origin_the_key_does_not_list() {
  await withWidget('shopper-11', async (o, browser, shop) => {
    const { page } = await openShop(browser, shop);
    await page.getByLabel(LABEL).fill('(201) 555-0188');
    await page.getByRole('button', { name: 'Sign me up' }).click();
    await waitFor(async () => /went wrong/i.test(
      await page.getByRole('alert').textContent()), 'the failure is shown');
    expect((await events(o, 'shopper-11')).length === 0,
      'nothing reached the user');
  }, { keyOrigins: ['https://shop.example'] });
}
