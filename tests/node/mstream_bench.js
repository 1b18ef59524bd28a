// Concurrent Twilio Media Streams sessions against voxgate for a benchmark:
// N sessions (signed upgrades), each streaming mu-law silence every 20 ms
// (one shared absolute-schedule timer) for T seconds while the flow plays
// its prompts; marks echoed, our frames timed on arrival. Prints one JSON
// line: sessions opened, frames received per session-second, |interval -
// 20 ms| of consecutive frames (p50 of per-session medians, worst p99,
// max, in us), marks, clears, errors.
// Usage: node mstream_bench.js --port P --public URL --token T --n N --secs T
'use strict';
const WebSocket = require('ws');
const twilio = require('twilio');

const a = {};
for (let i = 2; i < process.argv.length; i += 2)
	a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const N = Number(a.n || 10), SECS = Number(a.secs || 10);
const path = '/twilio/media';
const url = a.public.replace(/^https:/, 'wss:').replace(/^http:/, 'ws:') + path;
const sig = twilio.getExpectedTwilioSignature(a.token, url, {});
const silence = Buffer.alloc(160, 0xff).toString('base64');
const now = () => Number(process.hrtime.bigint() / 1000n); // us

const sessions = [];
let errors = 0, opened = 0, closedEarly = 0;
for (let i = 0; i < N; i++) {
	const sid = 'MZ' + String(i).padStart(32, '0');
	const s = { sid, ws: null, open: false, chunk: 0, last: 0, iv: [], rx: 0,
		marks: 0, clears: 0 };
	s.ws = new WebSocket(`ws://127.0.0.1:${a.port}${path}`,
		{ headers: { 'X-Twilio-Signature': sig } });
	s.ws.on('open', () => {
		s.open = true;
		opened++;
		s.ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
		s.ws.send(JSON.stringify({ event: 'start', streamSid: sid, start: {
			streamSid: sid, callSid: 'CA' + sid.slice(2), accountSid: 'AC1',
			tracks: ['inbound'],
			mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
			customParameters: { flow: a.flow || 'bank-hotline' } } }));
	});
	s.ws.on('message', (d) => {
		const m = JSON.parse(d.toString());
		if (m.event === 'media') {
			const t = now();
			if (s.last && t - s.last < 200000)
				s.iv.push(Math.abs(t - s.last - 20000));
			s.last = t;
			s.rx++;
		} else if (m.event === 'mark') {
			s.marks++;
			// Real time both ways: the mark's audio has just played.
			s.ws.send(JSON.stringify({ event: 'mark', streamSid: sid, mark: m.mark }));
		} else if (m.event === 'clear') {
			s.clears++;
		}
	});
	s.ws.on('error', () => { errors++; });
	s.ws.on('close', () => { if (s.open && !s.stopping) closedEarly++; s.open = false; });
	sessions.push(s);
}

const t0 = Date.now();
let next = t0;
function tick() {
	for (const s of sessions) {
		if (!s.open) continue;
		s.chunk++;
		s.ws.send(`{"event":"media","streamSid":"${s.sid}","media":{"track":"inbound","chunk":"${s.chunk}","timestamp":"${s.chunk * 20}","payload":"${silence}"}}`);
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
	let max = 0, rx = 0, marks = 0, clears = 0;
	for (const s of sessions) {
		s.stopping = true;
		if (s.open)
			s.ws.send(JSON.stringify({ event: 'stop', streamSid: s.sid, stop: {} }));
		med.push(pct(s.iv, 50));
		p99.push(pct(s.iv, 99));
		for (const v of s.iv) if (v > max) max = v;
		rx += s.rx; marks += s.marks; clears += s.clears;
	}
	const out = { sessions: N, opened, errors, closed_early: closedEarly,
		secs: SECS, rx_per_sess_s: +(rx / N / SECS).toFixed(1), marks, clears,
		jit_p50_us: pct(med, 50), jit_p99_us: Math.max(...p99), jit_max_us: max };
	process.stdout.write(JSON.stringify(out) + '\n');
	setTimeout(() => process.exit(0), 300);
}
