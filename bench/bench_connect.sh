#!/usr/bin/env bash
# bench/bench_connect.sh BUILD_DIR: Amazon Connect endpoint latency under
# load.
#
# Starts BUILD_DIR/src/voxgate on loopback with connect.enabled (log.level
# warn, a temp store, the demo CRM), then for every endpoint and step runs
# tests/tools/httpload --sign connect with N keep-alive connections for SECS seconds, every
# request signed like the forwarding Lambda (API key, ms timestamp, HMAC;
# a unique id per request, so the replay cache sees no repeats):
#   classify    POST /connect/lambda/classify, a contact-flow event whose
#               transcript the default model (BANKING77) classifies, plus
#               entity extraction;
#   lex         POST /connect/lex, a FallbackIntent event: voxgate
#               reclassifies inputTranscript and fills slots;
#   crm_lookup  POST /connect/lambda/crm_lookup (the store thread).
# Prints requests/s and latency p50/p90/p99/max per step, and the ratio of
# p99 to the 20 ms budget. Knobs: STEPS="1 8 32" SECS=10 ENDPOINTS=...
# VG_BENCH_KEEP=1.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init connect "$1"
TMP=$BENCH_TMP
HTTPLOAD=$BUILD_DIR/tests/httpload
STEPS=${STEPS:-"1 8 32"}
SECS=${SECS:-10}
ENDPOINTS=${ENDPOINTS:-"classify lex crm_lookup"}
BUDGET_MS=20
[ -x "$VOXGATE" ] && [ -x "$HTTPLOAD" ] ||
	{ echo "need $VOXGATE and $HTTPLOAD (cmake --build $BUILD_DIR --target voxgate httpload)" >&2; exit 2; }

KEY=bench-key
SECRET=bench-secret-0123456789abcdef
BENCH_STORE_EXTRA="  crm_demo: true"
bench_config <<YAML
connect:
  enabled: true
  api_key: $KEY
  secret: "$SECRET"
YAML
bench_start
HTTP=$BENCH_HTTP

cat >"$TMP/classify.json" <<'JSON'
{"Name":"ContactFlowEvent","Details":{"ContactData":{"Attributes":{},"Channel":"VOICE","ContactId":"@ID@","InitialContactId":"@ID@","InitiationMethod":"INBOUND","CustomerEndpoint":{"Address":"+14155550101","Type":"TELEPHONE_NUMBER"},"SystemEndpoint":{"Address":"+18005550100","Type":"TELEPHONE_NUMBER"},"Queue":null},"Parameters":{"transcript":"I think somebody stole my card yesterday, I need to block it and I was charged 25 dollars"}}}
JSON
cp "$TMP/classify.json" "$TMP/crm_lookup.json"
cat >"$TMP/lex.json" <<'JSON'
{"messageVersion":"1.0","invocationSource":"DialogCodeHook","inputMode":"Speech","sessionId":"@ID@","inputTranscript":"I want to transfer 50 dollars to my savings account tomorrow","bot":{"id":"B","name":"BankBot","localeId":"en_US","version":"DRAFT"},"interpretations":[{"intent":{"name":"FallbackIntent","slots":{},"state":"InProgress","confirmationState":"None"}}],"sessionState":{"sessionAttributes":{},"intent":{"name":"FallbackIntent","slots":{},"state":"InProgress","confirmationState":"None"}}}
JSON
declare -A PATHS=([classify]=/connect/lambda/classify [lex]=/connect/lex [crm_lookup]=/connect/lambda/crm_lookup)

echo "voxgate $("$VOXGATE" --version 2>/dev/null | head -1) ($BUILD_DIR), $(nproc) CPUs"
printf '%-11s %-6s %-9s %-9s %-9s %-9s %-9s %s\n' endpoint conns "req/s" "p50 ms" "p90 ms" "p99 ms" "max ms" "p99/budget"
rc=0
for ep in $ENDPOINTS; do
	for n in $STEPS; do
		out=$("$HTTPLOAD" --sign connect 127.0.0.1 "$HTTP" "$KEY" "$SECRET" "${PATHS[$ep]}" "$TMP/$ep.json" "$n" "$SECS") || rc=1
		kv() { sed -E "s/.*$1=([^ ]*).*/\1/" <<<"$out"; }
		p99=$(kv p99_ms)
		printf '%-11s %-6s %-9s %-9s %-9s %-9s %-9s %s\n' "$ep" "$n" "$(kv rate)" "$(kv p50_ms)" \
			"$(kv p90_ms)" "$p99" "$(kv max_ms)" \
			"$(awk -v a="$p99" -v b=$BUDGET_MS 'BEGIN { printf "%.2f", a / b }')"
		[ "$(kv errors)" = 0 ] && [ "$(kv non200)" = 0 ] || { echo "  $out"; rc=1; }
		bench_figure "connect.$ep.c$n.p99" "$p99" ms "<=$BUDGET_MS"
	done
done
exit $rc
