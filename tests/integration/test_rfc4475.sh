#!/usr/bin/env bash
# RFC 4475 SIP torture messages (../shared/corpora/rfc4475/*.dat), each sent
# byte for byte to voxgate over UDP and over TCP by tests/tools/sipsend.
# After every message the daemon must still be alive and answer OPTIONS.
# The reply (the first final status; "drop" when nothing came back) must be
# in the set EXPECTED.tsv allows, or be a known deviation listed below (and
# explained in docs/RFC4475.md). Fails on a crash, a sanitizer report, an
# outcome that is neither allowed nor a listed deviation, or a listed
# deviation whose outcome changed to another disallowed one. A deviation
# that has become conformant is reported so it can be removed.
#
# Replies to UDP requests go to the source IP and the top Via's port
# (default 5060), so sipsend sends from 127.0.0.X:<that port> (X random,
# 2..254): everything stays on loopback. INVITEs that get a 2xx are ended
# at once with ACK and BYE (sipsend -b).
source "$(dirname "$0")/lib.sh"
vg_init
CORPUS=$VG_SHARED_DIR/corpora/rfc4475
[ -f "$CORPUS/EXPECTED.tsv" ] || vg_fail "corpus not found: $CORPUS"
VG_MEDIA_TIMEOUT=3s
VG_DRAIN_TIMEOUT=3s
vg_pick_ports
vg_config
vg_start

# ---- known deviations: "transport:file" (transport udp, tcp or *) ->
# "outcome-regex" and a short reason. Keep in sync with docs/RFC4475.md.
declare -A KNOWN_OUT KNOWN_WHY
known() { KNOWN_OUT[$1]=$2; KNOWN_WHY[$1]=$3; }
known '*:longreq.dat'   'drop'           'libre drops a request whose top Via has no branch parameter (ENOENT, no reply)'
known '*:inv2543.dat'   'drop'           'libre drops RFC 2543 requests (top Via without branch); allowed: not-crash'
known '*:badinv01.dat'  'drop'           'libre drops the message (Via ";;,;,,"): no 400'
known '*:badvers.dat'   'drop'           'libre drops SIP/7.0 at the parser: no 505'
known '*:ltgtruri.dat'  'drop'           'libre drops <sip:...> as Request-URI at the parser: no 400'
known '*:lwsruri.dat'   'drop'           'libre drops a Request-URI with embedded LWS at the parser: no 400'
known '*:unksm2.dat'    'drop'           'libre drops REGISTER with To: isbn:... (non-SIP URI in To): no reply'
known '*:esc02.dat'     '501'            'voxgate is no registrar: RE%47IST%45R is an unknown method; libre answers 501 (allowed 501|405)'
known '*:escnull.dat'   '501'            'voxgate is no registrar: REGISTER is answered 501 Not Implemented'
known '*:dblreq.dat'    '501'            'voxgate is no registrar: REGISTER 501 (still exactly one response)'
known '*:cparam01.dat'  '501'            'voxgate is no registrar: REGISTER 501'
known '*:cparam02.dat'  '501'            'voxgate is no registrar: REGISTER 501'
known '*:regescrt.dat'  '501'            'voxgate is no registrar: REGISTER 501'
known '*:regaut01.dat'  '501'            'voxgate is no registrar: REGISTER 501'
known '*:scalar02.dat'  '501'            'voxgate is no registrar: REGISTER 501 before the scalar fields are looked at'
known '*:mpart01.dat'   '501'            'voxgate does not take MESSAGE: 501 (allowed 405/501/200: conformant, listed for the record)'
known '*:mismatch01.dat' '200'           'libre does not compare the CSeq method with the request method: OPTIONS with CSeq INVITE gets 200'
known '*:bext01.dat'    '200'            'voxgate ignores Require/Proxy-Require on OPTIONS (420 only for INVITE)'
known '*:sdp01.dat'     '400|2[0-9][0-9]' 'Accept: text/nobodyKnowsThis is not checked (406 expected)'
known '*:unkscm.dat'    '200|drop'       'libre accepts any Request-URI scheme: no 416'
known '*:novelsc.dat'   '200'            'libre accepts any Request-URI scheme: no 416'
known 'tcp:ncl.dat'     '180|200'        'libre reads Content-Length -999 as 0 over TCP: INVITE taken without body'
known '*:baddate.dat'   '400'            'SDP with an extra video m-line is refused with 400 "Bad SDP" (daemon bug)'
known '*:esc01.dat'     '400'            'SDP with an extra video m-line is refused with 400 "Bad SDP" (daemon bug)'
known '*:escruri.dat'   '400'            'SDP with an extra video m-line is refused with 400 "Bad SDP" (daemon bug; 400 is allowed here anyway)'
known '*:multi01.dat'   '400'            'conformant (400), listed for the record'

# An outcome against one EXPECTED.tsv spec (tokens separated by "|").
allowed() { # spec outcome transport file
	local spec=$1 out=$2 tp=$3 file=$4 tok
	# Over TCP a broken Content-Length leaves no way to answer: the RFC
	# notes say wait/close (clerr) and close (ncl).
	if [ "$tp" == tcp ] && [ "$out" == drop ] && { [ "$file" == clerr.dat ] || [ "$file" == ncl.dat ]; }; then
		return 0
	fi
	IFS='|' read -ra toks <<<"$spec"
	for tok in "${toks[@]}"; do
		case $tok in
		drop) [ "$out" == drop ] && return 0 ;;
		tolerated | not-400) [[ "$out" =~ ^[1-6][0-9][0-9]$ ]] && [ "$out" != 400 ] && return 0 ;;
		not-crash) return 0 ;;
		exactly-one-response-to-REGISTER) [ "$out" == one-REGISTER-response ] && return 0 ;;
		[1-6][0-9][0-9]) [ "$out" == "$tok" ] && return 0 ;;
		esac
	done
	return 1
}

TABLE=$VG_TMP/table.txt
printf '%-15s %-9s %-17s %-34s %-10s %-10s %s\n' file section kind expected udp tcp verdict >"$TABLE"
crashes=0 unexpected=0 deviations=0 fixed=0 conform=0

while IFS=$'\t' read -r file section title kind expected notes; do
	[[ "$file" == \#* ]] || [ -z "$file" ] && continue
	[ -f "$CORPUS/$file" ] || vg_fail "missing corpus file $file"
	method=$(head -c 64 "$CORPUS/$file" | head -n 1 | awk '{print $1}')
	declare -A res=()
	verdicts=""
	for tp in udp tcp; do
		lines=$("$SIPSEND" -t "$tp" -b -w 1500 -q 250 127.0.0.1 "$VG_SIP_PORT" "$CORPUS/$file" 2>"$VG_TMP/sipsend.err") ||
			{ cat "$VG_TMP/sipsend.err" >&2; vg_fail "sipsend failed on $file over $tp"; }
		echo "$lines" | sed "s/^/  $tp $file: /" >>"$VG_TMP/responses.txt"
		# The outcome: the first final response (ignoring the answers to
		# sipsend's own ACK/BYE), else the first provisional, else drop.
		out=$(awk '$1 ~ /^[2-6][0-9][0-9]$/ && $2 != "BYE" { print $1; exit }' <<<"$lines")
		[ -z "$out" ] && out=$(awk '$1 ~ /^1[0-9][0-9]$/ { print $1; exit }' <<<"$lines")
		[ -z "$out" ] && out=drop
		if [ "$expected" == exactly-one-response-to-REGISTER ]; then
			n=$(awk '$2 == "REGISTER" && $1 >= 200' <<<"$lines" | wc -l)
			[ "$n" -eq 1 ] && out=one-REGISTER-response || out="${n}-REGISTER-responses"
		fi
		res[$tp]=$out
		# Still alive?
		if ! vg_alive; then
			crashes=$((crashes + 1))
			vg_bad "$file over $tp: the daemon died"
			cat "$TABLE"
			vg_fail "daemon crashed on $file ($tp)"
		fi
		probe=$(vg_options udp)
		if [ "$probe" != "200 OPTIONS" ]; then
			crashes=$((crashes + 1))
			vg_bad "$file over $tp: OPTIONS probe afterwards got '$probe'"
		fi
		# Judge.
		key="$tp:$file"
		[ -n "${KNOWN_OUT[$key]:-}" ] || key="*:$file"
		if allowed "$expected" "$out" "$tp" "$file"; then
			if [ -n "${KNOWN_OUT[$key]:-}" ] && ! [[ "$out" =~ ^(${KNOWN_OUT[$key]})$ ]] ; then
				fixed=$((fixed + 1))
				verdicts+="$tp:now-conformant "
			else
				conform=$((conform + 1))
				verdicts+="$tp:ok "
			fi
		elif [ -n "${KNOWN_OUT[$key]:-}" ] && [[ "$out" =~ ^(${KNOWN_OUT[$key]})$ ]]; then
			deviations=$((deviations + 1))
			verdicts+="$tp:known "
		else
			unexpected=$((unexpected + 1))
			verdicts+="$tp:UNEXPECTED "
			vg_bad "$file over $tp: got '$out', allowed '$expected'${KNOWN_OUT[$key]:+, known deviation '${KNOWN_OUT[$key]}'}"
		fi
	done
	printf '%-15s %-9s %-17s %-34s %-10s %-10s %s\n' "$file" "$section" "$kind" "$expected" \
		"${res[udp]}" "${res[tcp]}" "$verdicts" >>"$TABLE"
	unset res
done <"$CORPUS/EXPECTED.tsv"

echo
cat "$TABLE"
echo
vg_say "conformant: $conform, known deviations: $deviations, unexpected: $unexpected, crashes/no-OPTIONS: $crashes, deviations now conformant: $fixed"
if [ $fixed -gt 0 ]; then
	vg_say "note: some listed deviations now conform; remove them from the list and docs/RFC4475.md:"
	grep -E 'now-conformant' "$TABLE" | awk '{print "  " $1}'
fi
echo "Known deviations (see docs/RFC4475.md):"
for k in $(printf '%s\n' "${!KNOWN_WHY[@]}" | sort); do
	printf '  %-16s %s\n' "$k" "${KNOWN_WHY[$k]}"
done

vg_assert_eq "daemon alive and answering OPTIONS after every message" 0 "$crashes"
vg_assert_eq "outcomes outside the allowed set and not known deviations" 0 "$unexpected"
vg_assert_eq "OPTIONS over TCP at the end" "200 OPTIONS" "$(vg_options tcp)"
vg_stop 20
vg_done
