#!/bin/sh
# Golden runs: each row runs the binary on a fixture with a preset and the
# test key and compares stdout (and the exit code) with the expected file.
# `make fixtures` (this script with --regenerate) rewrites the expected
# files on purpose; review the diff before committing it.
#
# name | rules | input | expected output | exit | options
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh

GOLDEN='
asterisk|rules/asterisk.rules|fixtures/asterisk/master.csv|fixtures/asterisk/master.out|0|
asterisk-noheader|rules/asterisk.rules|fixtures/asterisk/master.csv|fixtures/asterisk/master-noheader.out|0|--no-header
asterisk-newcdr|rules/asterisk-newcdr.rules|fixtures/asterisk-newcdr/master.csv|fixtures/asterisk-newcdr/master.out|0|
freeswitch|rules/freeswitch.rules|fixtures/freeswitch/Master.csv|fixtures/freeswitch/Master.out|0|
generic|rules/generic.rules|fixtures/generic/cdr.csv|fixtures/generic/cdr.out|0|
generic-jsonl|rules/generic.rules|fixtures/generic/cdr.csv|fixtures/generic/cdr.jsonl|0|--output jsonl
asterisk-jsonl|rules/asterisk.rules|fixtures/asterisk/master.csv|fixtures/asterisk/master.jsonl|0|--output jsonl
mobile|rules/mobile.rules|fixtures/mobile/cdr.csv|fixtures/mobile/cdr.out|0|
kamailio-acc|rules/kamailio-acc.rules|fixtures/kamailio/acc.log|fixtures/kamailio/acc.out|65|
kamailio-acc-jsonl|rules/kamailio-acc.rules|fixtures/kamailio/acc.log|fixtures/kamailio/acc.jsonl|0|--output jsonl --allow-rejects
kamailio-acc-json|rules/kamailio-acc-json.rules|fixtures/kamailio/acc-json.log|fixtures/kamailio/acc-json.out|65|
freeswitch-json|rules/freeswitch-json.rules|fixtures/freeswitch-json/cdr.jsonl|fixtures/freeswitch-json/cdr.out|65|
freeswitch-json-jsonl|rules/freeswitch-json.rules|fixtures/freeswitch-json/cdr.jsonl|fixtures/freeswitch-json/cdr.out.jsonl|65|--output jsonl
kannel|rules/kannel.rules|fixtures/kannel/access.log|fixtures/kannel/access.out|65|
sms-json|rules/sms-json.rules|fixtures/sms-json/sms.jsonl|fixtures/sms-json/sms.out|65|
sms-json-jsonl|rules/sms-json.rules|fixtures/sms-json/sms.jsonl|fixtures/sms-json/sms.out.jsonl|65|--output jsonl
sip|rules/sip.rules|fixtures/sip/calls.pcap|fixtures/sip/messages.out|65|
sip-calls|rules/sip-calls.rules|fixtures/sip/calls.pcap|fixtures/sip/calls.out|65|--calls
'
CHECKS='
asterisk|rules/asterisk.rules|fixtures/asterisk/check.out
asterisk-newcdr|rules/asterisk-newcdr.rules|fixtures/asterisk-newcdr/check.out
freeswitch|rules/freeswitch.rules|fixtures/freeswitch/check.out
generic|rules/generic.rules|fixtures/generic/check.out|fixtures/generic/cdr.csv
mobile|rules/mobile.rules|fixtures/mobile/check.out
kamailio-acc|rules/kamailio-acc.rules|fixtures/kamailio/check.out
kamailio-acc-json|rules/kamailio-acc-json.rules|fixtures/kamailio/check-json.out
freeswitch-json|rules/freeswitch-json.rules|fixtures/freeswitch-json/check.out
kannel|rules/kannel.rules|fixtures/kannel/check.out
sms-json|rules/sms-json.rules|fixtures/sms-json/check.out
sip|rules/sip.rules|fixtures/sip/check.out
sip-calls|rules/sip-calls.rules|fixtures/sip/check-calls.out
'

regen=0
[ "${1:-}" = "--regenerate" ] && regen=1

golden_run() {
	echo "$GOLDEN" | while IFS='|' read -r name rules input expected code opts; do
		[ -n "$name" ] || continue
		# shellcheck disable=SC2086
		$CDRMIN -r "$rules" -k "$KEY" $opts "$input" >"$TMP/g.out" 2>"$TMP/g.err" </dev/null
		rc=$?
		if [ $regen -eq 1 ]; then
			cp "$TMP/g.out" "$expected"
			echo "wrote $expected"
		elif [ "$rc" -ne "$code" ]; then
			echo "FAIL golden $name: exit $rc, expected $code" >&2
			sed 's/^/  | /' "$TMP/g.err" | head -5 >&2
			echo x >>"$TMP/g.fail"
		elif ! cmp -s "$TMP/g.out" "$expected"; then
			echo "FAIL golden $name: output differs from $expected" >&2
			diff "$expected" "$TMP/g.out" | head -10 | sed 's/^/  | /' >&2
			echo x >>"$TMP/g.fail"
		else
			echo x >>"$TMP/g.pass"
		fi
	done
	echo "$CHECKS" | while IFS='|' read -r name rules expected header; do
		[ -n "$name" ] || continue
		$CDRMIN check "$rules" $header >"$TMP/c.out" 2>"$TMP/c.err" </dev/null
		if [ $regen -eq 1 ]; then
			cp "$TMP/c.out" "$expected"
			echo "wrote $expected"
		elif ! cmp -s "$TMP/c.out" "$expected"; then
			echo "FAIL check $name: output differs from $expected" >&2
			diff "$expected" "$TMP/c.out" | head -10 | sed 's/^/  | /' >&2
			echo x >>"$TMP/g.fail"
		else
			echo x >>"$TMP/g.pass"
		fi
	done
	PASS=$((PASS + $(cat "$TMP/g.pass" 2>/dev/null | wc -l)))
	FAIL=$((FAIL + $(cat "$TMP/g.fail" 2>/dev/null | wc -l)))
	rm -f "$TMP/g.pass" "$TMP/g.fail"
}

golden_run
if [ $regen -eq 1 ]; then exit 0; fi
summary
