// Plays Twilio's side of a Media Streams session against voxgate: signs the
// WebSocket upgrade with the official helper (getExpectedTwilioSignature
// over the wss:// URL), sends connected/start, streams mu-law at real-time
// pace (20 ms chunks), plays our media back on a simulated 20 ms playout
// clock, echoes marks when the audio queued before them has "played" (and
// at once for every mark dropped by a clear, as Twilio does), and prints
// one JSON summary line. Modes:
//   speech  silence until the second prompt has played ~1 s, then the
//           caller's speech (--ulaw) over it, then silence until closed
//   dtmf    a DTMF digit (--digit) ~1 s into the second prompt, then `stop`
//           once the reply has started
//   badsig  an upgrade with a wrong signature: expects the refusal
//   badformat  a start with 16 kHz L16 audio: expects the stream closed
//   silent  opens the WebSocket and sends nothing: expects it closed
//   nomark  never echoes marks: prompts must still end (mark timeout);
//           sends `stop` once the second prompt has played 1 s
//   junk    malformed JSON, an unknown event, a binary frame, bad base64
//           and an oversized frame, then a dtmf session whose chunks are
//           partly out of order (and one late duplicate)
// Usage: node mstream_client.js --port P --public URL --token T --mode M
//        [--ulaw file] [--digit 1] [--sid MZ..] [--query a=1&b=2]
//        [--timeout ms]
'use strict';
const fs = require('fs');
const WebSocket = require('ws');
const twilio = require('twilio');

const args = {};
for (let i = 2; i < process.argv.length; i += 2)
	args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const mode = args.mode || 'speech';
const sid = args.sid || 'MZ' + Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32);
const callSid = args.callsid || 'CA' + sid.slice(2);
const path = '/twilio/media';
const query = args.query ? '?' + args.query : '';
const signedUrl = args.public.replace(/^https:/, 'wss:').replace(/^http:/, 'ws:') + path + query;
let sig = twilio.getExpectedTwilioSignature(args.token, signedUrl, {});
if (mode === 'badsig')
	sig = twilio.getExpectedTwilioSignature('not-the-token', signedUrl, {});

const out = { mode, sid, callSid, media_rx: 0, marks_rx: 0, marks_echoed: 0,
	clears: 0, prompts: 0, closed: false, bad_outbound: 0 };
const t0 = Date.now();
const ms = () => Date.now() - t0;
const finish = (code) => {
	out.t_end_ms = ms();
	process.stdout.write(JSON.stringify(out) + '\n');
	process.exit(code);
};
setTimeout(() => { out.timeout = true; finish(2); }, Number(args.timeout || 40000));

const ws = new WebSocket(`ws://127.0.0.1:${args.port}${path}${query}`, {
	headers: { 'X-Twilio-Signature': sig } });
ws.on('unexpected-response', (req, res) => {
	out.status = res.statusCode;
	finish(mode === 'badsig' ? 0 : 1);
});
ws.on('error', (e) => { out.error = String(e.message || e); });

const send = (o) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(o));

// Simulated Twilio playout: a queue of 20 ms frames and marks.
const queue = [];
let playing = false;   // a prompt's audio is being played
let promptStartMs = -1;
let chunk = 0;
let seq = 1;
let speechAt = -1;     // when the caller starts speaking
let speechPos = 0;
const speech = args.ulaw ? fs.readFileSync(args.ulaw) : Buffer.alloc(0);
let dtmfSent = false, stopSent = false;

function playTick() {
	// Marks at the head of the queue are echoed once what was before
	// them has played; then one 20 ms frame plays.
	while (queue.length && queue[0].mark) {
		const m = queue.shift();
		playing = false;
		if (mode === 'nomark')
			continue;
		send({ event: 'mark', sequenceNumber: String(seq++), streamSid: sid,
			mark: { name: m.mark } });
		out.marks_echoed++;
		playing = false;
	}
	if (queue.length) {
		queue.shift();
		if (!playing) {
			playing = true;
			out.prompts++;
			promptStartMs = ms();
			out['prompt' + out.prompts + '_start_ms'] = promptStartMs;
		}
	}
}

function sendChunk() {
	let payload;
	if (speechAt >= 0 && speechPos < speech.length) {
		payload = speech.subarray(speechPos, speechPos + 160);
		speechPos += 160;
		if (speechPos >= speech.length)
			out.speech_end_ms = ms();
	} else {
		payload = Buffer.alloc(160, 0xff); // mu-law silence
	}
	chunk++;
	const msg = { event: 'media', sequenceNumber: String(seq++), streamSid: sid,
		media: { track: 'inbound', chunk: String(chunk),
			timestamp: String(chunk * 20), payload: payload.toString('base64') } };
	if (mode === 'junk') {
		// Out of order: every 50th chunk goes after the next one; chunk
		// 100 is followed by a late copy of chunk 10.
		if (chunk % 50 === 0) { held = msg; return; }
		send(msg);
		if (held) { send(held); held = null; out.swapped = (out.swapped || 0) + 1; }
		if (chunk === 101) {
			send({ event: 'media', streamSid: sid, media: { track: 'inbound',
				chunk: '10', timestamp: '200', payload: payload.toString('base64') } });
			out.late_sent = 1;
		}
		return;
	}
	send(msg);
}
let held = null;

function scenario() {
	const now = ms();
	if (out.prompts >= 2 && playing && now - promptStartMs > 1000) {
		if (mode === 'speech' && speechAt < 0 && speech.length) {
			speechAt = now;
			out.speech_start_ms = now;
		}
		if ((mode === 'dtmf' || mode === 'junk') && !dtmfSent) {
			dtmfSent = true;
			out.dtmf_ms = now;
			send({ event: 'dtmf', streamSid: sid, sequenceNumber: String(seq++),
				dtmf: { track: 'inbound_track', digit: args.digit || '1' } });
		}
	}
	if (mode === 'nomark' && out.prompts >= 2 && now - promptStartMs > 1000 &&
	    !stopSent) {
		stopSent = true;
		out.stop_ms = now;
		send({ event: 'stop', streamSid: sid, stop: {} });
	}
	if ((mode === 'dtmf' || mode === 'junk') && dtmfSent && !stopSent &&
	    out.reply_start_ms && now - out.reply_start_ms > 500) {
		stopSent = true;
		out.stop_ms = now;
		send({ event: 'stop', sequenceNumber: String(seq++), streamSid: sid,
			stop: { accountSid: 'AC1', callSid } });
	}
}

ws.on('open', () => {
	out.open_ms = ms();
	if (mode === 'silent')
		return;
	send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
	if (mode === 'junk') {
		ws.send('{not json');
		ws.send(JSON.stringify({ event: 'frobnicate', streamSid: sid }));
		ws.send(Buffer.from([1, 2, 3]), { binary: true });
		ws.send('x'.repeat(40000));
	}
	send({ event: 'start', sequenceNumber: String(seq++), streamSid: sid,
		start: { accountSid: 'AC1', streamSid: sid, callSid,
			tracks: ['inbound'],
			mediaFormat: { encoding: mode === 'badformat' ? 'audio/x-l16' : 'audio/x-mulaw',
				sampleRate: mode === 'badformat' ? 16000 : 8000, channels: 1 },
			customParameters: { flow: args.flow || 'bank-hotline',
				from: '+15550001111', to: '+18005550100' } } });
	if (mode === 'junk')
		send({ event: 'media', streamSid: sid, media: { chunk: '0', payload: '*bad*' } });
	// Real-time pace on an absolute schedule.
	let next = Date.now();
	const tick = () => {
		playTick();
		sendChunk();
		scenario();
		next += 20;
		setTimeout(tick, Math.max(0, next - Date.now()));
	};
	tick();
});

ws.on('message', (data, isBinary) => {
	if (isBinary) { out.bad_outbound++; return; }
	let m;
	try { m = JSON.parse(data.toString()); } catch (e) { out.bad_outbound++; return; }
	if (m.streamSid !== sid) out.bad_outbound++;
	if (m.event === 'media') {
		const p = Buffer.from(m.media.payload, 'base64');
		if (p.length !== 160) out.bad_outbound++;
		out.media_rx++;
		queue.push({ frame: p });
		if (out.queue_max === undefined || queue.length > out.queue_max)
			out.queue_max = queue.length;
		if ((speechAt >= 0 || dtmfSent) && out.clears > 0 && !out.reply_start_ms)
			out.reply_start_ms = ms();
	} else if (m.event === 'mark') {
		out.marks_rx++;
		queue.push({ mark: m.mark.name });
	} else if (m.event === 'clear') {
		out.clears++;
		out.clear_ms = out.clear_ms || ms();
		// Twilio drops queued audio and returns the marks in it.
		for (const q of queue.splice(0))
			if (q.mark) {
				send({ event: 'mark', streamSid: sid, mark: { name: q.mark } });
				out.marks_echoed++;
			}
		playing = false;
	} else {
		out.bad_outbound++;
	}
});

ws.on('close', (code) => {
	out.closed = true;
	out.close_code = code;
	finish(0);
});
