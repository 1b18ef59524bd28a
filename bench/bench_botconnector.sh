#!/usr/bin/env bash
# bench/bench_botconnector.sh BUILD_DIR: Genesys Bot Connector turn latency
# under load.
#
# Starts BUILD_DIR/src/voxgate on loopback with genesys_bot.enabled
# (log.level warn, a temp store), then for every step runs wrk with N
# keep-alive connections (one per thread) for SECS seconds: each connection
# runs conversations back to back through the bank-hotline flow, turn 1
# (new botSessionId, empty text: flow run created, CDR begun, greeting +
# menu prompt, MOREDATA, state saved) then turn 2 "1" (balance + goodbye,
# COMPLETE, CDR ended, state deleted), every request with the API key.
# Prints requests/s and latency p50/p90/p99/max per step, and the ratio of
# p99 to the 20 ms budget. Knobs: STEPS="1 8 32" SECS=10 VG_BENCH_KEEP=1.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_init gbot "$1"
TMP=$BENCH_TMP
STEPS=${STEPS:-"1 8 32"}
SECS=${SECS:-10}
BUDGET_MS=20
[ -x "$VOXGATE" ] || { echo "need $VOXGATE (cmake --build $BUILD_DIR --target voxgate)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "need wrk (scripts/install-deps.sh)" >&2; exit 2; }

KEY=bench-key-0123456789abcdef
bench_config <<YAML
genesys_bot:
  enabled: true
  api_key: "$KEY"
YAML
bench_start
HTTP=$BENCH_HTTP

# One connection per thread, no pipelining: turn 2 is sent after turn 1's
# answer, on the same session. A non-200 or an unexpected botState counts
# as an error.
cat >"$TMP/turns.lua" <<LUA
-- tid and errors are globals: wrk's thread:set()/get() reach them.
local n, run = 0, tostring(os.time())
tid, errors = 0, 0
local threads = {}
function setup(thread)
	table.insert(threads, thread)
	thread:set("tid", #threads)
end
function init(args)
	wrk.headers["X-API-KEY"] = "$KEY"
	wrk.headers["Content-Type"] = "application/json"
end
function request()
	n = n + 1
	local sid = "b" .. run .. "-" .. tid .. "-" .. math.floor((n + 1) / 2)
	local text = (n % 2 == 1) and "" or "1"
	return wrk.format("POST", "/genesys/botconnector/messages", nil,
		'{"botId":"bank-hotline","botSessionId":"' .. sid ..
		'","inputMessage":{"type":"Text","text":"' .. text .. '"}}')
end
function response(status, headers, body)
	local want = (n % 2 == 1) and "MOREDATA" or "COMPLETE"
	if status ~= 200 or not string.find(body, want, 1, true) then
		errors = errors + 1
	end
end
function done(summary, latency, requests)
	local e = 0
	for _, t in ipairs(threads) do e = e + (t:get("errors") or 0) end
	io.write(string.format("rate=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d http_errors=%d\n",
		summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(90) / 1000,
		latency:percentile(99) / 1000, latency.max / 1000, e,
		summary.errors.status + summary.errors.connect + summary.errors.read +
		summary.errors.write + summary.errors.timeout))
end
LUA

echo "voxgate $("$VOXGATE" --version 2>/dev/null | head -1) ($BUILD_DIR), $(nproc) CPUs"
printf '%-6s %-9s %-9s %-9s %-9s %-9s %s\n' conns "req/s" "p50 ms" "p90 ms" "p99 ms" "max ms" "p99/budget"
rc=0
for n in $STEPS; do
	out=$(wrk -t "$n" -c "$n" -d "${SECS}s" -s "$TMP/turns.lua" \
		"http://127.0.0.1:$HTTP" 2>&1 | grep '^rate=') || rc=1
	kv() { sed -E "s/.*$1=([^ ]*).*/\1/" <<<"$out"; }
	p99=$(kv p99_ms)
	printf '%-6s %-9s %-9s %-9s %-9s %-9s %s\n' "$n" "$(kv rate)" "$(kv p50_ms)" \
		"$(kv p90_ms)" "$p99" "$(kv max_ms)" \
		"$(awk -v a="$p99" -v b=$BUDGET_MS 'BEGIN { printf "%.2f", a / b }')"
	[ "$(kv errors)" = 0 ] && [ "$(kv http_errors)" = 0 ] || { echo "  $out"; rc=1; }
	bench_figure "botconnector.c$n.p99" "$p99" ms "<=$BUDGET_MS"
	r=$(kv rate)
	bench_figure "botconnector.c$n.rate" "${r%/s}" req/s
done
sessions=$(sqlite3 "$TMP/cdr.db" "SELECT count(*) FROM calls WHERE platform='genesys-bot' AND ended_ms > 0" 2>/dev/null || echo "?")
echo "bot sessions completed (CDR): $sessions"
exit $rc
