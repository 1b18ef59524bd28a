// Plays Genesys Cloud's side of an Audio Connector session against voxgate:
// signs the WebSocket upgrade (X-API-KEY + HTTP message signature,
// hmac-sha256 over @request-target @authority audiohook-organization-id
// audiohook-session-id audiohook-correlation-id x-api-key), sends `open`
// with one mono PCMU external offer and inputVariables.flow, streams PCMU
// at real-time pace (20 ms binary frames; silence, or the caller's speech),
// takes the bot's binary audio on a simulated playout clock (to measure how
// far it runs ahead of real time), answers `disconnect` with `close`, and
// prints one JSON summary line. Modes:
//   speech  silence until 3 s of bot audio arrived (the menu prompt plays),
//           then the caller's speech (--ulaw) over it
//   dtmf    a `dtmf` message (--digit) once 3 s of bot audio arrived
//   badkey  an upgrade with a wrong API key: expects the refusal
//   pause   once 1 s of bot audio arrived: `paused`, no audio for --quiet
//           ms, `resumed`, audio again, then a `dtmf` (--digit)
//   mute    as pause without `paused`/`resumed` (the line goes silent)
// Usage: node audioconnector_client.js --port P --key K --secret B64
//        --mode M [--ulaw file] [--digit 1] [--flow bank-hotline]
//        [--timeout ms]
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const WebSocket = require('ws');

const args = {};
for (let i = 2; i < process.argv.length; i += 2)
	args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const mode = args.mode || 'dtmf';
const path = '/genesys/audioconnector';
const authority = `127.0.0.1:${args.port}`;
const org = 'd7934305-0972-4844-938e-9060eef73d05';
const sid = crypto.randomUUID();
const corr = crypto.randomUUID();
const conv = crypto.randomUUID();
const apiKey = mode === 'badkey' ? 'not-the-key' : args.key;

function sign() {
	const comps = [['@request-target', path], ['@authority', authority],
		['audiohook-organization-id', org], ['audiohook-session-id', sid],
		['audiohook-correlation-id', corr], ['x-api-key', apiKey]];
	const now = Math.floor(Date.now() / 1000);
	const params = `;keyid="${apiKey}";nonce="${crypto.randomBytes(16).toString('base64')}"` +
		`;alg="hmac-sha256";created=${now};expires=${now + 300}`;
	const names = '(' + comps.map((c) => `"${c[0]}"`).join(' ') + ')';
	const base = comps.map((c) => `"${c[0]}": ${c[1]}`).join('\n') +
		`\n"@signature-params": ${names}${params}`;
	const key = Buffer.from(args.secret, 'base64');
	const sig = crypto.createHmac('sha256', key).update(base).digest('base64');
	return { input: `sig1=${names}${params}`, sig: `sig1=:${sig}:` };
}

const out = { mode, sid, bot_frames: 0, bad_outbound: 0, barge_ins: 0,
	events: [], opened: false, closed: false, disconnect: null,
	ahead_max_ms: 0, frame_bytes_bad: 0 };
const t0 = Date.now();
const ms = () => Date.now() - t0;
const finish = (code) => {
	out.t_end_ms = ms();
	process.stdout.write(JSON.stringify(out) + '\n');
	process.exit(code);
};
setTimeout(() => { out.timeout = true; finish(2); }, Number(args.timeout || 60000));

const s = sign();
const ws = new WebSocket(`ws://${authority}${path}`, { headers: {
	'Audiohook-Organization-Id': org, 'Audiohook-Session-Id': sid,
	'Audiohook-Correlation-Id': corr, 'X-API-KEY': apiKey,
	'Signature-Input': s.input, 'Signature': s.sig } });
ws.on('unexpected-response', (req, res) => {
	out.status = res.statusCode;
	finish(mode === 'badkey' ? 0 : 1);
});
ws.on('error', (e) => { out.error = String(e.message || e); });

let seq = 1, serverseq = 0, sentMs = 0;
const position = () => `PT${(sentMs / 1000).toFixed(2)}S`;
const send = (type, parameters) => ws.readyState === WebSocket.OPEN &&
	ws.send(JSON.stringify({ version: '2', id: sid, type, seq: seq++,
		serverseq, position: position(), parameters: parameters || {} }));

const speech = args.ulaw ? fs.readFileSync(args.ulaw) : Buffer.alloc(0);
let speechAt = -1, speechPos = 0, dtmfSent = false;
let quietFrom = -1, resumed = false;
const quietMs = Number(args.quiet || 5000);
let playEnd = 0; // simulated playout: when the audio we hold has played
let lastFrameMs = -1;

function sendAudio() {
	let payload;
	if (speechAt >= 0 && speechPos < speech.length) {
		payload = Buffer.alloc(160, 0xff);
		speech.copy(payload, 0, speechPos, Math.min(speech.length, speechPos + 160));
		speechPos += 160;
		if (speechPos >= speech.length)
			out.speech_end_ms = ms();
	} else {
		payload = Buffer.alloc(160, 0xff); // PCMU silence
	}
	if (ws.readyState === WebSocket.OPEN)
		ws.send(payload, { binary: true });
	sentMs += 20;
}

function scenario() {
	const now = ms();
	if ((mode === 'pause' || mode === 'mute') && !out.disconnect) {
		if (quietFrom < 0 && out.bot_frames >= 50) {
			quietFrom = now;
			out.quiet_start_ms = now;
			if (mode === 'pause') send('paused', {});
		} else if (quietFrom >= 0 && !resumed && now - quietFrom >= quietMs) {
			resumed = true;
			out.quiet_end_ms = now;
			if (mode === 'pause') send('resumed', {});
		} else if (resumed && !dtmfSent && now - quietFrom >= quietMs + 500) {
			dtmfSent = true;
			out.dtmf_ms = now;
			send('dtmf', { digit: args.digit || '1' });
		}
		return;
	}
	if (out.bot_frames < 150 || out.disconnect)
		return;
	if (mode === 'speech' && speechAt < 0 && speech.length) {
		speechAt = now;
		out.speech_start_ms = now;
		out.frames_before_speech = out.bot_frames;
	}
	if (mode === 'dtmf' && !dtmfSent) {
		dtmfSent = true;
		out.dtmf_ms = now;
		out.frames_before_dtmf = out.bot_frames;
		send('dtmf', { digit: args.digit || '1' });
	}
}

ws.on('open', () => {
	out.open_ms = ms();
	send('open', { organizationId: org, conversationId: conv,
		participant: { id: crypto.randomUUID(), ani: '+15551230001',
			aniName: 'Test Caller', dnis: '+18005550100' },
		media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }],
		language: 'en-US',
		inputVariables: { flow: args.flow || 'bank-hotline' },
		customConfig: {} });
});

let ticking = false;
function startAudio() {
	if (ticking)
		return;
	ticking = true;
	let next = Date.now();
	const tick = () => {
		if (ws.readyState !== WebSocket.OPEN)
			return;
		const quiet = quietFrom >= 0 && !resumed;
		if (!out.disconnect && !quiet)
			sendAudio();
		scenario();
		next += 20;
		setTimeout(tick, Math.max(0, next - Date.now()));
	};
	tick();
}

ws.on('message', (data, isBinary) => {
	const now = ms();
	if (isBinary) {
		if (!out.opened || data.length !== 160) out.frame_bytes_bad++;
		out.bot_frames++;
		if (out.first_frame_ms === undefined) out.first_frame_ms = now;
		// A gap of 100 ms or more between frames starts a new prompt.
		if (lastFrameMs < 0 || now - lastFrameMs >= 100)
			out.prompts = (out.prompts || 0) + 1;
		lastFrameMs = now;
		out.last_frame_ms = now;
		playEnd = Math.max(playEnd, now) + 20;
		out.ahead_max_ms = Math.max(out.ahead_max_ms, playEnd - now - 20);
		if ((speechAt >= 0 || dtmfSent) && out.barge_ins > 0 && !out.reply_start_ms)
			out.reply_start_ms = now;
		return;
	}
	let m;
	try { m = JSON.parse(data.toString()); } catch (e) { out.bad_outbound++; return; }
	if (m.version !== '2' || m.id !== sid || typeof m.seq !== 'number') out.bad_outbound++;
	serverseq = m.seq;
	if (m.clientseq !== undefined && m.clientseq >= seq) out.bad_outbound++;
	if (m.type === 'opened') {
		out.opened = true;
		out.opened_media = m.parameters && m.parameters.media;
		startAudio();
	} else if (m.type === 'event') {
		for (const e of (m.parameters && m.parameters.entities) || []) {
			out.events.push(e.type);
			if (e.type === 'barge_in') {
				out.barge_ins++;
				out.barge_in_ms = out.barge_in_ms || now;
				playEnd = now; // Genesys drops what it holds
			}
		}
	} else if (m.type === 'disconnect') {
		out.disconnect = m.parameters || {};
		out.disconnect_ms = now;
		send('close', { reason: 'end' });
	} else if (m.type === 'closed') {
		out.closed_msg = true;
		ws.close();
	} else if (m.type === 'pong' || m.type === 'updated') {
		// nothing
	} else {
		out.other = (out.other || []).concat(m.type);
	}
});

ws.on('close', (code) => {
	out.closed = true;
	out.close_code = code;
	finish(0);
});
