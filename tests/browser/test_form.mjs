// test_form: the hosted sign-up form in a real browser.
//
// A person fills the page and sends it, and what the REST API and the
// consent ledger say afterwards is checked; a mistake is shown beside
// its field with what was typed kept; the whole form works from the
// keyboard alone. The page is also photographed at a phone's width
// (375 px) and a desktop's (1280 px) into docs/ for the README.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, launch, startOptd } from './lib.mjs';

const DOCS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs');
const SMS_TEXT = 'Acme Outdoor: up to 4 offers a month by text. Msg & data ' +
  'rates may apply. Reply STOP to cancel, HELP for help. Consent is not ' +
  'a condition of purchase.';

// An optd with an SMS group, an e-mail group and a form offering both.
async function withForm(fn) {
  const o = await startOptd();
  let browser;
  try {
    let r = await o.admin('POST', '/admin/subscription_groups', {
      id: 'promos', name: 'Offers by text', channel: 'sms',
      numbers: ['+15550001111'],
    });
    expect(r.status === 201, 'sms group', r.text);
    r = await o.admin('POST', '/admin/subscription_groups', {
      id: 'news', name: 'Newsletter', channel: 'email',
    });
    expect(r.status === 201, 'email group', r.text);
    r = await o.admin('POST', '/admin/forms', {
      id: 'join', title: 'Join Acme Outdoor',
      groups: [{ group_id: 'promos', consent_text: SMS_TEXT },
        { group_id: 'news', consent_text: 'E-mail me the Acme Outdoor ' +
          'newsletter, twice a month. Unsubscribe at any time.' }],
    });
    expect(r.status === 201, 'form', r.text);
    browser = await launch();
    await fn(o, browser, r.json);
  } finally {
    if (browser) await browser.close();
    await o.stop();
  }
}

async function subscribed(o, phone) {
  const r = await o.admin('GET', '/subscription/status/get?' +
    new URLSearchParams({ subscription_group_id: 'promos', phone }));
  expect(r.status === 200, 'status/get', r.text);
  return r.json.status[phone];
}

export async function test1_sign_up_with_sms() {
  await withForm(async (o, browser, form) => {
    const page = await browser.newPage({ viewport: { width: 375, height: 740 } });
    await page.goto(`${o.url}/f/join`);
    mkdirSync(DOCS, { recursive: true });
    await page.screenshot({ path: join(DOCS, 'form-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: join(DOCS, 'form-desktop.png') });
    await page.getByLabel('Mobile phone number').fill('(201) 555-0123');
    await page.getByLabel(SMS_TEXT).check();
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByText('Thank you!').waitFor();
    const done = await page.textContent('main');
    expect(done.includes('Offers by text') && !done.includes('Newsletter'),
      'the confirmation names what was ticked only', done);

    expect(await subscribed(o, '+12015550123') === 'Subscribed',
      'the REST API says subscribed');
    const r = await o.admin('GET', '/admin/consent?phone=%2B12015550123');
    expect(r.status === 200 && r.json.consent.length === 1,
      'one ledger entry', r.text);
    const e = r.json.consent[0];
    expect(e.source === 'form' && e.group_id === 'promos' &&
      e.to === 'subscribed' && e.client_addr === '127.0.0.1', 'entry', e);
    expect(e.evidence.form === 'join' &&
      e.evidence.page_url === `${o.url}/f/join` &&
      /Chrome/.test(e.evidence.user_agent) &&
      e.evidence.consent_text_sha256 === form.groups[0].consent_text_sha256,
    'evidence', e.evidence);
    const t = await o.admin('GET',
      `/admin/consent_texts/${e.evidence.consent_text_sha256}`);
    expect(t.status === 200 && t.json.text === SMS_TEXT,
      'the exact text shown is kept under its hash', t.text);
  });
}

export async function test2_bad_phone_kept_and_explained() {
  await withForm(async (o, browser) => {
    const page = await browser.newPage();
    await page.goto(`${o.url}/f/join`);
    const typed = '555 <b>12';
    await page.getByLabel('Mobile phone number').fill(typed);
    await page.getByLabel(SMS_TEXT).check();
    await page.getByRole('button', { name: 'Sign up' }).click();
    const err = page.locator('#phone-error');
    await err.waitFor();
    const why = await err.textContent();
    expect(/number/i.test(why), 'the page says what is wrong', why);
    const phone = page.getByLabel('Mobile phone number');
    expect(await phone.inputValue() === typed, 'what was typed is kept',
      await phone.inputValue());
    expect(await phone.getAttribute('aria-invalid') === 'true' &&
      await phone.getAttribute('aria-describedby') === 'phone-error',
    'the mistake is tied to its field');
    expect(await page.locator('main b').count() === 0,
      'what was typed stays text');
    expect(await page.getByLabel(SMS_TEXT).isChecked(), 'the tick is kept');
  });
}

export async function test4_keyboard_only() {
  await withForm(async (o, browser) => {
    const page = await browser.newPage();
    await page.goto(`${o.url}/f/join`);
    const focused = () => page.evaluate(() => document.activeElement.id ||
      document.activeElement.tagName);
    await page.keyboard.press('Tab');
    expect(await focused() === 'phone', 'Tab reaches the phone first',
      await focused());
    await page.keyboard.type('+1 201 555 0199');
    await page.keyboard.press('Tab');
    expect(await focused() === 'email', 'then the e-mail', await focused());
    await page.keyboard.type('walker@example.com');
    await page.keyboard.press('Tab');
    expect(await focused() === 'group-0', 'then the SMS box', await focused());
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    expect(await focused() === 'group-1', 'then the e-mail box');
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    expect(await focused() === 'BUTTON', 'then the button', await focused());
    await page.keyboard.press('Enter');
    await page.getByText('Thank you!').waitFor();
    expect(await subscribed(o, '+12015550199') === 'Subscribed',
      'subscribed from the keyboard alone');
    const r = await o.admin('GET', '/admin/consent?email=walker%40example.com');
    expect(r.json.consent.some((e) => e.group_id === 'news' &&
      e.source === 'form'), 'the e-mail box too', r.text);
  });
}
