#!/usr/bin/env bash
# Transfer targets "queue:NAME" on the Twilio adapter (transfer.queues):
# a flow transferring to a queue mapped to a sip: URI answers
# <Dial><Sip>URI</Sip></Dial>, one mapped to tel: <Dial><Number>, and an
# unmapped queue <Enqueue>NAME</Enqueue> (the caller waits in a Twilio
# queue); the CDR ends 'transferred' and the webhook-less events log the
# resolved target. The SIP side (REFER to the mapped URI; an unmapped queue
# goes to on_fail) is in test_connect_flow.sh, FastAGI's in test_fastagi.
source "$(dirname "$0")/lib.sh"
vg_init
vg_need jq node
NODE_DIR=$VG_SOURCE_DIR/tests/node
[ -d "$NODE_DIR/node_modules/twilio" ] ||
	vg_fail "npm package twilio missing in tests/node (run scripts/install-deps.sh)"
vg_pick_ports
TOKEN=0123456789abcdef0123456789abcdef
PUBLIC=https://vg.example.test
FLOWS=$VG_TMP/flows
mkdir -p "$FLOWS"
for q in vip fraud billing; do
	cat >"$FLOWS/to-$q.yaml" <<YAML
name: to-$q
start: hold
nodes:
  hold: {type: say, text: Please hold., next: xfer}
  xfer: {type: transfer, target: "queue:$q", on_fail: sorry}
  sorry: {type: say, text: Sorry., next: bye}
  bye: {type: hangup, reason: completed}
YAML
done
VG_EXTRA_YAML="flows:
  dir: $FLOWS
  routes:
    - number: \"+18005550001\"
      flow: to-vip
    - number: \"+18005550002\"
      flow: to-fraud
    - number: \"+18005550003\"
      flow: to-billing
transfer:
  queues:
    vip: \"sip:vip@pbx.example.test\"
    fraud: \"tel:+15550100\"
twilio:
  enabled: true
  auth_token: \"$TOKEN\"
  public_url: \"$PUBLIC\""
vg_config
vg_start 60
tw() { # path [args...]: the client's JSON on stdout
	local path=$1; shift
	timeout 30 node "$NODE_DIR/twilio_client.js" "http://127.0.0.1:$VG_HTTP_PORT" \
		"$PUBLIC" "$TOKEN" "$path" "$@"
}
call() { # sid to -> "Verb|Child:text" of the verb after the <Say>
	local out
	out=$(tw /twilio/voice CallSid="$1" From=+15551230001 To="$2" CallStatus=ringing Direction=inbound) ||
		vg_fail "client failed"
	vg_say "$2: $(jq -c .verbs <<<"$out")" >&2
	jq -r '.verbs[1] | "\(.name)|\(.text // "")|\((.children // [])[0].name // ""):\((.children // [])[0].text // "")"' <<<"$out"
}
vg_assert_eq "queue mapped to sip: -> <Dial><Sip>" "Dial||Sip:sip:vip@pbx.example.test" \
	"$(call CA00000000000000000000000000000q01 +18005550001)"
vg_assert_eq "queue mapped to tel: -> <Dial><Number>" "Dial||Number:+15550100" \
	"$(call CA00000000000000000000000000000q02 +18005550002)"
vg_assert_eq "unmapped queue -> <Enqueue>" "Enqueue|billing|:" \
	"$(call CA00000000000000000000000000000q03 +18005550003)"
vg_assert_log "log: the Sip dial" 'event=twilio_dial call=CA00000000000000000000000000000q01 target="?sip:vip@pbx.example.test'
for n in 1 2 3; do
	vg_wait_sql "SELECT end_reason FROM calls WHERE id='CA00000000000000000000000000000q0$n' AND ended_ms > 0" transferred 5 ||
		{ vg_bad "call q0$n: CDR not ended 'transferred'"; continue; }
	vg_ok "call q0$n: CDR end_reason transferred"
done
vg_stop
vg_done
