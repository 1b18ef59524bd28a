# shellcheck shell=bash disable=SC2034 # globals are read by the benches
# bench/lib.sh: the pieces every shell benchmark shares. Source it after
# BUILD_DIR is known:
#
#   bench_init NAME BUILD_DIR   BENCH_NAME, VOXGATE, SRC, BENCH_TMP (a temp
#                               dir /tmp/vg-bench-NAME.XXXXXX) and an EXIT
#                               trap that stops what bench_track registered
#                               (TERM, then KILL after 5 s) and removes the
#                               temp dir unless VG_BENCH_KEEP is set
#   bench_port                  a free loopback port (the kernel's choice)
#   bench_track PID             stop PID at exit
#   bench_config <YAML          write $BENCH_TMP/voxgate.yaml: sip on
#                               udp:127.0.0.1:$BENCH_SIP, http on
#                               127.0.0.1:$BENCH_HTTP, store in the temp
#                               dir, log.level $BENCH_LOG_LEVEL (default
#                               warn), then the
#                               YAML on stdin (the bench's own sections);
#                               BENCH_STORE_EXTRA: more lines under store:
#   bench_start                 start "$VOXGATE" serve -c the config, log in
#                               $BENCH_TMP/voxgate.log, wait up to 60 s for
#                               /healthz; sets VG_PID; exits 1 (log on
#                               stderr) when the daemon dies or never answers
#   bench_start_with CMD...     the same under CMD (e.g. taskset -c 0,1)
#   bench_stop                  stop the daemon (TERM, wait)
#   bench_nlu_model             BUILD_DIR/banking77.vxn, trained from
#                               data/banking77/train.tsv when missing
#   bench_figure NAME VALUE UNIT [TARGET]
#                               print the figure line bench/run.sh collects:
#                               `BENCH NAME VALUE UNIT [target=OPVALUE]`
#                               (OP one of <= >= < >; VALUE "-" when it could
#                               not be measured)
#   bench_need TOOL...          exit 2 with a message when a tool is missing
#   bench_pct P [D]             nearest-rank percentile of numbers on stdin
#   bench_cpu_ticks PID         utime+stime of PID in clock ticks

bench_init() { # name build_dir
	BENCH_NAME=$1
	BUILD_DIR=$(cd "$2" && pwd)
	SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	VOXGATE=$BUILD_DIR/src/voxgate
	BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vg-bench-$1.XXXXXX")
	BENCH_PIDS=()
	VG_PID=""
	trap bench_cleanup EXIT
	trap 'exit 143' TERM INT # run the EXIT trap on a timeout too
}

bench_say() { printf '[%s] %s\n' "$BENCH_NAME" "$*"; }

bench_track() { BENCH_PIDS+=("$1"); }

bench_cleanup() {
	local p i
	for p in "${BENCH_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${BENCH_PIDS[@]}"; do
		for i in $(seq 1 50); do
			kill -0 "$p" 2>/dev/null || break
			[ "$i" = 50 ] && kill -KILL "$p" 2>/dev/null
			sleep 0.1
		done
		wait "$p" 2>/dev/null || true
	done
	if [ -n "${VG_BENCH_KEEP:-}" ]; then
		echo "kept $BENCH_TMP"
	else
		rm -rf "$BENCH_TMP"
	fi
}

bench_need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || { echo "need $t (scripts/install-deps.sh)" >&2; exit 2; }
	done
}

bench_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_config() { # < extra yaml
	BENCH_SIP=${BENCH_SIP:-$(bench_port)}
	BENCH_HTTP=${BENCH_HTTP:-$(bench_port)}
	BENCH_CONFIG=$BENCH_TMP/voxgate.yaml
	{
		cat <<YAML
sip:
  listen: ["udp:127.0.0.1:$BENCH_SIP"]
http:
  listen: 127.0.0.1:$BENCH_HTTP
store:
  path: $BENCH_TMP/cdr.db
${BENCH_STORE_EXTRA:-}
log:
  level: ${BENCH_LOG_LEVEL:-warn}
YAML
		cat
	} >"$BENCH_CONFIG"
}

# shellcheck disable=SC2119 # no prefix
bench_start() { bench_start_with; }

# shellcheck disable=SC2120 # callers may pass none
bench_start_with() { # [prefix...]
	[ -x "$VOXGATE" ] || { echo "need $VOXGATE (cmake --build $BUILD_DIR --target voxgate)" >&2; exit 2; }
	"$@" "$VOXGATE" serve -c "$BENCH_CONFIG" >"$BENCH_TMP/voxgate.log" 2>&1 &
	VG_PID=$!
	bench_track "$VG_PID"
	local _
	for _ in $(seq 1 600); do
		curl -sf -m 1 "http://127.0.0.1:$BENCH_HTTP/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$VG_PID" 2>/dev/null || { cat "$BENCH_TMP/voxgate.log" >&2; exit 1; }
		sleep 0.1
	done
	echo "voxgate not ready after 60 s (log: $BENCH_TMP/voxgate.log)" >&2
	exit 1
}

bench_stop() {
	[ -n "$VG_PID" ] || return 0
	kill -TERM "$VG_PID" 2>/dev/null && wait "$VG_PID" 2>/dev/null
	VG_PID=""
}

bench_nlu_model() {
	local m=$BUILD_DIR/banking77.vxn
	if [ ! -s "$m" ]; then
		echo "== training the BANKING77 model" >&2
		"$VOXGATE" nlu train --data "$SRC/data/banking77/train.tsv" -o "$m" >/dev/null 2>&1 ||
			{ echo "cannot train $m" >&2; exit 1; }
	fi
	echo "$m"
}

bench_figure() { # name value unit [target]
	local v=${2:--}
	printf 'BENCH %s %s %s%s\n' "$1" "$v" "$3" "${4:+ target=$4}"
}

bench_pct() { # p [decimals]
	sort -g | awk -v p="$1" -v d="${2:-0}" '{ a[NR] = $1 } END {
	if (!NR) { print "-"; exit }
	r = int((p / 100) * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR
	printf("%." d "f\n", a[r]) }'
}

bench_cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
