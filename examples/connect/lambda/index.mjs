// The thin forwarding Lambda for voxgate's Amazon Connect endpoints
// (docs/CONNECT.md, examples/connect/README.md). Node.js 20, no packages.
//
// Connect's "Invoke AWS Lambda function" block calls it with the
// contact-flow event; a Lex V2 bot calls it as its code hook. It signs the
// event exactly as received and POSTs it to voxgate:
//   contact-flow events -> $VOXGATE_URL/connect/lambda/<function>
//   Lex V2 events       -> $VOXGATE_URL/connect/lex
// and returns voxgate's answer (a STRING_MAP, JSON, or a Lex sessionState).
//
// Environment: VOXGATE_URL (https://vg.example.com, no trailing /),
// VOXGATE_API_KEY, VOXGATE_SECRET (the HMAC key, >= 16 characters),
// VOXGATE_FUNCTION (default function, "flow"; a contact flow may pick
// another with the Lambda parameter voxgate_function), VOXGATE_TIMEOUT_MS
// (default 7000: Connect waits at most 8 s for a Lambda).
import { createHmac } from 'node:crypto';

// X-Voxgate-Signature: v1=hex(HMAC-SHA256(secret, ts + "." + body)); ts is
// the X-Voxgate-Timestamp value as sent (Unix seconds or milliseconds).
export function sign(secret, ts, body) {
  return 'v1=' + createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
}

// POST body (a string) to url, signed; resolves to {status, json}.
export async function post(url, apiKey, secret, body, opts = {}) {
  // Milliseconds: two identical events in one second still differ.
  const ts = opts.timestamp ?? Date.now();
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), opts.timeoutMs ?? 7000);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Api-Key': apiKey,
        'X-Voxgate-Timestamp': String(ts),
        'X-Voxgate-Signature': opts.signature ?? sign(secret, ts, body),
      },
      body,
      signal: ctl.signal,
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { json = null; }
    return { status: res.status, json, text };
  } finally {
    clearTimeout(timer);
  }
}

// Where an event goes: Lex V2 events carry invocationSource.
export function target(event, env = process.env) {
  const base = (env.VOXGATE_URL || '').replace(/\/+$/, '');
  if (event && typeof event.invocationSource === 'string')
    return `${base}/connect/lex`;
  const fn = event?.Details?.Parameters?.voxgate_function || env.VOXGATE_FUNCTION || 'flow';
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(fn)) throw new Error(`bad function name ${fn}`);
  return `${base}/connect/lambda/${fn}`;
}

export const handler = async (event) => {
  const env = process.env;
  if (!env.VOXGATE_URL || !env.VOXGATE_API_KEY || !env.VOXGATE_SECRET)
    throw new Error('VOXGATE_URL, VOXGATE_API_KEY and VOXGATE_SECRET must be set');
  const res = await post(target(event, env), env.VOXGATE_API_KEY, env.VOXGATE_SECRET,
    JSON.stringify(event), { timeoutMs: Number(env.VOXGATE_TIMEOUT_MS || 7000) });
  if (res.status !== 200 || !res.json) {
    // A thrown error takes the block's Error branch in Connect (and fails
    // the Lex turn), which is what a flow should handle.
    throw new Error(`voxgate answered ${res.status}: ${res.text.slice(0, 200)}`);
  }
  return res.json;
};
