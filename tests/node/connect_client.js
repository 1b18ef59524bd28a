// Plays the AWS side of voxgate's Connect endpoints for the integration
// tests: signs a fixture like the forwarding Lambda (examples/connect/
// lambda/index.mjs, imported here so the example is what is tested), posts
// it and prints {"status":N,"body":<json or text>} per request.
//   node connect_client.js URL KEY SECRET PATH BODYFILE [options]
// Options: --params JSON (merged into Details.Parameters), --contact ID
// (ContactId), --bad-sig, --wrong-key, --stale, --replay (send twice, print
// both), --handler (call the Lambda handler itself instead; PATH then only
// picks the function via VOXGATE_FUNCTION).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

async function main() {
  const [url, key, secret, route, file, ...opts] = process.argv.slice(2);
  const fwd = await import(path.join(__dirname, '../../examples/connect/lambda/index.mjs'));
  let raw = fs.readFileSync(file, 'utf8');
  const o = {};
  for (let i = 0; i < opts.length; i++) {
    const a = opts[i];
    if (a === '--params' || a === '--contact') o[a] = opts[++i];
    else o[a] = true;
  }
  if (o['--params'] || o['--contact']) {
    const ev = JSON.parse(raw.replace(/^\uFEFF/, ''));
    if (o['--params'])
      ev.Details.Parameters = { ...(ev.Details.Parameters || {}), ...JSON.parse(o['--params']) };
    if (o['--contact']) ev.Details.ContactData.ContactId = o['--contact'];
    raw = JSON.stringify(ev);
  }
  if (o['--handler']) {
    process.env.VOXGATE_URL = url;
    process.env.VOXGATE_API_KEY = key;
    process.env.VOXGATE_SECRET = secret;
    process.env.VOXGATE_FUNCTION = route.split('/').pop();
    try {
      const out = await fwd.handler(JSON.parse(raw.replace(/^\uFEFF/, '')));
      console.log(JSON.stringify({ status: 200, body: out }));
    } catch (e) {
      console.log(JSON.stringify({ status: 0, error: String(e.message) }));
    }
    return;
  }
  const now = Date.now();
  const send = async () => {
    const res = await fwd.post(url + route, o['--wrong-key'] ? key + 'x' : key, secret, raw, {
      timestamp: o['--stale'] ? now - 600000 : now,
      signature: o['--bad-sig'] ? fwd.sign(secret + 'x', now, raw) : undefined,
    });
    return { status: res.status, body: res.json ?? res.text };
  };
  const first = await send();
  if (o['--replay']) {
    const second = await send();
    console.log(JSON.stringify({ status: first.status, body: first.body, replay: second }));
  } else {
    console.log(JSON.stringify(first));
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
