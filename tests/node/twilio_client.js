// Plays Twilio against voxgate's webhooks: signs each request with the
// official helper library (twilio.getExpectedTwilioSignature), posts it,
// and parses the TwiML reply into JSON for the shell test to check.
//
//   node twilio_client.js <base_url> <public_url> <auth_token> <path>
//        [--bad-sig] [--get] [Name=value ...]
// Prints {"status":N,"xml_ok":bool,"verbs":[...]} where each verb is
// {"name","attrs","text","children"}; exits 2 on a transport error.
'use strict';
const twilio = require('twilio');

// A strict little XML reader for TwiML: elements, attributes, text and the
// five predefined entities. Throws on anything malformed.
function parseXml(xml) {
	const decl = /^<\?xml version="1\.0" encoding="UTF-8"\?>/;
	if (!decl.test(xml)) throw new Error('no XML declaration');
	let i = xml.match(decl)[0].length;
	const ents = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
	const unescape = (s) => {
		if (/[<>]/.test(s)) throw new Error('raw markup in text: ' + s);
		return s.replace(/&([a-z]+);|&/g, (m, n) => {
			if (!n || !(n in ents)) throw new Error('bad entity in ' + s);
			return ents[n];
		});
	};
	const root = { name: '#doc', attrs: {}, text: '', children: [] };
	const stack = [root];
	while (i < xml.length) {
		if (xml[i] === '<') {
			const end = xml.indexOf('>', i);
			if (end < 0) throw new Error('unterminated tag');
			const tag = xml.slice(i + 1, end);
			i = end + 1;
			if (tag[0] === '/') {
				const top = stack.pop();
				if (top.name !== tag.slice(1)) throw new Error('mismatched </' + tag.slice(1) + '>');
				continue;
			}
			const selfClose = tag.endsWith('/');
			const m = (selfClose ? tag.slice(0, -1) : tag).match(/^([A-Za-z]+)((?:\s+[A-Za-z]+="[^"]*")*)\s*$/);
			if (!m) throw new Error('bad tag <' + tag + '>');
			const el = { name: m[1], attrs: {}, text: '', children: [] };
			for (const a of m[2].matchAll(/([A-Za-z]+)="([^"]*)"/g)) el.attrs[a[1]] = unescape(a[2]);
			stack[stack.length - 1].children.push(el);
			if (!selfClose) stack.push(el);
		} else {
			const end = xml.indexOf('<', i);
			const raw = xml.slice(i, end < 0 ? xml.length : end);
			stack[stack.length - 1].text += unescape(raw);
			i = end < 0 ? xml.length : end;
		}
	}
	if (stack.length !== 1) throw new Error('unclosed <' + stack[stack.length - 1].name + '>');
	if (root.children.length !== 1 || root.children[0].name !== 'Response') throw new Error('root is not <Response>');
	return root.children[0].children;
}

async function main() {
	const [base, publicUrl, token, path, ...rest] = process.argv.slice(2);
	const params = {};
	let badSig = false, get = false;
	for (const a of rest) {
		if (a === '--bad-sig') badSig = true;
		else if (a === '--get') get = true;
		else {
			const eq = a.indexOf('=');
			params[a.slice(0, eq)] = a.slice(eq + 1);
		}
	}
	const qs = new URLSearchParams(params).toString();
	const signedUrl = publicUrl + path + (get ? '?' + qs : '');
	let sig = twilio.getExpectedTwilioSignature(token, signedUrl, get ? {} : params);
	if (!twilio.validateRequest(token, sig, signedUrl, get ? {} : params)) throw new Error('helper disagrees with itself');
	if (badSig) sig = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
	const res = await fetch(base + path + (get ? '?' + qs : ''), {
		method: get ? 'GET' : 'POST',
		headers: get ? { 'X-Twilio-Signature': sig } : {
			'Content-Type': 'application/x-www-form-urlencoded',
			'X-Twilio-Signature': sig,
		},
		body: get ? undefined : qs,
		signal: AbortSignal.timeout(15000),
	});
	const text = await res.text();
	const out = { status: res.status, xml_ok: false, verbs: [], body: text.slice(0, 2000) };
	if ((res.headers.get('content-type') || '').includes('xml')) {
		try {
			out.verbs = parseXml(text);
			out.xml_ok = true;
		} catch (e) {
			out.xml_error = String(e.message || e);
		}
	}
	process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
	process.stderr.write('twilio_client: ' + (e.stack || e) + '\n');
	process.exit(2);
});
