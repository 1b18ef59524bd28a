#!/usr/bin/env bash
# `voxgate simulate --sweep 1,2 --html` against the daemon's bank-hotline
# flow on loopback SIP, and the page checked in headless Chromium:
#  1. a two-level concurrency sweep (1 call at 1, 2 calls at 2): the JSON
#     has both levels, their calls, and sweep_max_concurrency = the highest
#     level that met the p95 goal with no failed call (checked against the
#     levels' own figures);
#  2. the HTML report of the same run: self-contained (no script, no
#     external URL, no "nan"), with both levels, the budgets and the
#     server's stages;
#  3. Chromium (--headless --dump-dom) renders it: the three charts are in
#     the DOM with their bars, lines and points; a --screenshot PNG is a
#     real picture. Chromium missing is a failure (scripts/install-deps.sh
#     installs it), not a skip.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need jq python3 timeout
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
if [ -z "$CHROMIUM" ] || [ ! -x "$CHROMIUM" ]; then
	vg_fail "chromium is missing (run scripts/install-deps.sh)"
fi
# bad sweep options are usage errors, before anything runs
for bad in "--sweep 2,1" "--sweep 0" "--sweep 1," "--sweep 1,x" "--sweep 2001" \
	"--sweep-p95 0" "--sweep-p95 -5" "--html="; do
	rc=0
	# shellcheck disable=SC2086 # the option and its value
	"$VOXGATE" simulate "$VG_SOURCE_DIR/examples/bank/scenario.yaml" $bad \
		>/dev/null 2>"$VG_TMP/usage.err" || rc=$?
	vg_assert_eq "usage: $bad exits 2" 2 "$rc"
done
vg_pick_ports
vg_config
vg_start 120
API=http://127.0.0.1:$VG_HTTP_PORT

# ---- 1. the sweep
sed "s/127.0.0.1:5060/127.0.0.1:$VG_SIP_PORT/" \
	"$VG_SOURCE_DIR/examples/bank/scenario.yaml" >"$VG_TMP/bank.yaml"
J=$VG_TMP/sweep.json
HTML=$VG_TMP/report.html
rc=0
timeout 300 "$VOXGATE" simulate "$VG_TMP/bank.yaml" --api "$API" --json \
	--quiet --sweep 1,2 --sweep-p95 5000 --html "$HTML" >"$J" \
	2>"$VG_TMP/sweep.err" || rc=$?
vg_say "sweep: exit $rc, $(jq -c '{calls, failed, sweep: [.sweep[] | {concurrency, calls, failed, p95: .turn_latency_ms.p95}], sweep_max_concurrency}' "$J" 2>/dev/null)"
vg_assert_eq "sweep: exit status" 0 "$rc"
vg_assert_eq "sweep: two levels" 2 "$(jq '.sweep | length' "$J")"
vg_assert_eq "sweep: levels 1 and 2" "1,2" "$(jq -r '[.sweep[].concurrency] | join(",")' "$J")"
vg_assert_eq "sweep: max(level, --calls) calls per level" "1,2" \
	"$(jq -r '[.sweep[].calls] | join(",")' "$J")"
vg_assert_eq "sweep: the top level covers every call" 3 "$(jq .calls "$J")"
vg_assert_eq "sweep: call_results of every level" 3 "$(jq '.call_results | length' "$J")"
vg_assert_eq "sweep: three distinct CDRs" 3 \
	"$(jq '[.call_results[].cdr_id | strings] | unique | length' "$J")"
vg_assert_eq "sweep: the goal is echoed" 5000 "$(jq .sweep_p95_ms "$J")"
vg_assert_eq "sweep: not stopped early" false "$(jq .sweep_stopped "$J")"
vg_assert "sweep: each level has turn and stage figures" \
	jq -e 'all(.sweep[]; .turn_latency_ms.n == .calls and .stages_ms.stt.n == .calls and .wall_ms > 0)' "$J"
WANT=$(jq '.sweep_p95_ms as $g | [.sweep[] | select(.failed == 0 and .turn_latency_ms.n > 0 and .turn_latency_ms.p95 <= $g) | .concurrency] | max' "$J")
vg_assert_eq "sweep: sweep_max_concurrency is the highest level within the goal" \
	"$WANT" "$(jq .sweep_max_concurrency "$J")"
vg_assert_eq "sweep: every bank call met the goal of 5 s" 2 "$(jq .sweep_max_concurrency "$J")"

# ---- 2. the page itself
vg_assert "html: written" test -s "$HTML"
vg_assert "html: no temporary file left" \
	test -z "$(find "$VG_TMP" -maxdepth 1 -name 'report.html.tmp.*')"
for bad in '<script' 'http://' 'https://' 'src=' 'href=' 'url('; do
	vg_assert "html: no '$bad'" bash -c "! grep -qiF -- '$bad' '$HTML'"
done
vg_assert "html: no NaN" bash -c "! grep -qiw nan '$HTML'"
vg_assert "html: the best level is marked" grep -q '>best: 2</text>' "$HTML"
vg_assert "html: the goal and the budgets" \
	grep -q 'p95 at most 5000.0 ms' "$HTML"
vg_assert "html: the STT budget row" grep -q '<td>stt</td>.*<td>500.0</td>' "$HTML"

# ---- 3. headless Chromium
CHROME_ARGS=(--headless --no-sandbox --disable-gpu --no-first-run
	--disable-extensions --user-data-dir="$VG_TMP/chromium")
DOM=$VG_TMP/dom.html
rc=0
timeout 90 "$CHROMIUM" "${CHROME_ARGS[@]}" --dump-dom "file://$HTML" \
	>"$DOM" 2>"$VG_TMP/chromium.err" || rc=$?
vg_assert_eq "chromium --dump-dom: exit status" 0 "$rc"
python3 - "$DOM" >"$VG_TMP/dom.txt" <<'EOF' || true
import sys
from html.parser import HTMLParser

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.found = [], {}
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg" and a.get("id"):
            self.stack.append(a["id"])
            self.found.setdefault(a["id"], {})
            return
        if self.stack and tag in ("rect", "polyline", "circle", "line"):
            key = tag + ("." + ".".join(a["class"].split()) if a.get("class") else "")
            d = self.found[self.stack[-1]]
            d[key] = d.get(key, 0) + 1
            if tag == "polyline":
                d["polyline_points"] = d.get("polyline_points", 0) + len(a.get("points", "").split())
    def handle_endtag(self, tag):
        if tag == "svg" and self.stack:
            self.stack.pop()

p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
for cid, d in sorted(p.found.items()):
    for k, v in sorted(d.items()):
        print(f"{cid} {k} {v}")
EOF
cnt() { awk -v c="$1" -v k="$2" '$1 == c && $2 == k { print $3 }' "$VG_TMP/dom.txt"; }
vg_say "rendered charts: $(tr '\n' ';' <"$VG_TMP/dom.txt")"
vg_assert_ge "dom: histogram bars" "$(cnt chart-latency-hist rect.bar)" 1
vg_assert_eq "dom: histogram p50 and p95 marks" "1 1" \
	"$(cnt chart-latency-hist line.mark.p50) $(cnt chart-latency-hist line.mark.p95)"
vg_assert_eq "dom: latency-concurrency p50 and p95 lines" "1 1" \
	"$(cnt chart-latency-concurrency polyline.p50) $(cnt chart-latency-concurrency polyline.p95)"
vg_assert_eq "dom: one point per level on both lines" 4 \
	"$(cnt chart-latency-concurrency polyline_points)"
vg_assert_eq "dom: latency-concurrency points" 2 "$(cnt chart-latency-concurrency circle.p95)"
vg_assert_ge "dom: stage bars" "$(cnt chart-stages rect.stage-p50)" 3
vg_assert_eq "dom: four budget lines" 4 "$(cnt chart-stages line.budget)"

PNG=$VG_TMP/report.png
rc=0
timeout 90 "$CHROMIUM" "${CHROME_ARGS[@]}" --hide-scrollbars \
	--window-size=1200,2600 --screenshot="$PNG" "file://$HTML" \
	>"$VG_TMP/shot.out" 2>&1 || rc=$?
vg_assert_eq "chromium --screenshot: exit status" 0 "$rc"
vg_assert "screenshot: a PNG" python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", b[16:24])
assert (w, h) == (1200, 2600), (w, h)' "$PNG"
vg_assert_ge "screenshot: not tiny (bytes)" "$(stat -c %s "$PNG" 2>/dev/null || echo 0)" 40000
vg_stop
vg_done
