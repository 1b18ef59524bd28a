#!/usr/bin/env bash
# bench/bench_twilio_webhook.sh BUILD_DIR: Twilio webhook latency under load.
#
# Starts BUILD_DIR/src/voxgate on loopback with twilio.enabled (log.level
# warn, a temp store), then for every step runs tests/tools/httpload --sign twilio with N
# keep-alive connections for SECS seconds: each connection runs calls back
# to back, POST /twilio/voice (new CallSid: flow run created, CDR begun,
# state saved) then POST /twilio/gather Digits=1 (state updated, flow ends,
# CDR ended, state deleted), every request with a valid X-Twilio-Signature.
# Prints requests/s and latency p50/p90/p99/max per step, and the ratio of
# p99 to the 20 ms budget. Knobs: STEPS="1 8 32" SECS=10 VG_BENCH_KEEP=1.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init twilio "$1"
TMP=$BENCH_TMP
HTTPLOAD=$BUILD_DIR/tests/httpload
STEPS=${STEPS:-"1 8 32"}
SECS=${SECS:-10}
BUDGET_MS=20
[ -x "$VOXGATE" ] && [ -x "$HTTPLOAD" ] ||
	{ echo "need $VOXGATE and $HTTPLOAD (cmake --build $BUILD_DIR --target voxgate httpload)" >&2; exit 2; }

TOKEN=0123456789abcdef0123456789abcdef
PUBLIC=https://vg.example.test
bench_config <<YAML
twilio:
  enabled: true
  auth_token: "$TOKEN"
  public_url: "$PUBLIC"
YAML
bench_start
HTTP=$BENCH_HTTP

echo "voxgate $("$VOXGATE" --version 2>/dev/null | head -1) ($BUILD_DIR), $(nproc) CPUs"
printf '%-6s %-9s %-9s %-9s %-9s %-9s %s\n' conns "req/s" "p50 ms" "p90 ms" "p99 ms" "max ms" "p99/budget"
rc=0
for n in $STEPS; do
	out=$("$HTTPLOAD" --sign twilio 127.0.0.1 "$HTTP" "$PUBLIC" "$TOKEN" "$n" "$SECS") || rc=1
	kv() { sed -E "s/.*$1=([^ ]*).*/\1/" <<<"$out"; }
	p99=$(kv p99_ms)
	printf '%-6s %-9s %-9s %-9s %-9s %-9s %s\n' "$n" "$(kv rate)" "$(kv p50_ms)" \
		"$(kv p90_ms)" "$p99" "$(kv max_ms)" \
		"$(awk -v a="$p99" -v b=$BUDGET_MS 'BEGIN { printf "%.2f", a / b }')"
	[ "$(kv errors)" = 0 ] && [ "$(kv non200)" = 0 ] || { echo "  $out"; rc=1; }
	bench_figure "twilio_webhook.c$n.p99" "$p99" ms "<=$BUDGET_MS"
	r=$(kv rate)
	bench_figure "twilio_webhook.c$n.rate" "${r%/s}" req/s
done
calls=$(sqlite3 "$TMP/cdr.db" "SELECT count(*) FROM calls WHERE platform='twilio' AND ended_ms > 0" 2>/dev/null || echo "?")
echo "calls completed (CDR): $calls"
exit $rc
