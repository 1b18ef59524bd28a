#!/usr/bin/env bash
# AudioSocket calls get their flow from a FastAGI set-up session on the same
# UUID ([5/7] leftover): the dialplan runs
#   AGI(agi://127.0.0.1:4573/audiosocket,${UUID}[,FLOW]) then
#   AudioSocket(${UUID},127.0.0.1:9092).
# tests/integration/agi_asterisk.py plays the AGI side, tests/tools/asclient
# the AudioSocket side. Checks:
#  A. an explicit FLOW: VOXGATE_FLOW set, VOXGATE_RESULT=audiosocket, no
#     HANGUP (the dialplan goes on); the AudioSocket call runs that flow.
#  B. no FLOW: flows.routes on the dialled number (agi_dnid 5000) picks it;
#     the UUID written upper case without dashes still matches.
#  C. no set-up: asterisk.default_flow.
#  D. the UUID of A again: a second call record (a fresh id, the UUID kept
#     as sip_call_id), the default flow (a hand-off is taken once).
#  E. a bad UUID: the set-up is refused (VOXGATE_RESULT=error).
source "$(dirname "$0")/lib.sh"
vg_init
vg_need jq python3
vg_tool_bin asclient
vg_pick_ports
vg_pick_port VG_AGI_PORT
vg_pick_port VG_AS_PORT
FLOWS=$VG_TMP/flows
SOUNDS=$VG_TMP/sounds
mkdir -p "$FLOWS" "$SOUNDS"
for f in as-explicit as-routed as-default; do
	cat >"$FLOWS/$f.yaml" <<YAML
name: $f
start: hello
nodes:
  hello: {type: say, text: This is $f., next: bye}
  bye: {type: hangup, reason: completed}
YAML
done
VG_EXTRA_YAML="flows:
  dir: $FLOWS
  default: bank-hotline
  routes:
    - number: \"5000\"
      flow: as-routed
asterisk:
  agi_enabled: true
  agi_listen: 127.0.0.1:$VG_AGI_PORT
  sounds_dir: $SOUNDS
  default_flow: as-default
  audiosocket_enabled: true
  audiosocket_listen: 127.0.0.1:$VG_AS_PORT"
vg_config
vg_start 120

agi() { # args for agi_asterisk.py -> its JSON
	timeout 30 python3 "$VG_INTEG_DIR/agi_asterisk.py" "$VG_AGI_PORT" --script audiosocket \
		--speech /dev/null --timeout 20 "$@" || vg_fail "agi_asterisk failed"
}
as_call() { # uuid32hex
	timeout 30 "$ASCLIENT" -u "$1" -s -t 6000 127.0.0.1 "$VG_AS_PORT" >/dev/null ||
		vg_fail "asclient failed"
}
cdr_of() { # sip_call_id -> "id|flow" of its newest ended row
	vg_sql "SELECT id, flow FROM calls WHERE sip_call_id='$1' AND ended_ms > 0 ORDER BY started_ms DESC LIMIT 1"
}
wait_rows() { # sip_call_id n
	vg_wait_sql "SELECT count(*) FROM calls WHERE sip_call_id='$1' AND ended_ms > 0" "$2" 15 ||
		vg_fail "no ended CDR row $2 for $1"
}

# ---- A. explicit flow
UA_HEX=0123456789abcdef0123456789abcd0a
UA=01234567-89ab-cdef-0123-456789abcd0a
out=$(agi --arg "$UA" --arg as-explicit)
vg_say "agi A: $out"
vg_assert_eq "A: VOXGATE_FLOW" as-explicit "$(jq -r '.vars.VOXGATE_FLOW // ""' <<<"$out")"
vg_assert_eq "A: VOXGATE_RESULT" audiosocket "$(jq -r '.vars.VOXGATE_RESULT // ""' <<<"$out")"
vg_assert_eq "A: the channel is not hung up" 0 "$(jq '[.commands[] | select(. == "HANGUP")] | length' <<<"$out")"
vg_assert_eq "A: the AGI step ended (socket closed)" true "$(jq -r .closed <<<"$out")"
vg_assert_log "A: log audiosocket_setup" "event=audiosocket_setup .*uuid=\"?$UA\"? flow=\"?as-explicit"
as_call "$UA_HEX"
wait_rows "$UA" 1
IFS='|' read -r id flow <<<"$(cdr_of "$UA")"
vg_assert_eq "A: the call id is the UUID" "$UA" "$id"
vg_assert_eq "A: the AudioSocket call ran the handed-off flow" as-explicit "$flow"
vg_assert_eq "A: no CDR for the set-up session" 0 "$(vg_sql "SELECT count(*) FROM calls WHERE platform='asterisk'")"

# ---- B. routed on the dialled number; UUID upper case, no dashes
UB_HEX=0123456789ABCDEF0123456789ABCD0B
UB=01234567-89ab-cdef-0123-456789abcd0b
out=$(agi --arg "$UB_HEX" --dnid 5000)
vg_assert_eq "B: VOXGATE_FLOW from flows.routes" as-routed "$(jq -r '.vars.VOXGATE_FLOW // ""' <<<"$out")"
as_call "${UB_HEX,,}"
wait_rows "$UB" 1
IFS='|' read -r id flow <<<"$(cdr_of "$UB")"
vg_assert_eq "B: the AudioSocket call ran the routed flow" as-routed "$flow"

# ---- C. no set-up
UC_HEX=0123456789abcdef0123456789abcd0c
UC=01234567-89ab-cdef-0123-456789abcd0c
as_call "$UC_HEX"
wait_rows "$UC" 1
IFS='|' read -r id flow <<<"$(cdr_of "$UC")"
vg_assert_eq "C: no hand-off: asterisk.default_flow" as-default "$flow"

# ---- D. A's UUID again
as_call "$UA_HEX"
wait_rows "$UA" 2
IFS='|' read -r id flow <<<"$(cdr_of "$UA")"
vg_say "D: second call with $UA: id=$id flow=$flow"
vg_assert "D: a fresh call id" test -n "$id" -a "$id" != "$UA"
vg_assert_eq "D: the hand-off was taken once: default flow" as-default "$flow"
vg_assert_eq "D: two call records share the UUID" 2 "$(vg_sql "SELECT count(*) FROM calls WHERE sip_call_id='$UA'")"
vg_assert_log "D: log audiosocket_uuid_reused" "event=audiosocket_uuid_reused call=$id uuid=\"?$UA"

# ---- E. bad UUID
out=$(agi --arg not-a-uuid)
vg_assert_eq "E: bad UUID refused" error "$(jq -r '.vars.VOXGATE_RESULT // ""' <<<"$out")"
vg_assert_eq "E: no VOXGATE_FLOW" "" "$(jq -r '.vars.VOXGATE_FLOW // ""' <<<"$out")"

vg_stop
vg_done
