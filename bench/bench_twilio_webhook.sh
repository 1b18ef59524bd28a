#!/usr/bin/env bash
# bench/bench_twilio_webhook.sh BUILD_DIR: Twilio webhook latency under load.
#
# Starts BUILD_DIR/src/voxgate on loopback with twilio.enabled (log.level
# warn, a temp store), then for every step runs tests/tools/twload with N
# keep-alive connections for SECS seconds: each connection runs calls back
# to back, POST /twilio/voice (new CallSid: flow run created, CDR begun,
# state saved) then POST /twilio/gather Digits=1 (state updated, flow ends,
# CDR ended, state deleted), every request with a valid X-Twilio-Signature.
# Prints requests/s and latency p50/p90/p99/max per step, and the ratio of
# p99 to the 20 ms budget. Knobs: STEPS="1 8 32" SECS=10 VG_BENCH_KEEP=1.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD_DIR=$(cd "$1" && pwd)
VOXGATE=$BUILD_DIR/src/voxgate
TWLOAD=$BUILD_DIR/tests/twload
STEPS=${STEPS:-"1 8 32"}
SECS=${SECS:-10}
BUDGET_MS=20
[ -x "$VOXGATE" ] && [ -x "$TWLOAD" ] ||
	{ echo "need $VOXGATE and $TWLOAD (cmake --build $BUILD_DIR --target voxgate twload)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/vg-bench-twilio.XXXXXX)
PID=""
cleanup() {
	[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	[ -n "${VG_BENCH_KEEP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
HTTP=$(free_port)
SIP=$(free_port)
TOKEN=0123456789abcdef0123456789abcdef
PUBLIC=https://vg.example.test
cat >"$TMP/voxgate.yaml" <<YAML
sip:
  listen: ["udp:127.0.0.1:$SIP"]
http:
  listen: 127.0.0.1:$HTTP
store:
  path: $TMP/cdr.db
log:
  level: warn
twilio:
  enabled: true
  auth_token: "$TOKEN"
  public_url: "$PUBLIC"
YAML
"$VOXGATE" serve -c "$TMP/voxgate.yaml" >"$TMP/voxgate.log" 2>&1 &
PID=$!
for _ in $(seq 1 600); do
	curl -sf -m 1 "http://127.0.0.1:$HTTP/healthz" >/dev/null 2>&1 && break
	kill -0 "$PID" 2>/dev/null || { cat "$TMP/voxgate.log" >&2; exit 1; }
	sleep 0.1
done

echo "voxgate $("$VOXGATE" --version 2>/dev/null | head -1) ($BUILD_DIR), $(nproc) CPUs"
printf '%-6s %-9s %-9s %-9s %-9s %-9s %s\n' conns "req/s" "p50 ms" "p90 ms" "p99 ms" "max ms" "p99/budget"
rc=0
for n in $STEPS; do
	out=$("$TWLOAD" 127.0.0.1 "$HTTP" "$PUBLIC" "$TOKEN" "$n" "$SECS") || rc=1
	kv() { sed -E "s/.*$1=([^ ]*).*/\1/" <<<"$out"; }
	p99=$(kv p99_ms)
	printf '%-6s %-9s %-9s %-9s %-9s %-9s %s\n' "$n" "$(kv rate)" "$(kv p50_ms)" \
		"$(kv p90_ms)" "$p99" "$(kv max_ms)" \
		"$(awk -v a="$p99" -v b=$BUDGET_MS 'BEGIN { printf "%.2f", a / b }')"
	[ "$(kv errors)" = 0 ] && [ "$(kv non200)" = 0 ] || { echo "  $out"; rc=1; }
done
calls=$(sqlite3 "$TMP/cdr.db" "SELECT count(*) FROM calls WHERE platform='twilio' AND ended_ms > 0" 2>/dev/null || echo "?")
echo "calls completed (CDR): $calls"
exit $rc
