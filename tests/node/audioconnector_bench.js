// Concurrent Genesys Audio Connector sessions against voxgate for a
// benchmark: N signed sessions (X-API-KEY + hmac-sha256 message signature),
// each `open`ing the bank-hotline flow with one mono PCMU external offer and
// sending 20 ms of PCMU silence every 20 ms (one shared absolute-schedule
// timer) for T seconds while the bot plays its prompts; the bot's binary
// frames timed on arrival. Prints one JSON line: sessions opened, bot
// frames per session-second, |interval - 20 ms| of consecutive frames (p50
// of per-session medians, worst p99, max, in us), barge_ins, errors.
// Usage: node audioconnector_bench.js --port P --key K --secret B64 --n N
//        --secs T
'use strict';
const crypto = require('crypto');
const WebSocket = require('ws');

const a = {};
for (let i = 2; i < process.argv.length; i += 2)
	a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const N = Number(a.n || 10), SECS = Number(a.secs || 10);
const path = '/genesys/audioconnector';
const authority = `127.0.0.1:${a.port}`;
const org = 'd7934305-0972-4844-938e-9060eef73d05';
const key = Buffer.from(a.secret, 'base64');
const silence = Buffer.alloc(160, 0xff);
const now = () => Number(process.hrtime.bigint() / 1000n); // us

function headers(sid, corr) {
	const comps = [['@request-target', path], ['@authority', authority],
		['audiohook-organization-id', org], ['audiohook-session-id', sid],
		['audiohook-correlation-id', corr], ['x-api-key', a.key]];
	const t = Math.floor(Date.now() / 1000);
	const params = `;keyid="${a.key}";nonce="${crypto.randomBytes(16).toString('base64')}"` +
		`;alg="hmac-sha256";created=${t};expires=${t + 300}`;
	const names = '(' + comps.map((c) => `"${c[0]}"`).join(' ') + ')';
	const base = comps.map((c) => `"${c[0]}": ${c[1]}`).join('\n') +
		`\n"@signature-params": ${names}${params}`;
	const sig = crypto.createHmac('sha256', key).update(base).digest('base64');
	return { 'Audiohook-Organization-Id': org, 'Audiohook-Session-Id': sid,
		'Audiohook-Correlation-Id': corr, 'X-API-KEY': a.key,
		'Signature-Input': `sig1=${names}${params}`, 'Signature': `sig1=:${sig}:` };
}

const sessions = [];
let errors = 0, opened = 0, closedEarly = 0;
for (let i = 0; i < N; i++) {
	const sid = crypto.randomUUID();
	const s = { sid, ws: null, open: false, seq: 1, serverseq: 0, sent: 0,
		last: 0, iv: [], rx: 0, barge: 0 };
	const send = (type, parameters) => s.ws.send(JSON.stringify({ version: '2',
		id: sid, type, seq: s.seq++, serverseq: s.serverseq,
		position: `PT${(s.sent * 0.02).toFixed(2)}S`, parameters: parameters || {} }));
	s.send = send;
	s.ws = new WebSocket(`ws://${authority}${path}`, { headers: headers(sid, crypto.randomUUID()) });
	s.ws.on('open', () => {
		send('open', { organizationId: org, conversationId: crypto.randomUUID(),
			participant: { id: crypto.randomUUID(), ani: '+1555000' + String(i).padStart(4, '0'),
				aniName: 'bench', dnis: '+18005550100' },
			media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }],
			language: 'en-US', inputVariables: { flow: a.flow || 'bank-hotline' } });
	});
	s.ws.on('message', (d, bin) => {
		if (bin) {
			const t = now();
			if (s.last && t - s.last < 200000)
				s.iv.push(Math.abs(t - s.last - 20000));
			s.last = t;
			s.rx++;
			return;
		}
		const m = JSON.parse(d.toString());
		s.serverseq = m.seq;
		if (m.type === 'opened') {
			s.open = true;
			opened++;
		} else if (m.type === 'event') {
			s.barge++;
		} else if (m.type === 'disconnect') {
			s.open = false;
			send('close', { reason: 'end' });
		}
	});
	s.ws.on('error', () => { errors++; });
	s.ws.on('close', () => { if (!s.stopping) closedEarly++; s.open = false; });
	sessions.push(s);
}

const t0 = Date.now();
let next = t0;
function tick() {
	for (const s of sessions) {
		if (!s.open) continue;
		s.ws.send(silence, { binary: true });
		s.sent++;
	}
	if (Date.now() - t0 >= SECS * 1000)
		return done();
	next += 20;
	setTimeout(tick, Math.max(0, next - Date.now()));
}
setTimeout(tick, 500);

const pct = (arr, p) => {
	if (!arr.length) return 0;
	const s = arr.slice().sort((x, y) => x - y);
	return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))];
};
function done() {
	const med = [], p99 = [];
	let max = 0, rx = 0, barge = 0;
	for (const s of sessions) {
		s.stopping = true;
		if (s.open)
			s.send('close', { reason: 'end' });
		med.push(pct(s.iv, 50));
		p99.push(pct(s.iv, 99));
		for (const v of s.iv) if (v > max) max = v;
		rx += s.rx; barge += s.barge;
	}
	const out = { sessions: N, opened, errors, closed_early: closedEarly,
		secs: SECS, rx_per_sess_s: +(rx / N / SECS).toFixed(1), events: barge,
		jit_p50_us: pct(med, 50), jit_p99_us: Math.max(...p99), jit_max_us: max };
	process.stdout.write(JSON.stringify(out) + '\n');
	setTimeout(() => process.exit(0), 500);
}
