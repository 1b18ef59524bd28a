#!/usr/bin/env bash
# bench/bench_connect_flow.sh BUILD_DIR: an imported Amazon Connect flow
# under load, Lambda hop included.
#
# Starts BUILD_DIR/src/voxgate on loopback with twilio.enabled, flows.dir
# holding examples/connect/bank-connect.json (imported in memory at start)
# and its values side file pointing the customer-lookup Lambda at
# tests/integration/http_stub.py (answers {"tier":"gold",...}), the
# dialled number routed to the flow and transfer.queues mapping VIP. Then
# tests/tools/twload runs calls back to back on N connections: POST
# /twilio/voice (welcome, UpdateContactAttributes, the DTMF menu) then POST
# /twilio/gather Digits=1 (the Lambda event POSTed to the stub and its
# answer mapped to $.External, the Compare, the VIP queue, <Dial><Sip>).
# Prints requests/s and latency p50/p90/p99/max per step (both webhooks
# mixed; the gather ones carry the Lambda round trip). Knobs: STEPS="1 8"
# SECS=10 VG_BENCH_KEEP=1.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD_DIR=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
VOXGATE=$BUILD_DIR/src/voxgate
TWLOAD=$BUILD_DIR/tests/twload
STEPS=${STEPS:-"1 8"}
SECS=${SECS:-10}
[ -x "$VOXGATE" ] && [ -x "$TWLOAD" ] ||
	{ echo "need $VOXGATE and $TWLOAD (cmake --build $BUILD_DIR --target voxgate twload)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/vg-bench-connect.XXXXXX)
PID="" SPID=""
cleanup() {
	[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	[ -n "${VG_BENCH_KEEP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

python3 "$SRC/tests/integration/http_stub.py" --port-file "$TMP/stub.port" \
	--log /dev/null --lifetime $((SECS * 4 + 120)) \
	--reply '{"tier":"gold","first_name":"Ada","balance":"42"}' >"$TMP/stub.out" 2>&1 &
SPID=$!
for _ in $(seq 1 50); do [ -s "$TMP/stub.port" ] && break; sleep 0.1; done
[ -s "$TMP/stub.port" ] || { echo "http_stub.py did not start" >&2; exit 1; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
HTTP=$(free_port)
SIP=$(free_port)
TOKEN=0123456789abcdef0123456789abcdef
PUBLIC=https://vg.example.test
mkdir -p "$TMP/flows"
cp "$SRC/examples/connect/bank-connect.json" "$TMP/flows/"
echo "customer-lookup: \"http://127.0.0.1:$(<"$TMP/stub.port")/lambda/customer-lookup\"" \
	>"$TMP/flows/bank-connect.values.yaml"
cat >"$TMP/voxgate.yaml" <<YAML
sip:
  listen: ["udp:127.0.0.1:$SIP"]
http:
  listen: 127.0.0.1:$HTTP
store:
  path: $TMP/cdr.db
log:
  level: warn
flows:
  dir: $TMP/flows
  routes:
    - number: "+18005550100"
      flow: bank-connect
transfer:
  queues:
    VIP: "sip:vip@pbx.example.test"
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
printf '%-6s %-9s %-9s %-9s %-9s %-9s\n' conns "req/s" "p50 ms" "p90 ms" "p99 ms" "max ms"
rc=0
for n in $STEPS; do
	out=$("$TWLOAD" 127.0.0.1 "$HTTP" "$PUBLIC" "$TOKEN" "$n" "$SECS") || rc=1
	kv() { sed -E "s/.*$1=([^ ]*).*/\1/" <<<"$out"; }
	printf '%-6s %-9s %-9s %-9s %-9s %-9s\n' "$n" "$(kv rate)" "$(kv p50_ms)" \
		"$(kv p90_ms)" "$(kv p99_ms)" "$(kv max_ms)"
	[ "$(kv errors)" = 0 ] && [ "$(kv non200)" = 0 ] || { echo "  $out"; rc=1; }
done
q="SELECT count(*) FROM calls WHERE platform='twilio' AND ended_ms > 0"
calls=$(sqlite3 "$TMP/cdr.db" "$q" 2>/dev/null || echo "?")
vip=$(sqlite3 "$TMP/cdr.db" "$q AND flow_path LIKE '%\"to-queue\"%' AND end_reason='transferred'" 2>/dev/null || echo "?")
echo "calls completed (CDR): $calls, through the Lambda to the VIP queue: $vip"
[ "$calls" = "$vip" ] || { echo "some calls did not reach the VIP queue" >&2; rc=1; }
exit $rc
