// Plays Genesys Cloud's side of an AudioHook (monitor) session against
// voxgate: signs the WebSocket upgrade (X-API-KEY + HTTP message signature,
// hmac-sha256 over @request-target @authority audiohook-organization-id
// audiohook-session-id audiohook-correlation-id x-api-key), opens with a
// stereo / mono / inverted media offer, streams a two-party conversation
// (customer = external, agent = internal) as interleaved PCMU, pings,
// updates, pauses (client-side `paused`/`resumed`, or the server's `pause`
// asked through the REST trigger) with a secret utterance sent *during* the
// pause, and closes. Prints one JSON summary line (every server message,
// transcripts final and partial with their id, isFinal and arrival time
// `at` in ms since the upgrade, the pause's span `pause_at`/`resume_at` on
// that clock, agent-assist events, pong timing, HTTP status of refusals).
// Modes:
//   auth      upgrades: valid, wrong secret, unknown key, stale, replayed
//             nonce, no signature; reports each status (101 = upgraded)
//   session   the conversation (see --offer, --pause, --restpause)
//   early     binary audio before open (expects error + close)
//   garbage   a malformed text message after open (expects error 400)
//   noopen    upgrade and say nothing (expects error 408 + close)
// Usage: node audiohook_client.js --port P --key K --secret B64 --mode M
//        [--ext cust.ulaw --int agent.ulaw --secret-audio s.ulaw]
//        [--offer stereo|mono|inverted|l16] [--pause client|rest|none]
//        [--http http://127.0.0.1:H] [--speed 4] [--timeout ms]
//        [--discard ms: a `discarded` of that length after the pause]
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const WebSocket = require('ws');

const args = {};
for (let i = 2; i < process.argv.length; i += 2)
	args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const mode = args.mode || 'session';
const path = '/genesys/audiohook';
const authority = `127.0.0.1:${args.port}`;
const org = 'd7934305-0972-4844-938e-9060eef73d05';
const speed = Number(args.speed || 4);
const timeoutMs = Number(args.timeout || 60000);

function sign(o) {
	const comps = [['@request-target', path], ['@authority', authority],
		['audiohook-organization-id', org], ['audiohook-session-id', o.sid],
		['audiohook-correlation-id', o.corr], ['x-api-key', o.key]];
	const created = o.created || Math.floor(Date.now() / 1000);
	const params = `;keyid="${o.key}";nonce="${o.nonce}"` +
		`;alg="hmac-sha256";created=${created};expires=${created + 300}`;
	const names = '(' + comps.map((c) => `"${c[0]}"`).join(' ') + ')';
	const base = comps.map((c) => `"${c[0]}": ${c[1]}`).join('\n') +
		`\n"@signature-params": ${names}${params}`;
	const key = Buffer.from(o.secret, 'base64');
	const sig = crypto.createHmac('sha256', key).update(base).digest('base64');
	return { input: `sig1=${names}${params}`, sig: `sig1=:${sig}:` };
}

function headers(o) {
	const h = {
		'Audiohook-Organization-Id': org,
		'Audiohook-Session-Id': o.sid,
		'Audiohook-Correlation-Id': o.corr,
		'X-API-KEY': o.key,
	};
	if (!o.unsigned) {
		const s = sign(o);
		h['Signature-Input'] = s.input;
		h['Signature'] = s.sig;
	}
	return h;
}

// Resolves with the HTTP status of the upgrade (101 when it upgraded).
function tryUpgrade(o) {
	return new Promise((resolve) => {
		const ws = new WebSocket(`ws://${authority}${path}`,
			{ headers: headers(o) });
		ws.on('open', () => { ws.terminate(); resolve(101); });
		ws.on('unexpected-response', (req, res) => {
			resolve(res.statusCode);
			req.destroy();
		});
		ws.on('error', () => resolve(-1));
	});
}

async function authMode() {
	const base = () => ({ sid: crypto.randomUUID(), corr: crypto.randomUUID(),
		key: args.key, secret: args.secret,
		nonce: crypto.randomBytes(16).toString('base64') });
	const res = {};
	res.valid = await tryUpgrade(base());
	res.wrong_secret = await tryUpgrade({ ...base(),
		secret: Buffer.from('not the secret').toString('base64') });
	res.unknown_key = await tryUpgrade({ ...base(), key: 'nobody' });
	res.stale = await tryUpgrade({ ...base(),
		created: Math.floor(Date.now() / 1000) - 3600 });
	const once = base();
	res.replay_first = await tryUpgrade(once);
	res.replay_again = await tryUpgrade({ ...once });
	res.unsigned = await tryUpgrade({ ...base(), unsigned: true });
	res.no_key = await tryUpgrade({ ...base(), key: '' });
	return res;
}

// ---- audio ----
function readUlaw(file) {
	return file ? fs.readFileSync(file) : Buffer.alloc(0);
}
const SIL = 0xff; // mu-law silence
function timeline() {
	// agent (internal) first, then the customer (external); secret audio
	// is streamed only inside the pause.
	const agent = readUlaw(args.int);
	const cust = readUlaw(args.ext);
	const gap = 6400; // 0.8 s
	const total = 4000 + agent.length + gap + cust.length + 12000;
	const ext = Buffer.alloc(total, SIL), int = Buffer.alloc(total, SIL);
	agent.copy(int, 4000);
	cust.copy(ext, 4000 + agent.length + gap);
	return { ext, int, n: total };
}
const ulawTab = (() => {
	const t = new Int16Array(256);
	for (let i = 0; i < 256; i++) {
		const u = ~i & 0xff;
		let x = ((u & 0x0f) << 3) + 0x84;
		x <<= (u & 0x70) >> 4;
		t[i] = (u & 0x80) ? 0x84 - x : x - 0x84;
	}
	return t;
})();
// One binary message of n samples from offset off, in the offer's layout.
function frame(tl, off, n, offer) {
	const order = offer === 'inverted' ? ['int', 'ext'] :
		offer === 'mono' ? ['ext'] : ['ext', 'int'];
	const l16 = offer === 'l16';
	const bps = l16 ? 2 : 1;
	const buf = Buffer.alloc(n * order.length * bps);
	let o = 0;
	for (let i = 0; i < n; i++)
		for (const ch of order) {
			const v = tl[ch][off + i];
			if (l16) { buf.writeInt16LE(ulawTab[v], o); o += 2; } else buf[o++] = v;
		}
	return buf;
}

function restCall(action, sid) {
	return new Promise((resolve) => {
		const req = http.request(`${args.http}/v1/audiohook/${sid}/${action}`,
			{ method: 'POST', headers: { 'X-API-KEY': args.key } }, (res) => {
				res.resume();
				res.on('end', () => resolve(res.statusCode));
			});
		req.on('error', () => resolve(-1));
		req.end();
	});
}

function sessionMode() {
	return new Promise((resolve) => {
		const o = { sid: crypto.randomUUID(), corr: crypto.randomUUID(),
			key: args.key, secret: args.secret,
			nonce: crypto.randomBytes(16).toString('base64') };
		const offer = args.offer || 'stereo';
		const pause = args.pause || 'none';
		const out = { mode, offer, pause, sid: o.sid, status: 0, msgs: [],
			opened: null, transcripts: [], assists: [], pongs: [],
			errors: [], updated: 0, closed: false, disconnect: null,
			server_pause: 0, server_resume: 0, rest: {}, sent_samples: 0,
			paused_samples: 0, seq_ok: true, socket_closed: false };
		const ws = new WebSocket(`ws://${authority}${path}`,
			{ headers: headers(o) });
		// ms since the upgrade: transcripts' arrival (at) and the secure
		// pause's span (pause_at: asked or sent, resume_at: resumed sent)
		const t0 = Date.now();
		let seq = 0, serverseq = 0, posMs = 0;
		const send = (type, parameters) => {
			const m = { version: '2', id: o.sid, type, seq: ++seq, serverseq,
				position: `PT${(posMs / 1000).toFixed(3)}S`, parameters };
			ws.send(JSON.stringify(m));
			return m.seq;
		};
		const pingSent = {};
		let finish = () => {};
		const done = () => {
			clearTimeout(timer);
			finish = () => {};
			resolve(out);
		};
		const timer = setTimeout(() => { out.timeout = true; ws.terminate(); done(); },
			timeoutMs);
		let waitPause = null, waitClosed = null;
		ws.on('unexpected-response', (req, res) => {
			out.status = res.statusCode;
			req.destroy();
			done();
		});
		ws.on('error', (e) => { out.error = String(e); done(); });
		ws.on('close', () => { out.socket_closed = true; finish(); done(); });
		ws.on('message', (data, isBinary) => {
			if (isBinary) { out.binary_rx = (out.binary_rx || 0) + 1; return; }
			const m = JSON.parse(data.toString());
			out.msgs.push(m.type);
			if (m.seq !== serverseq + 1) out.seq_ok = false;
			serverseq = m.seq;
			const p = m.parameters || {};
			if (m.type === 'opened') out.opened = { media: p.media, startPaused: p.startPaused, clientseq: m.clientseq };
			else if (m.type === 'pong') out.pongs.push({ clientseq: m.clientseq, ms: Date.now() - (pingSent[m.clientseq] || 0), matches: pingSent[m.clientseq] !== undefined });
			else if (m.type === 'updated') out.updated++;
			else if (m.type === 'error') out.errors.push(p);
			else if (m.type === 'pause') { out.server_pause++; if (waitPause) waitPause(); }
			else if (m.type === 'resume') { out.server_resume++; if (waitPause) waitPause(); }
			else if (m.type === 'disconnect') { out.disconnect = p; send('close', { reason: 'disconnect' }); }
			else if (m.type === 'closed') { out.closed = true; if (waitClosed) waitClosed(); }
			else if (m.type === 'event') {
				for (const e of p.entities || []) {
					if (e.type === 'transcript') {
						const a = (e.data.alternatives || [])[0] || {};
						const it = (a.interpretations || [])[0] || {};
						out.transcripts.push({ id: e.data.id, channel: e.data.channelId, text: it.transcript,
							type: it.type, confidence: a.confidence, offset: e.data.offset,
							duration: e.data.duration, isFinal: e.data.isFinal,
							at: Date.now() - t0 });
					} else if (e.type === 'agentassist') {
						out.assists.push({ text: (e.data.utterances || [])[0]?.text,
							channel: (e.data.utterances || [])[0]?.channelId,
							intent: e.data.intent, suggestions: e.data.suggestions });
					}
				}
			}
		});
		const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
		const waitFor = (setter, ms) => new Promise((r) => {
			const t = setTimeout(() => r(false), ms);
			setter(() => { clearTimeout(t); r(true); });
		});
		ws.on('open', async () => {
			out.status = 101;
			if (mode === 'noopen') {
				finish = () => {};
				return; // the server must give up on us
			}
			if (mode === 'early') {
				ws.send(Buffer.alloc(160, SIL));
				return;
			}
			const media = {
				stereo: [{ type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 },
					{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }],
				inverted: [{ type: 'audio', format: 'PCMU', channels: ['internal', 'external'], rate: 8000 }],
				mono: [{ type: 'audio', format: 'OPUS', channels: ['external', 'internal'], rate: 8000 },
					{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }],
				l16: [{ type: 'audio', format: 'L16', channels: ['external', 'internal'], rate: 8000 }],
			}[offer];
			send('open', { organizationId: org, conversationId: crypto.randomUUID(),
				participant: { id: crypto.randomUUID(), ani: '+15551230001', aniName: 'Jane Caller', dnis: '+18005550100' },
				media, language: 'en-US' });
			const pseq = send('ping', {});
			pingSent[pseq] = Date.now();
			await sleep(200);
			if (mode === 'garbage') {
				ws.send('{"version":"2","type":');
				await sleep(1000);
				ws.close();
				return;
			}
			const tl = timeline();
			const chunk = 800; // 100 ms
			const secret = readUlaw(args['secret-audio']);
			let pausedAt = -1;
			const pauseAt = pause === 'none' ? -1 : 4000 + readUlaw(args.int).length + 1600;
			for (let off = 0; off < tl.n; off += chunk) {
				if (ws.readyState !== WebSocket.OPEN) break;
				const n = Math.min(chunk, tl.n - off);
				if (off >= pauseAt && pausedAt < 0 && pauseAt >= 0) {
					pausedAt = off;
					out.pause_at = Date.now() - t0;
					if (pause === 'rest') {
						const p = waitFor((f) => { waitPause = f; }, 3000);
						out.rest.pause = await restCall('pause', o.sid);
						out.rest.pause_again = await restCall('pause', o.sid);
						await p;
					}
					send('paused', {});
					// the secret utterance, sent although paused: must be
					// neither transcribed nor counted
					for (let s = 0; s < secret.length; s += chunk) {
						const m = Math.min(chunk, secret.length - s);
						const b = Buffer.alloc(m * (offer === 'mono' ? 1 : 2), SIL);
						for (let i = 0; i < m; i++) b[i * (offer === 'mono' ? 1 : 2)] = secret[s + i];
						ws.send(b);
						out.paused_samples += m;
						await sleep(chunk / 8 / speed);
					}
					if (pause === 'rest') {
						const p = waitFor((f) => { waitPause = f; }, 3000);
						out.rest.resume = await restCall('resume', o.sid);
						await p;
					}
					out.resume_at = Date.now() - t0;
					send('resumed', {});
					const disc = Number(args.discard || 0);
					if (disc) {
						// the client dropped disc ms of audio: the
						// position jumps by it
						send('discarded', { start: `PT${(posMs / 1000).toFixed(3)}S`,
							discarded: `PT${(disc / 1000).toFixed(3)}S` });
						posMs += disc;
					}
				}
				ws.send(frame(tl, off, n, offer));
				out.sent_samples += n;
				posMs += n / 8;
				if (off === 8000) {
					const ps = send('ping', {});
					pingSent[ps] = Date.now();
				}
				if (off === 16000) send('update', { language: 'en-US' });
				await sleep(chunk / 8 / speed);
			}
			out.rest.unknown = args.http ? await restCall('pause', 'no-such-session') : 0;
			// let the last transcripts come back, then close
			await sleep(Number(args.settle || 4000));
			const c = waitFor((f) => { waitClosed = f; }, 3000);
			send('close', { reason: 'end' });
			await c;
			ws.close();
		});
		finish = () => {};
	});
}

(async () => {
	let out;
	if (mode === 'auth') out = { mode, ...(await authMode()) };
	else out = await sessionMode();
	console.log(JSON.stringify(out));
	process.exit(0);
})();
