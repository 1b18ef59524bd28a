#!/usr/bin/env bash
# tests/tools/httpload, the signed load client of bench/ (Twilio webhooks
# and the Amazon Connect endpoints), for one second each against the
# daemon: every request answered 200 (exit 0, the summary line with a rate
# and percentiles), the Twilio calls ended in CDRs; a wrong token or secret
# is refused by the daemon and makes httpload fail (exit 1); bad usage is
# exit 2.
source "$(dirname "$0")/lib.sh"
vg_init
vg_pick_ports
HTTPLOAD=${VG_BUILD_DIR:+$VG_BUILD_DIR/tests/httpload}
[ -x "${HTTPLOAD:-}" ] || HTTPLOAD=$(dirname "$VOXGATE")/../tests/httpload
[ -x "$HTTPLOAD" ] || vg_fail "httpload not built (cmake --build BUILD --target httpload)"
TOKEN=0123456789abcdef0123456789abcdef
PUBLIC=https://vg.example.test
KEY=load-key
SECRET=load-secret-0123456789abcdef
VG_EXTRA_YAML="twilio:
  enabled: true
  auth_token: \"$TOKEN\"
  public_url: \"$PUBLIC\"
connect:
  enabled: true
  api_key: $KEY
  secret: \"$SECRET\""
vg_config
vg_start 60

line_ok() { # tag output
	vg_assert_match "$1: summary line" \
		'^requests=[1-9][0-9]* rate=[0-9]+/s connections=2 p50_ms=[0-9.]+ p90_ms=[0-9.]+ p99_ms=[0-9.]+ max_ms=[0-9.]+ errors=0 non200=0$' "$2"
}

rc=0
out=$("$HTTPLOAD" --sign twilio 127.0.0.1 "$VG_HTTP_PORT" "$PUBLIC" "$TOKEN" 2 1) || rc=$?
vg_say "twilio: $out"
vg_assert_eq "twilio: exit status" 0 "$rc"
line_ok twilio "$out"
calls=$(vg_sql "SELECT count(*) FROM calls WHERE platform='twilio' AND end_reason='completed'")
vg_assert_ge "twilio: calls ended in CDRs" "$calls" 1

rc=0
out=$("$HTTPLOAD" --sign twilio 127.0.0.1 "$VG_HTTP_PORT" "$PUBLIC" wrong-token 1 0.3 2>&1) || rc=$?
vg_assert_eq "twilio, wrong token: exit status" 1 "$rc"
vg_assert_match "twilio, wrong token: says so" 'no successful request \(errors 0, non-200 [1-9]' "$out"

echo '{"Name":"ContactFlowEvent","Details":{"ContactData":{"Attributes":{},"Channel":"VOICE","ContactId":"@ID@","InitialContactId":"@ID@","InitiationMethod":"INBOUND","CustomerEndpoint":{"Address":"+14155550101","Type":"TELEPHONE_NUMBER"},"SystemEndpoint":{"Address":"+18005550100","Type":"TELEPHONE_NUMBER"},"Queue":null},"Parameters":{}}}' >"$VG_TMP/event.json"
rc=0
out=$("$HTTPLOAD" --sign connect 127.0.0.1 "$VG_HTTP_PORT" "$KEY" "$SECRET" /connect/lambda/crm_lookup "$VG_TMP/event.json" 2 1) || rc=$?
vg_say "connect: $out"
vg_assert_eq "connect: exit status" 0 "$rc"
line_ok connect "$out"

rc=0
out=$("$HTTPLOAD" --sign connect 127.0.0.1 "$VG_HTTP_PORT" "$KEY" wrong-secret-0123456789 /connect/lambda/crm_lookup "$VG_TMP/event.json" 1 0.3 2>&1) || rc=$?
vg_assert_eq "connect, wrong secret: exit status" 1 "$rc"
vg_assert_match "connect, wrong secret: says so" 'no successful request \(errors 0, non-200 [1-9]' "$out"

rc=0; "$HTTPLOAD" --sign sip 127.0.0.1 1 2>/dev/null || rc=$?
vg_assert_eq "unknown scheme: usage error" 2 "$rc"
rc=0; "$HTTPLOAD" --sign twilio 127.0.0.1 "$VG_HTTP_PORT" "$PUBLIC" "$TOKEN" 0 1 2>/dev/null || rc=$?
vg_assert_eq "zero connections: usage error" 2 "$rc"
vg_stop 30
vg_done
