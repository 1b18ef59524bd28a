// Concurrent Genesys AudioHook monitor sessions against voxgate for a
// benchmark: N signed sessions, each streaming a stereo PCMU conversation
// (agent on internal, customer on external, looped) in 100 ms binary
// messages on one shared absolute real-time schedule for T seconds, with a
// ping every 5 s. Every transcript's lag is measured from the moment the
// end of its utterance was streamed (offset + duration) to its arrival.
// Prints one JSON line: sessions opened, utterances sent per channel,
// final transcripts received (and how many were expected), agent-assist
// events, final lag p50/p90/p99/max in ms, pong p99, send-schedule slip
// max, errors; and the partials (isFinal false): how many, per final
// utterance, the time from an utterance's speech start (its offset) to
// its first partial p50/p99, and a partial's age (arrival - the end of the
// audio it covers, offset + duration) p50/p99.
// Usage: node audiohook_bench.js --port P --key K --secret B64 --n N
//        --secs T --ext cust.ulaw --int agent.ulaw
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const WebSocket = require('ws');

const a = {};
for (let i = 2; i < process.argv.length; i += 2)
	a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const N = Number(a.n || 4), SECS = Number(a.secs || 20);
const path = '/genesys/audiohook';
const authority = `127.0.0.1:${a.port}`;
const org = 'd7934305-0972-4844-938e-9060eef73d05';

function headers(sid) {
	const corr = crypto.randomUUID();
	const comps = [['@request-target', path], ['@authority', authority],
		['audiohook-organization-id', org], ['audiohook-session-id', sid],
		['audiohook-correlation-id', corr], ['x-api-key', a.key]];
	const now = Math.floor(Date.now() / 1000);
	const params = `;keyid="${a.key}";nonce="${crypto.randomBytes(16).toString('base64')}"` +
		`;alg="hmac-sha256";created=${now};expires=${now + 300}`;
	const names = '(' + comps.map((c) => `"${c[0]}"`).join(' ') + ')';
	const base = comps.map((c) => `"${c[0]}": ${c[1]}`).join('\n') +
		`\n"@signature-params": ${names}${params}`;
	const sig = crypto.createHmac('sha256', Buffer.from(a.secret, 'base64'))
		.update(base).digest('base64');
	return { 'Audiohook-Organization-Id': org, 'Audiohook-Session-Id': sid,
		'Audiohook-Correlation-Id': corr, 'X-API-KEY': a.key,
		'Signature-Input': `sig1=${names}${params}`, 'Signature': `sig1=:${sig}:` };
}

// One conversation turn pair: agent at 0.5 s, customer 0.8 s after, 1.5 s
// of silence after; looped.
const agent = fs.readFileSync(a.int), cust = fs.readFileSync(a.ext);
const L = 4000 + agent.length + 6400 + cust.length + 12000;
const ext = Buffer.alloc(L, 0xff), int = Buffer.alloc(L, 0xff);
agent.copy(int, 4000);
cust.copy(ext, 4000 + agent.length + 6400);
const CHUNK = 800; // 100 ms
function stereo(off) {
	const b = Buffer.alloc(CHUNK * 2);
	for (let i = 0; i < CHUNK; i++) {
		const p = (off + i) % L;
		b[2 * i] = ext[p];
		b[2 * i + 1] = int[p];
	}
	return b;
}
const iso = (s) => { const m = /^PT([0-9.]+)S$/.exec(s || ''); return m ? Number(m[1]) * 1000 : NaN; };

const sess = [];
let opened = 0, errors = 0, transcripts = 0, assists = 0, partials = 0;
const lags = [], pongs = [], firstPartial = [], partialAge = [];
for (let i = 0; i < N; i++) {
	const sid = crypto.randomUUID();
	// sessions start at staggered points of the conversation, as real
	// calls do (not all utterances ending at the same instant)
	const off0 = Math.floor((i / N) * L / CHUNK) * CHUNK;
	const s = { sid, seq: 0, serverseq: 0, open: false, off0, off: off0, t0: 0, pings: {}, seen: new Set() };
	s.ws = new WebSocket(`ws://${authority}${path}`, { headers: headers(sid) });
	s.send = (type, parameters) => {
		s.ws.send(JSON.stringify({ version: '2', id: sid, type, seq: ++s.seq,
			serverseq: s.serverseq, position: `PT${(s.off / 8000).toFixed(3)}S`,
			parameters }));
		return s.seq;
	};
	s.ws.on('open', () => {
		s.send('open', { organizationId: org, conversationId: crypto.randomUUID(),
			participant: { id: crypto.randomUUID(), ani: '+15551230001', aniName: 'x', dnis: '+18005550100' },
			media: [{ type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 }],
			language: 'en-US' });
	});
	s.ws.on('message', (d, bin) => {
		if (bin) return;
		const m = JSON.parse(d.toString());
		s.serverseq = m.seq;
		if (m.type === 'opened') { s.open = true; opened++; }
		else if (m.type === 'pong') pongs.push(Date.now() - (s.pings[m.clientseq] || Date.now()));
		else if (m.type === 'error' || m.type === 'disconnect') errors++;
		else if (m.type === 'event') for (const e of m.parameters.entities || []) {
			if (e.type === 'transcript' && e.data.isFinal === false) {
				partials++;
				const start = s.t0 + iso(e.data.offset);
				partialAge.push(Date.now() - start - iso(e.data.duration));
				if (!s.seen.has(e.data.id)) {
					s.seen.add(e.data.id);
					firstPartial.push(Date.now() - start);
				}
			} else if (e.type === 'transcript') {
				transcripts++;
				// the position counts from the first message (off0)
				const end = s.t0 + iso(e.data.offset) + iso(e.data.duration);
				lags.push(Date.now() - end);
			} else if (e.type === 'agentassist') assists++;
		}
	});
	s.ws.on('error', () => { errors++; });
	sess.push(s);
}

const start = Date.now() + 1000;
let tick = 0, slipMax = 0;
function pump() {
	const due = start + tick * 100;
	const now = Date.now();
	slipMax = Math.max(slipMax, now - due);
	for (const s of sess) {
		if (!s.open) continue;
		if (!s.t0) s.t0 = now; // position 0 = the first message
		s.ws.send(stereo(s.off));
		s.off += CHUNK;
		if ((s.off - s.off0) % 40000 === 0) s.pings[s.send('ping', {})] = Date.now();
	}
	tick++;
	if (now - start < SECS * 1000) setTimeout(pump, Math.max(0, start + tick * 100 - Date.now()));
	else setTimeout(finish, 6000); // let the last results come back
}
setTimeout(pump, 1000);

const pct = (arr, p) => { if (!arr.length) return null; const s = [...arr].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]; };
function finish() {
	// utterances fully streamed per channel: per loop one each, finished
	// when the stream passed the customer's end (+ trailing silence)
	// an utterance counts when its end (+0.5 s of trailing silence) was
	// streamed with at least 0.5 s of its speech (a session may start in
	// the middle of one)
	const utts = [[4000, 4000 + agent.length + 4000],
		[4000 + agent.length + 6400, 4000 + agent.length + 6400 + cust.length + 4000]];
	let expected = 0;
	for (const s of sess) {
		for (const [b, e] of utts)
			for (let k = -1; b + k * L < s.off; k++)
				if (e + k * L <= s.off &&
					e - 4000 + k * L - Math.max(b + k * L, s.off0) >= 4000) expected++;
		s.send('close', { reason: 'end' });
	}
	const audio_s = sess.reduce((x, s) => x + (s.off - s.off0) / 8000, 0);
	console.log(JSON.stringify({ sessions: N, opened, audio_s_per_channel: Math.round(audio_s),
		expected_transcripts: expected, transcripts, assists, errors,
		lag_ms: { p50: pct(lags, 50), p90: pct(lags, 90), p99: pct(lags, 99), max: pct(lags, 100) },
		partials, partials_per_utterance: transcripts ? Math.round(100 * partials / transcripts) / 100 : 0,
		first_partial_ms: { p50: pct(firstPartial, 50), p99: pct(firstPartial, 99) },
		partial_age_ms: { p50: pct(partialAge, 50), p99: pct(partialAge, 99) },
		pong_p99_ms: pct(pongs, 99), send_slip_max_ms: slipMax }));
	setTimeout(() => process.exit(0), 500);
}
