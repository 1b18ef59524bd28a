#!/usr/bin/env bash
# bench/bench_connect_flow.sh BUILD_DIR: an imported Amazon Connect flow
# under load, Lambda hop included.
#
# Starts BUILD_DIR/src/voxgate on loopback with twilio.enabled, flows.dir
# holding examples/connect/bank-connect.json (imported in memory at start)
# and its values side file pointing the customer-lookup Lambda at
# tests/integration/http_stub.py (answers {"tier":"gold",...}), the
# dialled number routed to the flow and transfer.queues mapping VIP. Then
# tests/tools/httpload --sign twilio runs calls back to back on N connections: POST
# /twilio/voice (welcome, UpdateContactAttributes, the DTMF menu) then POST
# /twilio/gather Digits=1 (the Lambda event POSTed to the stub and its
# answer mapped to $.External, the Compare, the VIP queue, <Dial><Sip>).
# Prints requests/s and latency p50/p90/p99/max per step (both webhooks
# mixed; the gather ones carry the Lambda round trip). Knobs: STEPS="1 8"
# SECS=10 VG_BENCH_KEEP=1.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init connect-flow "$1"
TMP=$BENCH_TMP
HTTPLOAD=$BUILD_DIR/tests/httpload
STEPS=${STEPS:-"1 8"}
SECS=${SECS:-10}
[ -x "$VOXGATE" ] && [ -x "$HTTPLOAD" ] ||
	{ echo "need $VOXGATE and $HTTPLOAD (cmake --build $BUILD_DIR --target voxgate httpload)" >&2; exit 2; }

python3 "$SRC/tests/integration/http_stub.py" --port-file "$TMP/stub.port" \
	--log /dev/null --lifetime $((SECS * 4 + 120)) \
	--reply '{"tier":"gold","first_name":"Ada","balance":"42"}' >"$TMP/stub.out" 2>&1 &
bench_track $!
for _ in $(seq 1 50); do [ -s "$TMP/stub.port" ] && break; sleep 0.1; done
[ -s "$TMP/stub.port" ] || { echo "http_stub.py did not start" >&2; exit 1; }

TOKEN=0123456789abcdef0123456789abcdef
PUBLIC=https://vg.example.test
mkdir -p "$TMP/flows"
cp "$SRC/examples/connect/bank-connect.json" "$TMP/flows/"
echo "customer-lookup: \"http://127.0.0.1:$(<"$TMP/stub.port")/lambda/customer-lookup\"" \
	>"$TMP/flows/bank-connect.values.yaml"
bench_config <<YAML
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
bench_start
HTTP=$BENCH_HTTP

echo "voxgate $("$VOXGATE" --version 2>/dev/null | head -1) ($BUILD_DIR), $(nproc) CPUs"
printf '%-6s %-9s %-9s %-9s %-9s %-9s\n' conns "req/s" "p50 ms" "p90 ms" "p99 ms" "max ms"
rc=0
for n in $STEPS; do
	out=$("$HTTPLOAD" --sign twilio 127.0.0.1 "$HTTP" "$PUBLIC" "$TOKEN" "$n" "$SECS") || rc=1
	kv() { sed -E "s/.*$1=([^ ]*).*/\1/" <<<"$out"; }
	printf '%-6s %-9s %-9s %-9s %-9s %-9s\n' "$n" "$(kv rate)" "$(kv p50_ms)" \
		"$(kv p90_ms)" "$(kv p99_ms)" "$(kv max_ms)"
	[ "$(kv errors)" = 0 ] && [ "$(kv non200)" = 0 ] || { echo "  $out"; rc=1; }
	bench_figure "connect_flow.c$n.p99" "$(kv p99_ms)" ms
done
q="SELECT count(*) FROM calls WHERE platform='twilio' AND ended_ms > 0"
calls=$(sqlite3 "$TMP/cdr.db" "$q" 2>/dev/null || echo "?")
vip=$(sqlite3 "$TMP/cdr.db" "$q AND flow_path LIKE '%\"to-queue\"%' AND end_reason='transferred'" 2>/dev/null || echo "?")
echo "calls completed (CDR): $calls, through the Lambda to the VIP queue: $vip"
[ "$calls" = "$vip" ] || { echo "some calls did not reach the VIP queue" >&2; rc=1; }
exit $rc
