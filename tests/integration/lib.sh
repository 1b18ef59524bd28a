# shellcheck shell=bash disable=SC2034,SC2120 # globals are read by the tests
# tests/integration/lib.sh: shared helpers for the integration tests.
# Sourced by every tests/integration/test_*.sh. Each test gets its own temp
# dir, free loopback ports (SIP UDP+TCP, HTTP, an RTP range), a config and
# a CDR database, and a cleanup trap that stops everything it started.
#
# Environment (set by ctest, see tests/CMakeLists.txt):
#   VOXGATE        the daemon binary (else guessed from VG_BUILD_DIR/build)
#   VG_SOURCE_DIR  the repository (default: two levels up from here)
#   VG_BUILD_DIR   the build dir (used to find voxgate and sipsend)
#   SIPSEND        tests/tools/sipsend (built on the fly when missing)
#   VG_KEEP=1      keep the temp dir even when the test passes
#
# Knobs read by vg_config (set them before calling it):
#   VG_ANSWER_DELAY VG_MAX_CALLS VG_MEDIA_TIMEOUT VG_DRAIN_TIMEOUT
#   VG_RETRY_AFTER VG_LOG_LEVEL VG_RTP_BLOCK (ports in the RTP range)
#   VG_EXTRA_YAML (top-level sections appended, e.g. flows:)
#   VG_SIPP_SERVICE (the number sipp dials, default 1000)
set -euo pipefail

VG_INTEG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VG_SOURCE_DIR=${VG_SOURCE_DIR:-$(cd "$VG_INTEG_DIR/../.." && pwd)}
VG_SHARED_DIR=${VG_SHARED_DIR:-$VG_SOURCE_DIR/../shared}
VG_SIPP_DIR=$VG_INTEG_DIR/sipp
VG_PCAP_DIR=${VG_PCAP_DIR:-/usr/share/sip-tester}
VG_TEST=$(basename "$0" .sh)

VG_PIDS=()          # every background process we started
VG_PORTS_TAKEN=" "  # ports handed out by vg_pick_port in this test
VG_CHECKS=0
VG_DAEMON_PID=""
VG_DAEMON_RC=""
VG_FAILED=0

vg_say() { printf '[%s] %s\n' "$VG_TEST" "$*"; }

# ---------- binaries ----------

vg_find_voxgate() {
	if [ -n "${VOXGATE:-}" ]; then
		[ -x "$VOXGATE" ] || { echo "VOXGATE=$VOXGATE is not executable" >&2; exit 1; }
		return
	fi
	local c
	for c in ${VG_BUILD_DIR:+"$VG_BUILD_DIR/src/voxgate"} \
		"$VG_SOURCE_DIR/build/asan/src/voxgate" \
		"$VG_SOURCE_DIR/build/dev/src/voxgate"; do
		if [ -x "$c" ]; then VOXGATE=$c; return; fi
	done
	echo "voxgate binary not found: set VOXGATE" >&2
	exit 1
}

vg_need() { # tools...
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 ||
			vg_fail "required tool '$t' is missing (run scripts/install-deps.sh)"
	done
}

# The raw SIP sender: from the build, or compiled into the temp dir.
vg_sipsend_bin() {
	if [ -n "${SIPSEND:-}" ] && [ -x "$SIPSEND" ]; then return; fi
	if [ -n "${VG_BUILD_DIR:-}" ] && [ -x "$VG_BUILD_DIR/tests/sipsend" ]; then
		SIPSEND=$VG_BUILD_DIR/tests/sipsend
		return
	fi
	SIPSEND=$VG_TMP/sipsend
	cc -std=gnu17 -O1 -Wall -o "$SIPSEND" "$VG_SOURCE_DIR/tests/tools/sipsend.c" ||
		vg_fail "cannot build tests/tools/sipsend.c"
}

# ---------- results ----------

vg_fail() {
	VG_FAILED=1
	printf '[%s] FAIL: %s\n' "$VG_TEST" "$*" >&2
	if [ -n "${VG_LOG:-}" ] && [ -s "$VG_LOG" ]; then
		echo "---- last 40 lines of the daemon log ($VG_LOG):" >&2
		tail -n 40 "$VG_LOG" >&2
		echo "----" >&2
	fi
	exit 1
}

vg_ok() { VG_CHECKS=$((VG_CHECKS + 1)); printf '[%s] ok %d: %s\n' "$VG_TEST" "$VG_CHECKS" "$*"; }

# A failed assertion is reported and counted, and the test goes on (so one
# run shows every broken behaviour); vg_done then exits non-zero. Use
# vg_fail for failures the rest of the test cannot survive.
VG_BAD=0
vg_bad() {
	VG_BAD=$((VG_BAD + 1))
	VG_FAILED=1
	printf '[%s] FAIL: %s\n' "$VG_TEST" "$*" >&2
}

vg_assert() { # description command...
	local d=$1; shift
	if "$@" >/dev/null; then vg_ok "$d"; else vg_bad "$d (command: $*)"; fi
}

vg_assert_eq() { # description expected actual
	if [ "$2" == "$3" ]; then vg_ok "$1 (= $3)"
	else vg_bad "$1: expected '$2', got '$3'"; fi
}

vg_assert_ge() { # description actual minimum
	if [[ "$2" =~ ^-?[0-9]+$ ]] && [ "$2" -ge "$3" ]; then vg_ok "$1 ($2 >= $3)"
	else vg_bad "$1: expected >= $3, got '$2'"; fi
}

vg_assert_le() { # description actual maximum
	if [[ "$2" =~ ^-?[0-9]+$ ]] && [ "$2" -le "$3" ]; then vg_ok "$1 ($2 <= $3)"
	else vg_bad "$1: expected <= $3, got '$2'"; fi
}

vg_assert_match() { # description regex string
	if [[ "$3" =~ $2 ]]; then vg_ok "$1"
	else vg_bad "$1: '$3' does not match /$2/"; fi
}

vg_assert_log() { # description regex: the daemon log has a matching line
	if grep -Eq -- "$2" "$VG_LOG"; then vg_ok "$1"
	else vg_bad "$1: no log line matches /$2/"; fi
}

vg_done() {
	vg_check_sanitizers
	if [ "$VG_BAD" -gt 0 ]; then
		if [ -n "${VG_LOG:-}" ] && [ -s "$VG_LOG" ]; then
			echo "---- last 30 lines of the daemon log ($VG_LOG):" >&2
			tail -n 30 "$VG_LOG" >&2
		fi
		vg_say "FAILED: $VG_BAD of $((VG_CHECKS + VG_BAD)) checks"
		exit 1
	fi
	vg_say "PASS: $VG_CHECKS checks"
}

# ASan/UBSan reports in the daemon log are failures wherever they appear.
vg_check_sanitizers() {
	[ -n "${VG_LOG:-}" ] && [ -f "$VG_LOG" ] || return 0
	if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|Undefined|Leak)' "$VG_LOG"; then
		grep -En -A30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$VG_LOG" | head -80 >&2 || true
		vg_fail "sanitizer report in the daemon log"
	fi
}

# ---------- temp dir, processes, cleanup ----------

vg_track() { VG_PIDS+=("$1"); }

vg_kill_tree() { # pid signal
	kill "-$2" "$1" 2>/dev/null || true
}

vg_cleanup() {
	local rc=$?
	local pid
	set +e
	for pid in "${VG_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
	done
	local i
	for i in $(seq 1 30); do
		local alive=0
		for pid in "${VG_PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		[ $alive -eq 0 ] && break
		sleep 0.1
	done
	for pid in "${VG_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ $rc -ne 0 ] || [ $VG_FAILED -ne 0 ] || [ -n "${VG_KEEP:-}" ]; then
		echo "[$VG_TEST] exit $rc; files kept in $VG_TMP" >&2
	else
		rm -rf "$VG_TMP"
	fi
	exit $rc
}

vg_init() {
	vg_find_voxgate
	VG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vg-$VG_TEST.XXXXXX")
	VG_CFG=$VG_TMP/voxgate.yaml
	VG_DB=$VG_TMP/cdr.db
	VG_LOG=$VG_TMP/voxgate.log
	trap vg_cleanup EXIT
	trap 'exit 130' INT TERM
	vg_need sqlite3 curl ss
	vg_sipsend_bin
	vg_say "voxgate: $VOXGATE; temp dir: $VG_TMP"
}

# ---------- ports ----------

vg_used_ports() { # all local TCP/UDP ports in use on this machine
	ss -Hantu 2>/dev/null | awk '{ n = split($5, a, ":"); print a[n] }' | sort -un
}

# Set variable VAR to a port in 11000..19999 that is free for both TCP
# and UDP and not yet handed out in this test.
vg_pick_port() { # VAR
	local _vp_used _vp_p _vp_i
	_vp_used=" $(vg_used_ports | tr '\n' ' ') "
	for _vp_i in $(seq 1 500); do
		_vp_p=$((11000 + RANDOM % 9000))
		if [[ "$_vp_used" != *" $_vp_p "* ]] && [[ "$VG_PORTS_TAKEN" != *" $_vp_p "* ]]; then
			VG_PORTS_TAKEN+="$_vp_p "
			printf -v "$1" '%s' "$_vp_p"
			return 0
		fi
	done
	vg_fail "no free port found"
}

# An even-aligned block of N ports in 20000..32000 (below the ephemeral
# range) with nothing bound in it; sets VG_RTP_MIN and VG_RTP_MAX.
vg_pick_rtp_range() { # n
	local n=${1:-400} used base i p clash
	used=$(vg_used_ports)
	for i in $(seq 1 200); do
		base=$((20000 + (RANDOM % ((12000 - n) / 2)) * 2))
		clash=0
		for p in $used; do
			if [ "$p" -ge "$base" ] && [ "$p" -lt $((base + n)) ]; then clash=1; break; fi
		done
		if [ $clash -eq 0 ]; then
			VG_RTP_MIN=$base
			VG_RTP_MAX=$((base + n - 1))
			return 0
		fi
	done
	vg_fail "no free RTP port range found"
}

vg_pick_ports() {
	vg_pick_port VG_SIP_PORT
	vg_pick_port VG_HTTP_PORT
	vg_pick_port VG_AGENT_PORT
	vg_pick_rtp_range "${VG_RTP_BLOCK:-400}"
}

# ---------- config and daemon ----------

vg_config() { # [path]: write a config from the VG_* knobs
	local path=${1:-$VG_CFG}
	cat >"$path" <<EOF
# written by tests/integration/lib.sh for $VG_TEST
sip:
  listen: ["udp:127.0.0.1:$VG_SIP_PORT", "tcp:127.0.0.1:$VG_SIP_PORT"]
  answer_delay: ${VG_ANSWER_DELAY:-0s}
  agent_uri: "sip:agents@127.0.0.1:$VG_AGENT_PORT"
rtp:
  address: 127.0.0.1
  port_min: $VG_RTP_MIN
  port_max: $VG_RTP_MAX
  media_timeout: ${VG_MEDIA_TIMEOUT:-60s}
http:
  listen: 127.0.0.1:$VG_HTTP_PORT
limits:
  max_calls: ${VG_MAX_CALLS:-300}
store:
  path: $VG_DB
log:
  level: ${VG_LOG_LEVEL:-info}
  format: kv
shutdown:
  drain_timeout: ${VG_DRAIN_TIMEOUT:-10s}
  retry_after: ${VG_RETRY_AFTER:-30s}
${VG_EXTRA_YAML:-}
EOF
}

# LeakSanitizer options for the daemon: the repo's suppressions for the
# third-party libraries it loads (src/engines/stt/sherpa/lsan.supp:
# onnxruntime's one-time cpuinfo allocation), added to the caller's.
vg_lsan_options() {
	local supp=$VG_SOURCE_DIR/src/engines/stt/sherpa/lsan.supp
	if [ -f "$supp" ]; then
		echo "${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$supp"
	else
		echo "${LSAN_OPTIONS:-}"
	fi
}

# Start the daemon on $VG_CFG and wait (bounded) for event=ready. A clash
# on a port picked a moment ago is retried with fresh ports.
vg_start() { # [ready_timeout_s]
	local timeout=${1:-60} attempt
	for attempt in 1 2 3; do
		local before=0
		[ -f "$VG_LOG" ] && before=$(wc -l <"$VG_LOG")
		echo "==== start $(date +%T) attempt $attempt" >>"$VG_LOG"
		LSAN_OPTIONS=$(vg_lsan_options) \
			"$VOXGATE" serve -c "$VG_CFG" </dev/null >>"$VG_LOG" 2>&1 &
		VG_DAEMON_PID=$!
		VG_DAEMON_RC=""
		vg_track "$VG_DAEMON_PID"
		local deadline=$((SECONDS + timeout))
		while [ $SECONDS -lt $deadline ]; do
			if tail -n +$((before + 1)) "$VG_LOG" | grep -q 'event=ready'; then
				vg_say "daemon ready (pid $VG_DAEMON_PID, sip $VG_SIP_PORT, http $VG_HTTP_PORT, rtp $VG_RTP_MIN-$VG_RTP_MAX)"
				return 0
			fi
			if ! kill -0 "$VG_DAEMON_PID" 2>/dev/null; then
				break
			fi
			sleep 0.1
		done
		if kill -0 "$VG_DAEMON_PID" 2>/dev/null; then
			vg_fail "daemon not ready after ${timeout}s"
		fi
		wait "$VG_DAEMON_PID" 2>/dev/null && VG_DAEMON_RC=0 || VG_DAEMON_RC=$?
		if tail -n +$((before + 1)) "$VG_LOG" | grep -Eq 'listen_failed|EADDRINUSE|Address already in use'; then
			vg_say "port clash at start (attempt $attempt); picking new ports"
			vg_pick_ports
			vg_config
			continue
		fi
		vg_fail "daemon exited with $VG_DAEMON_RC before ready"
	done
	vg_fail "daemon could not start after 3 attempts"
}

vg_alive() { [ -n "$VG_DAEMON_PID" ] && kill -0 "$VG_DAEMON_PID" 2>/dev/null; }

# Wait (bounded) for the daemon to exit; sets VG_DAEMON_RC. Returns 1 on
# timeout.
vg_wait_exit() { # timeout_s
	local deadline=$((SECONDS + ${1:-30}))
	while kill -0 "$VG_DAEMON_PID" 2>/dev/null; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.1
	done
	wait "$VG_DAEMON_PID" 2>/dev/null && VG_DAEMON_RC=0 || VG_DAEMON_RC=$?
	return 0
}

# SIGTERM and wait; asserts a clean exit (0).
vg_stop() { # [timeout_s]
	vg_alive || vg_fail "daemon is not running at stop (crashed?)"
	kill -TERM "$VG_DAEMON_PID"
	vg_wait_exit "${1:-30}" || vg_fail "daemon did not exit within ${1:-30}s of SIGTERM"
	vg_check_sanitizers
	vg_assert_eq "daemon exit status after SIGTERM" 0 "$VG_DAEMON_RC"
}

vg_kill9() {
	vg_alive || vg_fail "daemon is not running at kill -9 (crashed?)"
	kill -KILL "$VG_DAEMON_PID"
	vg_wait_exit 10 || vg_fail "daemon survived SIGKILL"
}

# Wait (bounded) for a log line matching REGEX; returns 1 on timeout.
vg_wait_log() { # regex timeout_s
	local deadline=$((SECONDS + ${2:-10}))
	while ! grep -Eq -- "$1" "$VG_LOG"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.1
	done
}

vg_log_count() { # regex
	grep -Ec -- "$1" "$VG_LOG" || true
}

# ---------- CDR database ----------

vg_sql() { # query
	sqlite3 -batch -noheader -cmd ".timeout 5000" "$VG_DB" "$1"
}

# Wait (bounded) until QUERY returns WANT.
vg_wait_sql() { # query want timeout_s
	local deadline=$((SECONDS + ${3:-10})) got=""
	while [ $SECONDS -lt $deadline ]; do
		got=$(vg_sql "$1" 2>/dev/null || true)
		[ "$got" == "$2" ] && return 0
		sleep 0.2
	done
	vg_say "wait_sql timed out: '$1' -> '$got' (want '$2')"
	return 1
}

# ---------- HTTP ----------

vg_http() { # path [curl args...]: body on stdout, fails on non-2xx
	local path=$1; shift
	curl -sS -f -m 10 "$@" "http://127.0.0.1:$VG_HTTP_PORT$path"
}

vg_http_code() { # path: the status code only
	curl -s -o /dev/null -m 10 -w '%{http_code}' "http://127.0.0.1:$VG_HTTP_PORT$1" || true
}

# ---------- SIP peers ----------

# sipp with the common options; extra args follow. Messages, errors, logs
# and statistics go to $VG_TMP/sipp-<tag>.*. VG_SIPP_MP sets the media
# port (default: a fresh free port).
#   vg_sipp TAG SCENARIO ARGS...     foreground; returns sipp's exit code
#   vg_sipp_bg TAG SCENARIO ARGS...  background; sets VG_SIPP_PID (tracked),
#                                    collect the code with vg_sipp_wait
vg_sipp_args() { # tag scenario [sipp args...]: sets VG_SIPP_ARGV
	local tag=$1 sf=$2; shift 2
	local lp mp
	vg_pick_port lp
	if [ -n "${VG_SIPP_MP:-}" ]; then mp=$VG_SIPP_MP; else vg_pick_port mp; fi
	VG_SIPP_ARGV=(sipp 127.0.0.1:"$VG_SIP_PORT" -sf "$sf" -i 127.0.0.1 -p "$lp"
		-mi 127.0.0.1 -mp "$mp" -s "${VG_SIPP_SERVICE:-1000}" -nostdin
		-trace_err -error_file "$VG_TMP/sipp-$tag.errors"
		-trace_msg -message_file "$VG_TMP/sipp-$tag.messages"
		-trace_stat -stf "$VG_TMP/sipp-$tag.stat.csv"
		-trace_logs -log_file "$VG_TMP/sipp-$tag.log"
		"$@")
}

vg_sipp() { # tag scenario [sipp args...]
	local tag=$1
	vg_sipp_args "$@"
	local rc=0
	"${VG_SIPP_ARGV[@]}" </dev/null >"$VG_TMP/sipp-$tag.out" 2>&1 || rc=$?
	return $rc
}

vg_sipp_bg() { # tag scenario [sipp args...]
	local tag=$1
	vg_sipp_args "$@"
	"${VG_SIPP_ARGV[@]}" </dev/null >"$VG_TMP/sipp-$tag.out" 2>&1 &
	VG_SIPP_PID=$!
	vg_track "$VG_SIPP_PID"
}

# Sets VG_SIPP_RC to sipp's exit code, or "timeout" if still running.
# (Not in $(...): only this shell can wait for its child.)
vg_sipp_wait() { # pid timeout_s
	local pid=$1 deadline=$((SECONDS + ${2:-60}))
	VG_SIPP_RC=timeout
	while kill -0 "$pid" 2>/dev/null; do
		[ $SECONDS -ge $deadline ] && return 0
		sleep 0.2
	done
	VG_SIPP_RC=0
	wait "$pid" 2>/dev/null || VG_SIPP_RC=$?
}

# sipp's exit codes: 0 all calls succeeded, 1 at least one failed,
# 97 exit on internal command, 99 normal exit without calls processed,
# -1/255 fatal error.
vg_sipp_explain() { # tag
	local tag=$1
	echo "---- sipp $tag output (tail):" >&2
	tail -n 25 "$VG_TMP/sipp-$tag.out" >&2 2>/dev/null || true
	if [ -s "$VG_TMP/sipp-$tag.errors" ]; then
		echo "---- sipp $tag errors (head):" >&2
		head -n 40 "$VG_TMP/sipp-$tag.errors" >&2
	fi
}

# Count UDP packets sent to a local port while a command runs: start
# tcpdump, run the command, stop tcpdump. Sets VG_PKTS.
vg_capture_start() { # port
	vg_tcpdump_start "$1" "udp and dst port $1"
}

# tcpdump on loopback into $VG_TMP/capture-PORT.pcap with FILTER; returns
# once it listens. vg_capture_stop ends it.
vg_tcpdump_start() { # port filter
	vg_need tcpdump
	VG_CAP_FILE=$VG_TMP/capture-$1.txt
	VG_CAP_PCAP=$VG_TMP/capture-$1.pcap
	tcpdump -i lo -nn -U -w "$VG_CAP_PCAP" "$2" 2>"$VG_CAP_FILE.err" &
	VG_CAP_PID=$!
	vg_track "$VG_CAP_PID"
	local i
	for i in $(seq 1 50); do
		grep -q 'listening on' "$VG_CAP_FILE.err" 2>/dev/null && return 0
		kill -0 "$VG_CAP_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$VG_CAP_FILE.err" >&2
	vg_fail "tcpdump did not start"
}

vg_capture_stop() {
	kill -INT "$VG_CAP_PID" 2>/dev/null || true
	wait "$VG_CAP_PID" 2>/dev/null || true
	tcpdump -r "$VG_CAP_PCAP" -nn -q 2>/dev/null >"$VG_CAP_FILE" || true
	VG_PKTS=$(grep -c 'UDP' "$VG_CAP_FILE" || true)
}

# An OPTIONS probe with sipsend; prints "<code> <method>" per response.
vg_options() { # [transport]
	local f=$VG_TMP/options.$$.$RANDOM.txt
	printf 'OPTIONS sip:probe@127.0.0.1:%s SIP/2.0\r\nVia: SIP/2.0/%s 127.0.0.1:5060;branch=z9hG4bK%s%s\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=%s\r\nTo: <sip:probe@127.0.0.1>\r\nCall-ID: probe-%s-%s@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' \
		"$VG_SIP_PORT" "$(echo "${1:-udp}" | tr a-z A-Z)" "$RANDOM" "$RANDOM" "$RANDOM" "$RANDOM" "$RANDOM" >"$f"
	"$SIPSEND" -t "${1:-udp}" -w 3000 -q 50 127.0.0.1 "$VG_SIP_PORT" "$f" | awk '{ print $1, $2 }'
	rm -f "$f"
}

# Fill a scenario template from tests/integration/sipp/ into the temp dir:
# every @KEY@ is replaced by its value (any text, newlines included);
# prints the new path.
vg_scenario() { # name KEY=value...
	local name=$1; shift
	local out=$VG_TMP/${name%.xml}.$RANDOM.xml kv text
	text=$(<"$VG_SIPP_DIR/$name")
	for kv in "$@"; do
		local k=${kv%%=*} v=${kv#*=}
		text=${text//@$k@/$v}
	done
	printf '%s\n' "$text" >"$out"
	if grep -q '@[A-Z_]*@' "$out"; then
		echo "scenario $name: unfilled placeholders: $(grep -o '@[A-Z_]*@' "$out" | sort -u | tr '\n' ' ')" >&2
		return 1
	fi
	echo "$out"
}

# SDP media lines for the sipp scenarios ([media_port] is sipp's).
VG_MLINES_PCMU='m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15'

# The DTMF part of uac_call.xml: wait, then play one RFC 4733 digit pcap.
vg_dtmf_block() { # greet_ms pcap
	printf '<pause milliseconds="%s"/><nop><action><exec play_pcap_audio="%s"/></action></nop>' "$1" "$2"
}

# Audio check of captured RTP (vg_capture_start ... vg_capture_stop):
# decodes the G.711 payloads (PT 0 PCMU, PT 8 PCMA) and sets
#   VG_RTP_AUDIO   packets with PT 0 or 8
#   VG_RTP_VOICED  of those, packets whose level is above -45 dBFS
#   VG_RTP_DBFS    the RMS level of all decoded audio, integer dBFS
#   VG_RTP_PTS     payload types seen, e.g. "0 101"
vg_rtp_audio_stats() {
	local out
	out=$(tcpdump -r "$VG_CAP_PCAP" -nn -x 'udp' 2>/dev/null | awk '
	function hexval(h,   i, v, c) {
		v = 0
		for (i = 1; i <= length(h); i++) {
			c = index("0123456789abcdef", substr(h, i, 1)) - 1
			v = v * 16 + c
		}
		return v
	}
	function ulaw(b,   u, e, m, s) {
		u = 255 - b; s = (u >= 128); u = u % 128
		e = int(u / 16); m = u % 16
		v = (m * 8 + 132) * (2 ^ e) - 132
		return s ? -v : v
	}
	function alaw(b,   a, e, m, v) {
		# XOR with 0x55 without bit operators
		a = 0
		for (k = 0; k < 8; k++) {
			bb = int(b / (2 ^ k)) % 2; mm = int(85 / (2 ^ k)) % 2
			if (bb != mm) a += 2 ^ k
		}
		s = (a >= 128); a = a % 128
		e = int(a / 16); m = a % 16
		if (e == 0) v = m * 16 + 8; else v = (m * 16 + 264) * (2 ^ (e - 1))
		return s ? v : -v
	}
	function flush(   n, off, cc, pt, i, x, sum, cnt) {
		n = nb
		if (n < 40) { nb = 0; return }
		# IPv4 header length from the first byte, then UDP (8), RTP (12+CSRC)
		off = (bytes[0] % 16) * 4 + 8
		cc = bytes[off] % 16
		pt = bytes[off + 1] % 128
		pts[pt] = 1
		off += 12 + cc * 4
		if (pt == 0 || pt == 8) {
			audio++; sum = 0; cnt = 0
			for (i = off; i < n; i++) {
				x = (pt == 0) ? ulaw(bytes[i]) : alaw(bytes[i])
				sum += x * x; cnt++
			}
			if (cnt > 0) {
				tsum += sum; tcnt += cnt
				if (sum / cnt > (32768 * 32768) * 10 ^ (-4.5)) voiced++
			}
		}
		nb = 0
	}
	/^[0-9]/ { flush(); next }
	/^[ \t]+0x/ {
		for (f = 2; f <= NF; f++) {
			h = $f
			while (length(h) >= 2) { bytes[nb++] = hexval(substr(h, 1, 2)); h = substr(h, 3) }
		}
	}
	END {
		flush()
		db = -200
		if (tcnt > 0 && tsum > 0) db = int(10 * log(tsum / tcnt / (32768 * 32768)) / log(10))
		p = ""; for (k in pts) p = p " " k
		printf "%d %d %d%s\n", audio, voiced, db, p
	}')
	read -r VG_RTP_AUDIO VG_RTP_VOICED VG_RTP_DBFS VG_RTP_PTS <<<"$out"
	VG_RTP_PTS=${VG_RTP_PTS:-}
}

# ---------- speech: synthesized callers and RTP timing ----------
# (test_speech_call.sh, test_barge_in.sh; tools in tests/tools)

# A test tool from the build (tests/<name>), or compiled into the temp dir.
# Sets the variable named by the tool in upper case (WAV2PCAP, RTPTIMING)
# unless the environment already names an executable.
vg_tool_bin() { # name
	local name=$1 var
	var=$(echo "$1" | tr "[:lower:]" "[:upper:]")
	if [ -n "${!var:-}" ] && [ -x "${!var}" ]; then return; fi
	if [ -n "${VG_BUILD_DIR:-}" ] && [ -x "$VG_BUILD_DIR/tests/$name" ]; then
		printf -v "$var" '%s' "$VG_BUILD_DIR/tests/$name"
		return
	fi
	cc -std=gnu17 -O1 -Wall -o "$VG_TMP/$name" "$VG_SOURCE_DIR/tests/tools/$name.c" -lm ||
		vg_fail "cannot build tests/tools/$name.c"
	printf -v "$var" '%s' "$VG_TMP/$name"
}

vg_speech_init() { # after vg_init: the tools the speech tests need
	vg_need sipp tcpdump jq espeak-ng sox
	vg_tool_bin wav2pcap
	vg_tool_bin rtptiming
}

# TEXT spoken by espeak-ng, as 8 kHz mono s16 WAV. Voice and speed:
# VG_ESPEAK_VOICE (en-us) and VG_ESPEAK_WPM (140). At 140 words/min the
# test sentences come out of Moonshine word for word through G.711, also
# 6 and 12 dB down; at 150-170 "balance" turned into "marriage",
# "madlands" (WER 17%, one word short of the 20% limit).
vg_say_wav() { # text out.wav
	espeak-ng -v "${VG_ESPEAK_VOICE:-en-us}" -s "${VG_ESPEAK_WPM:-140}" -w "$VG_TMP/espeak.$$.wav" "$1" ||
		vg_fail "espeak-ng failed"
	sox "$VG_TMP/espeak.$$.wav" -r 8000 -c 1 -b 16 -e signed-integer "$2" ||
		vg_fail "sox failed"
	rm -f "$VG_TMP/espeak.$$.wav"
}

# TEXT as an RTP pcap for sipp's play_pcap_audio (wav2pcap options follow,
# e.g. -l 200 -t 3000 for leading/trailing silence in ms).
vg_speech_pcap() { # text out.pcap [wav2pcap args...]
	local text=$1 out=$2; shift 2
	vg_say_wav "$text" "${out%.pcap}.wav"
	"$WAV2PCAP" "$@" "${out%.pcap}.wav" "$out" >"${out%.pcap}.info" ||
		vg_fail "wav2pcap failed on ${out%.pcap}.wav"
	# The tools check each other: the pcap has the packets wav2pcap
	# counted, and one stretch of speech. Sets VG_SPEECH_ONSET_MS and
	# VG_SPEECH_END_MS (within the pcap).
	local t want
	t=$("$RTPTIMING" -p 6002 -d dst -g 500 -m 200 "$out") ||
		vg_fail "rtptiming cannot read $out"
	want=$(vg_kv packets "$(cat "${out%.pcap}.info")")
	[ "$(vg_kv packets "$t")" == "$want" ] ||
		vg_fail "rtptiming reads $(vg_kv packets "$t") packets in $out, wav2pcap wrote $want"
	VG_SPEECH_ONSET_MS=$(vg_kv start_ms "$(grep '^segment n=1 ' <<<"$t")" -1)
	VG_SPEECH_END_MS=$(vg_kv end_ms "$(grep '^segment n=1 ' <<<"$t")" -1)
	[ "$VG_SPEECH_ONSET_MS" -ge 0 ] || vg_fail "no speech in $out: $t"
}

# Like vg_capture_start, but both directions of a media port: what the
# caller received (dst port) and what it sent (src port). vg_capture_stop
# ends it; VG_PKTS then counts both directions.
vg_capture_media_start() { # port
	vg_tcpdump_start "$1" "udp and port $1"
}

# tests/tools/rtptiming on the last capture; prints its key=value lines.
vg_rtptiming() { # rtptiming args (without the file)
	"$RTPTIMING" "$@" "$VG_CAP_PCAP"
}

# The value of KEY in rtptiming output (the first line that has it), or
# the default.
vg_kv() { # key text [default]
	local v
	v=$(grep -oE "(^| )$1=[^ ]*" <<<"$2" | head -n 1 | sed 's/^ *[^=]*=//')
	echo "${v:-${3:-}}"
}

# Word error rate of HYP against REF, in whole percent (rounded up):
# vg_nlu_model DIR INTENT...: train DIR/default.vxn from these BANKING77
# intents (data/banking77/train.tsv), for tests whose flows or adapters
# classify with the model named "default": the ASan build that make check
# runs does not train the BANKING77 one, and a small model trains in
# seconds there. Point nlu.models_dir at DIR.
vg_nlu_model() {
	local dir=$1
	shift
	mkdir -p "$dir"
	awk -F'\t' -v want=" $* " 'index(want, " " $1 " ") > 0' \
		"$VG_SOURCE_DIR/data/banking77/train.tsv" >"$dir/train.tsv"
	[ -s "$dir/train.tsv" ] || vg_fail "vg_nlu_model: no examples for: $*"
	"$VOXGATE" nlu train --data "$dir/train.tsv" -o "$dir/default.vxn" >/dev/null ||
		vg_fail "vg_nlu_model: cannot train $dir/default.vxn"
}

# word-level edit distance / reference words, case and punctuation ignored.
vg_wer() { # ref hyp
	awk -v ref="$1" -v hyp="$2" '
	function words(s, a) {
		s = tolower(s)
		gsub(/[^a-z0-9'"'"' ]/, " ", s)
		return split(s, a, / +/)
	}
	BEGIN {
		n = words(ref, r0); m = words(hyp, h0)
		# split() leaves an empty first field for a leading space
		nr = 0; for (i = 1; i <= n; i++) if (r0[i] != "") r[++nr] = r0[i]
		nh = 0; for (j = 1; j <= m; j++) if (h0[j] != "") h[++nh] = h0[j]
		if (nr == 0) { print (nh == 0 ? 0 : 100); exit }
		for (j = 0; j <= nh; j++) d[0, j] = j
		for (i = 1; i <= nr; i++) {
			d[i, 0] = i
			for (j = 1; j <= nh; j++) {
				c = d[i - 1, j - 1] + (r[i] != h[j])
				if (d[i - 1, j] + 1 < c) c = d[i - 1, j] + 1
				if (d[i, j - 1] + 1 < c) c = d[i, j - 1] + 1
				d[i, j] = c
			}
		}
		print int((d[nr, nh] * 100 + nr - 1) / nr)
	}'
}

# Where the prompts are, from a silent call: dial with uac_call.xml, stay
# HOLD_MS, and read the caller's capture and the CDR. Times are ms after
# the first RTP packet (the greeting's first frame). Sets
#   VG_PROMPT_FIRST_MS  first voiced audio
#   VG_PROMPT_SEGS      "start:end ..." of the speech segments (gap 200 ms)
#   VG_PROMPT_END_MS    where the opening prompts stop: the start of the
#                       first silence >= 1500 ms (the menu waiting for
#                       input); -1 if they never stop within HOLD_MS
#   VG_MENU_START_MS    first voice of the second prompt (main_menu): the
#                       first segment after the first prompt's duration_ms
#                       in the CDR
#   VG_BARGE_AT_MS      a moment to interrupt main_menu: 300 ms into its
#                       first sentence that starts >= 500 ms into it and
#                       lasts >= 1 s (so the prompt is surely talking then,
#                       not pausing between sentences, and would go on
#                       for over 700 ms if not interrupted)
vg_prompt_timing() { # hold_ms
	local mp sf rc=0 out cid id first_ms s st en
	vg_pick_port mp
	vg_capture_media_start "$mp"
	sf=$(vg_scenario uac_call.xml HOLD_MS="$1" DTMF_BLOCK=)
	VG_SIPP_MP=$mp vg_sipp calib "$sf" -m 1 -timeout 60s -timeout_error || rc=$?
	vg_capture_stop
	[ $rc -eq 0 ] || { vg_sipp_explain calib; vg_fail "calibration call failed (sipp exit $rc)"; }
	out=$(vg_rtptiming -p "$mp" -d dst -A 0 -g 1500 -S 0)
	vg_rtptiming -p "$mp" -d dst -v | grep '^frame' >"$VG_TMP/calib.frames" || true
	VG_PROMPT_FIRST_MS=$(vg_kv first_voiced_after "$out" -1)
	VG_PROMPT_END_MS=$(vg_kv stop_after "$out" -1)
	VG_PROMPT_SEGS=$(vg_rtptiming -p "$mp" -d dst |
		awk '/^segment / { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			printf "%s:%s ", v["start_ms"], v["end_ms"] }')
	cid=$(vg_sipp_call_id calib)
	id=$(vg_cdr_id "$cid")
	first_ms=$(vg_sql "SELECT prompts FROM calls WHERE id='$id'" |
		jq -r '.[0] | (.duration_ms // .played_ms // 0) | floor')
	VG_MENU_START_MS=-1
	VG_BARGE_AT_MS=-1
	for s in $VG_PROMPT_SEGS; do
		st=${s%:*} en=${s#*:}
		if [ "$VG_MENU_START_MS" -lt 0 ]; then
			[ "$st" -ge $((first_ms - 100)) ] && VG_MENU_START_MS=$st
			[ "$VG_MENU_START_MS" -lt 0 ] && continue
		fi
		if [ "$st" -ge $((VG_MENU_START_MS + 500)) ] && [ $((en - st)) -ge 1000 ]; then
			VG_BARGE_AT_MS=$((st + 300))
			break
		fi
	done
	vg_say "prompts of a silent call: first voiced ${VG_PROMPT_FIRST_MS} ms, segments [${VG_PROMPT_SEGS% }], opening prompts end ${VG_PROMPT_END_MS} ms; first prompt lasts ${first_ms} ms, main_menu voice from ${VG_MENU_START_MS} ms, barge-in point ${VG_BARGE_AT_MS} ms"
	if [ "$VG_MENU_START_MS" -lt 0 ] || [ "$VG_BARGE_AT_MS" -lt 0 ]; then
		vg_fail "calibration: no main_menu sentence of 1 s or more to interrupt"
	fi
}

# The Call-ID of the call a sipp run made (from the log messages the
# scenarios write: speak_start, server_bye, caller_bye).
vg_sipp_call_id() { # tag
	grep -oE '(speak_start|server_bye|caller_bye) [^ ]+' "$VG_TMP/sipp-$1.log" 2>/dev/null |
		head -n 1 | awk '{ print $2 }'
}

# The CDR id of a call by its SIP Call-ID (waits, bounded, for it to end).
vg_cdr_id() { # sip_call_id
	vg_wait_sql "SELECT count(*) FROM calls WHERE sip_call_id='$1' AND ended_ms > 0" 1 15 ||
		vg_fail "no ended CDR row for Call-ID $1"
	vg_sql "SELECT id FROM calls WHERE sip_call_id='$1'"
}

# Wall-clock time (epoch ms) of the first daemon log line matching REGEX,
# from its ts= field; empty if none. tcpdump stamps packets with the same
# clock (rtptiming prints t0_us), so log events can be placed in a capture.
vg_log_epoch_ms() { # regex
	local ts
	ts=$(grep -E -m 1 -- "$1" "$VG_LOG" | grep -oE 'ts=[0-9T:.-]+Z' | head -n 1)
	[ -n "$ts" ] || return 0
	date -u -d "${ts#ts=}" +%s%3N
}

# Where a call's prompt audio leaves the silent calibration call's: both
# play the same cached prompts, byte for byte, until something (a barge-in)
# changes the course. Compares the payload hashes of the frames sent to
# PORT in the last capture with vg_prompt_timing's, aligned at their first
# voiced frame. Prints "diverge_ms=T same=N": T is the call's time of its
# first frame that differs (-1 if none does), N the number of identical
# frames before it (a small N means the audio is not deterministic and T
# means nothing).
vg_divergence() { # port
	[ -s "$VG_TMP/calib.frames" ] || { echo "diverge_ms=-1 same=0"; return 0; }
	vg_rtptiming -p "$1" -d dst -v | grep '^frame' | awk -v ref="$VG_TMP/calib.frames" '
	function field(line, key,   i, n, a, kv) {
		n = split(line, a, " ")
		for (i = 1; i <= n; i++) { split(a[i], kv, "="); if (kv[1] == key) return kv[2] }
		return ""
	}
	BEGIN {
		n = 0
		while ((getline l < ref) > 0) {
			n++; rh[n] = field(l, "hash")
			if (!rf && field(l, "voiced") == 1) rf = n
		}
	}
	{
		m++; ch[m] = field($0, "hash"); ct[m] = field($0, "t_ms")
		if (!cf && field($0, "voiced") == 1) cf = m
	}
	END {
		if (!rf || !cf) { print "diverge_ms=-1 same=0"; exit }
		same = 0
		for (i = 0; rf + i <= n && cf + i <= m; i++) {
			if (rh[rf + i] != ch[cf + i]) { printf "diverge_ms=%s same=%d\n", ct[cf + i], same; exit }
			same++
		}
		printf "diverge_ms=-1 same=%d\n", same
	}'
}
