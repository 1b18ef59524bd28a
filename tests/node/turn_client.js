// One caller turn through a voxgate adapter, timed as the caller hears it,
// for bench/adapter_turns.sh. Prints one JSON line; exits 0 when a turn was
// measured, 1 when not (the line says why), 2 on a usage error.
//
//   --proto mstream  Twilio Media Streams (signed upgrade, connected/start,
//                    mu-law media JSON at real-time pace; marks echoed on
//                    arrival, the daemon paces its audio in real time)
//   --proto audioconnector  Genesys Audio Connector (signed upgrade, open
//                    with one PCMU offer, 160-byte binary frames)
//   --proto gather   Twilio webhooks: POST /twilio/voice then /twilio/gather
//                    with SpeechResult; the turn is the gather answer time
//
// Media protos: silence until the bot's opening prompts end (--gap ms of
// silent bot audio after its first voiced frame), then the caller's speech
// (--ulaw, 8 kHz mu-law), then silence. turn_ms = arrival of the first
// voiced bot frame (RMS > 300 of the decoded samples) at or after
// voiced_end, the end of the last voiced 20 ms frame we sent; call_id names
// the call for GET /v1/calls.
//
//   node turn_client.js --proto mstream --port P --public URL --token T
//        --ulaw F [--gap 700] [--timeout 40000]
//   node turn_client.js --proto audioconnector --port P --key K --secret B64
//        --ulaw F [--gap 700] [--timeout 40000]
//   node turn_client.js --proto gather --base URL --public URL --token T
//        --say "I want to check my balance"
'use strict';
const crypto = require('crypto');
const fs = require('fs');

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2)
	args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const proto = args.proto;
const t0 = process.hrtime.bigint();
const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
const out = { proto, turn_ms: -1 };
let done = false;
const finish = (why) => {
	if (done)
		return;
	done = true;
	if (why)
		out.error = why;
	out.t_end_ms = Math.round(ms());
	process.stdout.write(JSON.stringify(out) + '\n');
	process.exit(out.turn_ms >= 0 ? 0 : 1);
};
setTimeout(() => finish('timeout'), Number(args.timeout || 40000));

// G.711 mu-law to linear (ITU-T G.711), and the voiced test of asclient.
function ulaw2lin(u) {
	u = ~u & 0xff;
	let t = ((u & 0x0f) << 3) + 0x84;
	t <<= (u & 0x70) >> 4;
	return (u & 0x80) ? 0x84 - t : t - 0x84;
}
function voiced(buf) {
	let e = 0;
	for (const b of buf) {
		const s = ulaw2lin(b);
		e += s * s;
	}
	return buf.length > 0 && Math.sqrt(e / buf.length) > 300;
}

// Caller side shared by the media protos.
const gap = Number(args.gap || 700);
const speech = args.ulaw ? fs.readFileSync(args.ulaw) : Buffer.alloc(0);
let firstVoiced = -1, lastVoicedRx = -1, promptEnd = -1;
let speakPos = -1, voicedEnd = -1;
function nextFrame() {
	const now = ms();
	// The WebSocket adapters send nothing between prompts: silence is
	// also no frame at all for --gap ms.
	if (firstVoiced >= 0 && promptEnd < 0 && now - lastVoicedRx >= gap)
		promptEnd = out.prompt_end_ms = Math.round(now);
	if (speakPos < 0 && promptEnd >= 0) {
		speakPos = 0;
		out.speak_start_ms = Math.round(now);
	}
	if (speakPos < 0 || speakPos >= speech.length)
		return Buffer.alloc(160, 0xff);
	const f = Buffer.alloc(160, 0xff);
	speech.copy(f, 0, speakPos, Math.min(speech.length, speakPos + 160));
	speakPos += 160;
	if (voiced(f))
		voicedEnd = now + 20; // this frame's audio ends 20 ms later
	if (speakPos >= speech.length) {
		out.voiced_end_ms = Math.round(voicedEnd);
		out.voiced_end_epoch_ms = Date.now() - Math.round(now - voicedEnd);
	}
	return f;
}
function botFrame(p) {
	const now = ms();
	out.bot_frames = (out.bot_frames || 0) + 1;
	if (speakPos >= speech.length && voicedEnd >= 0 && now >= voicedEnd &&
	    out.first_rx_ms === undefined)
		out.first_rx_ms = Math.round(now - voicedEnd); // any bot frame
	if (!voiced(p)) {
		if (firstVoiced >= 0 && promptEnd < 0 && now - lastVoicedRx >= gap)
			promptEnd = out.prompt_end_ms = Math.round(now);
		return;
	}
	if (firstVoiced < 0)
		firstVoiced = now;
	lastVoicedRx = now;
	if (speakPos >= speech.length && voicedEnd >= 0 && now >= voicedEnd &&
	    out.turn_ms < 0) {
		out.reply_ms = Math.round(now);
		out.turn_ms = Math.round((now - voicedEnd) * 10) / 10;
		// One turn is all we measure: hang up like a caller would.
		setTimeout(() => finish(), 200);
	}
}
function paced(fn) {
	let next = ms();
	const tick = () => {
		if (done)
			return;
		fn();
		next += 20;
		setTimeout(tick, Math.max(0, next - ms()));
	};
	tick();
}

function mstream() {
	const WebSocket = require('ws');
	const twilio = require('twilio');
	const sid = 'MZ' + crypto.randomBytes(16).toString('hex');
	const callSid = 'CA' + crypto.randomBytes(16).toString('hex');
	out.call_id = callSid;
	const path = '/twilio/media';
	const url = args.public.replace(/^https:/, 'wss:').replace(/^http:/, 'ws:') + path;
	const ws = new WebSocket(`ws://127.0.0.1:${args.port}${path}`, { headers: {
		'X-Twilio-Signature': twilio.getExpectedTwilioSignature(args.token, url, {}) } });
	let seq = 1, chunk = 0;
	const send = (o) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(o));
	ws.on('unexpected-response', (req, res) => finish('upgrade refused ' + res.statusCode));
	ws.on('error', (e) => finish('ws: ' + (e.message || e)));
	ws.on('close', () => finish('closed before a reply'));
	ws.on('open', () => {
		send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
		send({ event: 'start', sequenceNumber: String(seq++), streamSid: sid,
			start: { accountSid: 'AC1', streamSid: sid, callSid, tracks: ['inbound'],
				mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
				customParameters: { flow: args.flow || 'bank-hotline' } } });
		paced(() => {
			chunk++;
			send({ event: 'media', sequenceNumber: String(seq++), streamSid: sid,
				media: { track: 'inbound', chunk: String(chunk),
					timestamp: String(chunk * 20),
					payload: nextFrame().toString('base64') } });
		});
	});
	ws.on('message', (data) => {
		let m;
		try { m = JSON.parse(data.toString()); } catch (e) { return; }
		if (m.event === 'media')
			botFrame(Buffer.from(m.media.payload, 'base64'));
		else if (m.event === 'mark')
			send({ event: 'mark', sequenceNumber: String(seq++), streamSid: sid,
				mark: { name: m.mark.name } });
	});
}

function audioconnector() {
	const WebSocket = require('ws');
	const path = '/genesys/audioconnector';
	const authority = `127.0.0.1:${args.port}`;
	const org = 'd7934305-0972-4844-938e-9060eef73d05';
	const sid = crypto.randomUUID(), corr = crypto.randomUUID();
	const comps = [['@request-target', path], ['@authority', authority],
		['audiohook-organization-id', org], ['audiohook-session-id', sid],
		['audiohook-correlation-id', corr], ['x-api-key', args.key]];
	const now = Math.floor(Date.now() / 1000);
	const params = `;keyid="${args.key}";nonce="${crypto.randomBytes(16).toString('base64')}"` +
		`;alg="hmac-sha256";created=${now};expires=${now + 300}`;
	const names = '(' + comps.map((c) => `"${c[0]}"`).join(' ') + ')';
	const base = comps.map((c) => `"${c[0]}": ${c[1]}`).join('\n') +
		`\n"@signature-params": ${names}${params}`;
	const sig = crypto.createHmac('sha256', Buffer.from(args.secret, 'base64'))
		.update(base).digest('base64');
	const ws = new WebSocket(`ws://${authority}${path}`, { headers: {
		'Audiohook-Organization-Id': org, 'Audiohook-Session-Id': sid,
		'Audiohook-Correlation-Id': corr, 'X-API-KEY': args.key,
		'Signature-Input': `sig1=${names}${params}`, 'Signature': `sig1=:${sig}:` } });
	const conv = crypto.randomUUID();
	out.session_id = sid;
	out.call_id = conv; // the CDR's sip_call_id
	let seq = 1, serverseq = 0, sentMs = 0;
	const send = (type, p) => ws.readyState === WebSocket.OPEN &&
		ws.send(JSON.stringify({ version: '2', id: sid, type, seq: seq++, serverseq,
			position: `PT${(sentMs / 1000).toFixed(2)}S`, parameters: p || {} }));
	ws.on('unexpected-response', (req, res) => finish('upgrade refused ' + res.statusCode));
	ws.on('error', (e) => finish('ws: ' + (e.message || e)));
	ws.on('close', () => finish('closed before a reply'));
	ws.on('open', () => send('open', { organizationId: org,
		conversationId: conv,
		participant: { id: crypto.randomUUID(), ani: '+15551230001',
			aniName: 'Bench', dnis: '+18005550100' },
		media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }],
		language: 'en-US', inputVariables: { flow: args.flow || 'bank-hotline' },
		customConfig: {} }));
	ws.on('message', (data, isBinary) => {
		if (isBinary) {
			botFrame(data);
			return;
		}
		let m;
		try { m = JSON.parse(data.toString()); } catch (e) { return; }
		serverseq = m.seq;
		if (m.type === 'opened')
			paced(() => {
				if (ws.readyState === WebSocket.OPEN)
					ws.send(nextFrame(), { binary: true });
				sentMs += 20;
			});
		else if (m.type === 'disconnect')
			send('close', { reason: 'end' });
	});
}

async function gather() {
	const twilio = require('twilio');
	const callSid = 'CA' + crypto.randomBytes(16).toString('hex');
	out.call_id = callSid;
	const post = async (path, params) => {
		const sig = twilio.getExpectedTwilioSignature(args.token, args.public + path, params);
		const a = ms();
		const res = await fetch(args.base + path, { method: 'POST',
			headers: { 'Content-Type': 'application/x-www-form-urlencoded',
				'X-Twilio-Signature': sig },
			body: new URLSearchParams(params).toString(),
			signal: AbortSignal.timeout(15000) });
		const text = await res.text();
		return { status: res.status, text, ms: ms() - a };
	};
	const common = { CallSid: callSid, AccountSid: 'AC0123', From: '+15551230001',
		To: '+18005550100' };
	const v = await post('/twilio/voice', { ...common, CallStatus: 'ringing' });
	if (v.status !== 200 || !/<Gather/.test(v.text))
		return finish(`voice webhook: ${v.status} ${v.text.slice(0, 200)}`);
	const g = await post('/twilio/gather', { ...common, CallStatus: 'in-progress',
		SpeechResult: args.say || 'I want to check my balance', Confidence: '0.92' });
	if (g.status !== 200 || !/<Say/.test(g.text))
		return finish(`gather webhook: ${g.status} ${g.text.slice(0, 200)}`);
	out.turn_ms = Math.round(g.ms * 10) / 10;
	out.answer = g.text.slice(0, 300);
	// Hang up so the call's CDR ends.
	await post('/twilio/status', { ...common, CallStatus: 'completed' }).catch(() => {});
	finish();
}

if (proto === 'mstream')
	mstream();
else if (proto === 'audioconnector')
	audioconnector();
else if (proto === 'gather')
	gather().catch((e) => finish('gather: ' + (e.message || e)));
else {
	process.stderr.write('usage: turn_client.js --proto mstream|audioconnector|gather ...\n');
	process.exit(2);
}
