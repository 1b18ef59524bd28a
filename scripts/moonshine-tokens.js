#!/usr/bin/env node
// Writes the tokens.txt sherpa-onnx needs for Moonshine from the vocabulary
// embedded in @moonshine-ai/moonshine-js (dist/moonshine.min.js), which ships
// no tokens file: a base64 string decoding to one token per line, "<unk>"
// first. Usage: moonshine-tokens.js <moonshine.min.js> <tokens.txt>
//
// sherpa-onnx decodes Moonshine's tokens as base64 of the token's bytes, one
// "<base64> <id>" line each: the SentencePiece word marker U+2581 becomes a
// space and byte-fallback tokens "<0xNN>" become that byte. Ids 0-2 (<unk>,
// <s>, </s>) and <0x00> are left out: they never appear in text (and a NUL
// byte would cut the C string).
'use strict';
const fs = require('fs');

const VOCAB_SIZE = 32000;
// base64("<unk>\n<s>\n</s>\n"): where the embedded vocabulary starts.
const HEAD = Buffer.from('<unk>\n<s>\n</s>\n').toString('base64').slice(0, 16);

function die(msg) {
	process.stderr.write(`moonshine-tokens: ${msg}\n`);
	process.exit(1);
}

function findVocab(js) {
	const re = /"([A-Za-z0-9+/=]{1000,})"/g;
	let m;
	while ((m = re.exec(js)) !== null) {
		if (m[1].startsWith(HEAD))
			return m[1];
	}
	return null;
}

function tokenBytes(tok) {
	const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(tok);
	if (byte)
		return Buffer.from([parseInt(byte[1], 16)]);
	return Buffer.from(tok.replace(/\u2581/g, ' '), 'utf8');
}

function main() {
	const [src, dst] = process.argv.slice(2);
	if (!src || !dst)
		die('usage: moonshine-tokens.js <moonshine.min.js> <tokens.txt>');
	const b64 = findVocab(fs.readFileSync(src, 'utf8'));
	if (!b64)
		die(`no embedded vocabulary in ${src}`);
	const toks = Buffer.from(b64, 'base64').toString('utf8').split('\n');
	if (toks.length !== VOCAB_SIZE || toks[0] !== '<unk>' ||
	    toks[1] !== '<s>' || toks[2] !== '</s>' || toks[3] !== '<0x00>')
		die(`unexpected vocabulary (${toks.length} tokens, first ` +
		    `${JSON.stringify(toks.slice(0, 4))})`);
	const lines = [];
	for (let id = 3; id < toks.length; id++) {
		if (toks[id] === '<0x00>')
			continue;
		if (toks[id] === '')
			die(`empty token at id ${id}`);
		lines.push(`${tokenBytes(toks[id]).toString('base64')} ${id}`);
	}
	fs.writeFileSync(dst, lines.join('\n') + '\n');
}

main();
