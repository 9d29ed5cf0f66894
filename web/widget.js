/*
 * optd capture widget (served as /sdk/widget.js; docs/sdk.md).
 *
 * A brand adds one tag to its pages:
 *
 *   <script src="https://optd.example/sdk/widget.js" async
 *           data-key="optd_sdk_..." data-user="EXTERNAL_ID"
 *           data-consent="By signing up you agree to receive ..."></script>
 *
 * and the page shows a small message asking for a mobile number, with the
 * consent text under the field. On submit the number goes to optd's
 * /api/v3/data/ in the Braze Web SDK's own format, with the SDK key: the
 * user's phone attribute and the custom event phone_number_captured
 * (properties phone_number and consent_text), which starts the flows
 * whose entry is that event. optd checks the number; a refused one is
 * shown as an error beside the field.
 *
 * The message is a non-modal region in a shadow root (the page's styles
 * do not reach it): a labelled field, the consent text as its
 * description, errors announced, Escape or the close button to dismiss,
 * and it never takes the focus unasked. Once a number is taken it is not
 * shown again to that user in that browser; once dismissed, not again in
 * that tab.
 */
(function () {
	'use strict';

	var EVENT = 'phone_number_captured';
	var CONSENT_MAX = 255; /* characters of an event property's value */
	var DEFAULTS = {
		title: 'Get our texts',
		label: 'Mobile phone number',
		button: 'Sign me up',
		consent: 'By signing up you agree to receive recurring ' +
			'automated marketing text messages at this number. ' +
			'Consent is not a condition of purchase. Msg & data ' +
			'rates may apply. Reply HELP for help, STOP to cancel.',
		thanks: 'Thanks! Check your phone: we have sent you a text ' +
			'to confirm.',
		color: '#1a5fb4'
	};

	var script = document.currentScript;
	if (!script)
		return;
	var d = script.dataset;
	var opt = {
		key: d.key || '',
		user: d.user || '',
		api: (d.api || new URL(script.src, location.href).origin)
			.replace(/\/+$/, ''),
		title: d.title || DEFAULTS.title,
		label: d.label || DEFAULTS.label,
		button: d.button || DEFAULTS.button,
		consent: d.consent || DEFAULTS.consent,
		thanks: d.thanks || DEFAULTS.thanks,
		color: /^#[0-9a-fA-F]{3,8}$/.test(d.color || '') ? d.color
			: DEFAULTS.color
	};

	function problem(msg) {
		console.error('optd widget: ' + msg);
	}
	if (!opt.key || !opt.user)
		return problem('data-key (an SDK key) and data-user (the ' +
			       'user\'s external id) are required');
	if (opt.consent.length > CONSENT_MAX)
		return problem('data-consent is longer than ' + CONSENT_MAX +
			       ' characters');

	var DONE = 'optd-widget:done:' + opt.user;
	var CLOSED = 'optd-widget:closed:' + opt.user;
	function remembered(store, k) {
		try { return window[store].getItem(k) === '1'; }
		catch (e) { return false; }
	}
	function remember(store, k) {
		try { window[store].setItem(k, '1'); } catch (e) { /* private */ }
	}
	if (remembered('localStorage', DONE) ||
	    remembered('sessionStorage', CLOSED))
		return;

	var CSS =
		':host{all:initial}' +
		'.panel{position:fixed;right:16px;bottom:16px;z-index:2147483000;' +
		'box-sizing:border-box;width:360px;max-width:calc(100vw - 32px);' +
		'padding:20px 20px 16px;background:#fff;color:#1b1b1b;' +
		'border-radius:12px;box-shadow:0 8px 32px rgba(0,0,0,.25);' +
		'font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,' +
		'sans-serif;animation:in .25s ease-out}' +
		'@keyframes in{from{transform:translateY(16px);opacity:0}}' +
		'@media (prefers-reduced-motion:reduce){.panel{animation:none}}' +
		'@media (max-width:480px){.panel{left:0;right:0;bottom:0;' +
		'width:auto;max-width:none;border-radius:16px 16px 0 0}}' +
		'h2{margin:0 40px 12px 0;font-size:20px;line-height:1.3}' +
		'label{display:block;font-weight:600;margin-bottom:4px}' +
		'input{box-sizing:border-box;width:100%;min-height:44px;' +
		'padding:8px 12px;font:inherit;color:inherit;background:#fff;' +
		'border:1px solid #6b6b6b;border-radius:8px}' +
		'input[aria-invalid=true]{border-color:#b3261e}' +
		'.consent{margin:8px 0 12px;font-size:13px;color:#474747}' +
		'.error{margin:8px 0 0;color:#b3261e;font-weight:600}' +
		'.submit{width:100%;min-height:44px;border:0;border-radius:8px;' +
		'background:var(--accent);color:#fff;font:inherit;' +
		'font-weight:600;cursor:pointer}' +
		'.submit[disabled]{opacity:.6;cursor:progress}' +
		'.close{position:absolute;top:8px;right:8px;width:44px;' +
		'height:44px;border:0;background:none;color:#474747;' +
		'font-size:28px;line-height:1;cursor:pointer;border-radius:8px}' +
		'.thanks{margin:0 40px 0 0}' +
		':focus-visible{outline:3px solid var(--accent);' +
		'outline-offset:2px}' +
		'[hidden]{display:none!important}';

	function el(tag, attrs, text) {
		var e = document.createElement(tag);
		for (var k in attrs)
			e.setAttribute(k, attrs[k]);
		if (text)
			e.textContent = text;
		return e;
	}

	var host = el('div', {'data-optd-widget': ''});
	var root = host.attachShadow({mode: 'open'});
	var style = el('style', {}, CSS);
	var panel = el('section', {'class': 'panel', role: 'region',
				   'aria-labelledby': 'optd-title'});
	panel.style.setProperty('--accent', opt.color);
	var close = el('button', {'class': 'close', type: 'button',
				  'aria-label': 'Close'}, '\u00d7');
	var title = el('h2', {id: 'optd-title'}, opt.title);
	var form = el('form', {novalidate: ''});
	var label = el('label', {'for': 'optd-phone'}, opt.label);
	var input = el('input', {id: 'optd-phone', name: 'phone', type: 'tel',
				 autocomplete: 'tel', inputmode: 'tel',
				 required: '', maxlength: '32',
				 'aria-describedby': 'optd-consent optd-error'});
	var consent = el('p', {id: 'optd-consent', 'class': 'consent'},
			 opt.consent);
	var error = el('p', {id: 'optd-error', 'class': 'error',
			     role: 'alert', hidden: ''});
	var submit = el('button', {'class': 'submit', type: 'submit'},
			opt.button);
	var thanks = el('p', {'class': 'thanks', role: 'status',
			      tabindex: '-1', hidden: ''});

	form.append(label, input, consent, error, submit);
	panel.append(close, title, form, thanks);
	root.append(style, panel);

	function dismiss() {
		remember('sessionStorage', CLOSED);
		host.remove();
	}

	function showError(msg) {
		error.textContent = msg;
		error.hidden = false;
		input.setAttribute('aria-invalid', 'true');
		input.focus();
	}

	/* Digits, spaces and + ( ) . - as people type them; optd decides. */
	function plausible(s) {
		var digits = s.replace(/\D/g, '').length;
		return /^\+?[0-9 ().\-]+$/.test(s) && digits >= 7 &&
			digits <= 15;
	}

	function body(phone) {
		var now = Date.now() / 1000;
		return {
			api_key: opt.key,
			time: Math.floor(now),
			sdk_version: 'optd-widget',
			attributes: [{user_id: opt.user, phone: phone}],
			events: [{
				name: 'ce', time: now, user_id: opt.user,
				data: {n: EVENT, p: {phone_number: phone,
						     consent_text: opt.consent}}
			}]
		};
	}

	function done() {
		remember('localStorage', DONE);
		title.hidden = true;
		form.hidden = true;
		thanks.textContent = opt.thanks;
		thanks.hidden = false;
		thanks.focus();
	}

	function failed(status, answer) {
		if (answer && answer.message)
			problem(status + ' ' + answer.message);
		if (status === 400)
			showError('Please check the number: we cannot send ' +
				  'texts to it.');
		else if (status === 429)
			showError('Too many tries. Please wait a minute and ' +
				  'try again.');
		else
			showError('Something went wrong. Please try again.');
	}

	form.addEventListener('submit', function (ev) {
		ev.preventDefault();
		var phone = input.value.trim();
		error.hidden = true;
		input.removeAttribute('aria-invalid');
		if (!plausible(phone))
			return showError('Please enter a mobile number, ' +
					 'like +1 650 253 0000.');
		submit.disabled = true;
		fetch(opt.api + '/api/v3/data/', {
			method: 'POST',
			mode: 'cors',
			credentials: 'omit',
			headers: {'Content-Type': 'application/json'},
			body: JSON.stringify(body(phone))
		}).then(function (r) {
			return r.json().catch(function () { return null; })
				.then(function (a) {
					if (r.ok)
						return done();
					failed(r.status, a);
				});
		}).catch(function (e) {
			problem(String(e));
			failed(0, null);
		}).then(function () {
			submit.disabled = false;
		});
	});

	close.addEventListener('click', dismiss);
	panel.addEventListener('keydown', function (ev) {
		if (ev.key === 'Escape')
			dismiss();
	});

	function mount() {
		document.body.appendChild(host);
	}
	if (document.body)
		mount();
	else
		document.addEventListener('DOMContentLoaded', mount);
})();
