#!/bin/sh
# End-to-end runs of the line formats: JSON lines (kamailio-acc-json,
# freeswitch-json, sms-json), Kamailio acc key=value lines (kamailio-acc) and
# the Kannel access log (kannel).
#   1. leak test per preset: records in the producer's exact line format from
#      tests/leakgen-lines.awk; no 7-digit window of a number, no address and
#      no e-mail address in stdout or stderr, also with separators taken out
#      and within each decoded output value; every record written
#   2. determinism and joins: runs repeat byte for byte; a number gets one
#      token across the presets within a month, another one the next month;
#      a split input gives the output of the whole
#   3. formats and edge cases: --output jsonl and csv across formats, JSON
#      values kept exactly, absent paths, arrays, kept subtrees, rejects with
#      their place, --max-record, CRLF, last line, blank and other lines,
#      hostile Kannel, kv and JSON lines; stderr never shows a protected value
#   4. stdin, '-' and a live pipe; exit codes
# Usage: CDRMIN=build/cdrmin sh tests/formats.sh   Prints "N passed, M failed".
cd "$(dirname "$0")/.." || exit 1
LC_ALL=C
export LC_ALL
. tests/lib.sh

KACC=rules/kamailio-acc.rules
KJSON=rules/kamailio-acc-json.rules
FSJ=rules/freeswitch-json.rules
KAN=rules/kannel.rules
SMS=rules/sms-json.rules
AST=rules/asterisk.rules
PY=${PYTHON:-python3}

# stats_is NAME "read=.. written=.. rejected=.. filtered=.." [FILE]
stats_is() {
	if grep -qF "stats: $2" "${3:-$TMP/err}"; then ok; else
		fail "$1: expected '$2', got '$(grep 'stats: read=' "${3:-$TMP/err}")'"
	fi
}
# reasons_are NAME "json=1 syntax=0 duplicate=1" [FILE]: each reason's count.
reasons_are() {
	_f=${3:-$TMP/err}
	for _kv in $2; do
		if grep 'rejected by reason:' "$_f" | grep -qE " ${_kv}( |\$)"; then ok; else
			fail "$1: expected $_kv, got '$(grep 'rejected by reason:' "$_f")'"
		fi
	done
}
# col FILE NAME ROW: the value of column NAME in data row ROW of a CSV output
# (simple fields only: no quoted commas before or in it).
col() {
	awk -F, -v name="$2" -v row="$3" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
		NR == row + 1 && c { print $c; exit }' "$1"
}

# ------------------------------------------------------------- leak search
# The decoded values of an output, one a line (keys and values of JSON,
# fields of CSV; a CSV field holding JSON is decoded too), in two forms:
# FILE.raw as they are (line breaks as spaces) and FILE.norm with every
# Unicode digit written in ASCII and everything but ASCII letters and digits
# taken out, so that a number left in groups with any separators between
# them, a line break among them, is found. Exits non-zero on a line that is
# not JSON (jsonl) or not CSV.
cat >"$TMP/values.py" <<'EOF'
import csv, io, json, sys, unicodedata
fmt, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(src, 'rb').read().decode('utf-8', 'surrogateescape')
vals = []
def walk(v):
    if isinstance(v, str):
        vals.append(v)
    elif isinstance(v, dict):
        for k, x in v.items():
            vals.append(k)
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
    elif v is not None and not isinstance(v, bool):
        vals.append(str(v))
def norm(s):
    o = []
    for c in s:
        d = unicodedata.digit(c, None)
        if d is not None:
            o.append(str(d))
        elif c.isascii() and c.isalnum():
            o.append(c)
    return ''.join(o)
lines = data.split('\n')
if lines and lines[-1] == '':
    lines.pop()
if fmt == 'jsonl':
    for i, l in enumerate(lines, 1):
        try:
            o = json.loads(l)
        except ValueError as e:
            sys.exit('line %d: not JSON: %s' % (i, e))
        if not isinstance(o, dict):
            sys.exit('line %d: not an object' % i)
        walk(o)
else:
    for row in csv.reader(io.StringIO(data, newline='')):
        for f in row:
            vals.append(f)
            if f[:1] in '{[' and f:
                try:
                    walk(json.loads(f))
                except ValueError:
                    pass
with open(dst + '.raw', 'w', encoding='utf-8', errors='surrogateescape') as r, open(dst + '.norm', 'w') as n:
    for v in vals:
        r.write(' '.join(v.splitlines()) + '\n')
        n.write(norm(v) + '\n')
EOF

# scan NAME FILE DIGITS STRINGS: no 7-digit window of a secret number in FILE
# (digits of any script read as ASCII; then with every separator taken out),
# and none of the strings.
scan() {
	awk "$LEAK_ASCII" "$2" >"$TMP/scan.ascii"
	awk "$LEAK_JOINED" "$TMP/scan.ascii" >"$TMP/scan.joined"
	if leak_windows "$3" "$TMP/scan.ascii" >"$TMP/scan.found"; then ok; else
		fail "$1: a number: $(head -1 "$TMP/scan.found")"
		grep -n "$(sed -n 's/leak: //p' "$TMP/scan.found" | head -1)" "$TMP/scan.ascii" | head -2 | cut -c1-300 >&2
	fi
	if leak_windows "$3" "$TMP/scan.joined" >"$TMP/scan.found"; then ok; else
		fail "$1, separators taken out: $(head -1 "$TMP/scan.found")"
		grep -n "$(sed -n 's/leak: //p' "$TMP/scan.found" | head -1)" "$TMP/scan.joined" | head -2 | cut -c1-300 >&2
	fi
	if [ -s "$4" ] && grep -qF -f "$4" "$2"; then
		fail "$1: an address or e-mail: $(grep -oF -f "$4" "$2" | head -3 | tr '\n' ' ')"
	else ok; fi
}
# scan_values NAME FILE FORMAT DIGITS STRINGS: the same within each decoded value.
scan_values() {
	if $PY "$TMP/values.py" "$3" "$2" "$TMP/vals" 2>"$TMP/vals.err"; then ok; else
		fail "$1: output is not $3: $(head -1 "$TMP/vals.err")"
		return
	fi
	if leak_windows "$4" "$TMP/vals.norm" >"$TMP/scan.found"; then ok; else
		fail "$1, within a value: $(head -1 "$TMP/scan.found")"
		grep -n "$(sed -n 's/leak: //p' "$TMP/scan.found" | head -1)" "$TMP/vals.norm" | head -2 | cut -c1-300 >&2
	fi
	if [ -s "$5" ] && grep -qF -f "$5" "$TMP/vals.raw"; then
		fail "$1: an address or e-mail in a value: $(grep -oF -f "$5" "$TMP/vals.raw" | head -3 | tr '\n' ' ')"
	else ok; fi
}
# Numbers and addresses of the hand-written lines below: every synthetic
# number holds one of these cores (07700 900xxx, 020 7946 0xxx, 0113 496
# 0xxx, 202 555 01xx), so any of them in the output is a leak; tokens have
# no 0, 1, 8 or 9.
printf '7700900\n2079460\n1134960\n2025550\n' >"$TMP/cores"
printf '192.0.2.7\n192.0.2.9\n198.51.100.7\n2001:db8::77\n2001:db8:77:1::5\nalice.secret@example.com\n' >"$TMP/hstrings"
# hostile_scan NAME: stdout and stderr of the last run show no number or address.
hostile_scan() {
	grep -v 'stats: elapsed=' "$TMP/err" | cat "$TMP/out" - >"$TMP/hs.all"
	scan "$1" "$TMP/hs.all" "$TMP/cores" "$TMP/hstrings"
}

# ---------------------------------------------------------------- 1. leaks
gen() { # PRESET N SEED: tests/leakgen-lines.awk into $TMP/$PRESET.in, secrets in $TMP/$PRESET.digits, .strings
	: >"$TMP/$1.strings"
	awk -v preset="$1" -v n="$2" -v seed="$3" -v digits="$TMP/$1.digits" -v strings="$TMP/$1.strings" \
		-f tests/leakforms.awk -f tests/leakgen-lines.awk >"$TMP/$1.in"
}
leak_test() { # NAME RULES PRESET EXPECTED-STATS [OTHER-LINES]
	for _fmt in csv jsonl; do
		run $CDRMIN -r "$2" -k "$KEY" --stats --output $_fmt "$TMP/$3.in"
		check "leak test $1 ($_fmt): exit $RC" [ "$RC" -eq 0 ]
		stats_is "leak test $1 ($_fmt): every record written" "$4"
		[ -z "$5" ] || expect_grep "leak test $1 ($_fmt): other lines counted" "$TMP/err" "other lines (without the marker, not records)=$5"
		# the run's timing line is left out: its numbers vary from run to run
		grep -v 'stats: elapsed=' "$TMP/err" | cat "$TMP/out" - >"$TMP/leak.all"
		scan "leak test $1 ($_fmt)" "$TMP/leak.all" "$TMP/$3.digits" "$TMP/$3.strings"
		scan_values "leak test $1 ($_fmt)" "$TMP/out" $_fmt "$TMP/$3.digits" "$TMP/$3.strings"
		cp "$TMP/out" "$TMP/$3.$_fmt"
	done
}
N=500
for p in kamailio-acc kamailio-acc-json freeswitch-json kannel sms-json; do gen $p $N 11; done
# The generator did write what the test is about (the checks are not vacuous).
check "generator: secrets recorded" [ "$(wc -l <"$TMP/sms-json.digits")" -ge 1500 ]
check "generator: Call-IDs with number and address" [ "$(grep -cE 'call_id=0[0-9]+-[0-9]+@' "$TMP/kamailio-acc.in")" -ge 100 ]
check "generator: JSON \\\\u escapes of digits" [ "$(grep -c '\\u003[0-9]' "$TMP/sms-json.in")" -ge 300 ]
check "generator: numbers as JSON numbers and in arrays" [ "$(grep -cE '"to":\[[^]]*, 44[0-9]+' "$TMP/sms-json.in")" -ge 10 ]
check "generator: URL-encoded numbers" [ "$(grep -c '"caller_id_number":"%2B' "$TMP/freeswitch-json.in")" -ge 20 ]
check "generator: Kannel UCS-2 texts" [ "$(grep -c 'flags:-1:2:' "$TMP/kannel.in")" -ge 80 ]
check "generator: Kannel texts with brackets" [ "$(grep -c '\[msg:[0-9]*:\[to:' "$TMP/kannel.in")" -ge 20 ]
check "generator: other log lines" [ "$(grep -vc 'ACC: ' "$TMP/kamailio-acc.in")" -ge 100 ]

# The search finds what the generator wrote (else a clean result means nothing).
for p in kamailio-acc kamailio-acc-json freeswitch-json kannel sms-json; do
	awk "$LEAK_ASCII" "$TMP/$p.in" >"$TMP/self.ascii"
	if leak_windows "$TMP/$p.digits" "$TMP/self.ascii" >/dev/null; then fail "leak search finds no number in the $p input"; else ok; fi
	check "leak search finds the addresses of the $p input" grep -qF -f "$TMP/$p.strings" "$TMP/$p.in"
done
OTHER=$(grep -vcF 'ACC: ' "$TMP/kamailio-acc.in")
leak_test kamailio-acc $KACC kamailio-acc "read=$N written=$N rejected=0 filtered=0" "$OTHER"
OTHER=$(grep -vcF 'json_acc[' "$TMP/kamailio-acc-json.in")
leak_test kamailio-acc-json $KJSON kamailio-acc-json "read=$N written=$N rejected=0 filtered=0" "$OTHER"
leak_test freeswitch-json $FSJ freeswitch-json "read=$N written=$N rejected=0 filtered=0"
leak_test kannel $KAN kannel "read=$((N + 2)) written=$N rejected=0 filtered=2"
leak_test sms-json $SMS sms-json "read=$N written=$N rejected=0 filtered=0"
# Kannel with the text kept and scrubbed (the preset's alternative): the
# text itself, UCS-2 decoded, goes through the scrubber.
sed 's/^msg *length/msg       scrub/' $KAN >"$TMP/kannel-scrub.rules"
check "kannel scrub rules derived" grep -q '^msg *scrub' "$TMP/kannel-scrub.rules"
cp "$TMP/kannel.in" "$TMP/kannel-scrub.in"; cp "$TMP/kannel.digits" "$TMP/kannel-scrub.digits"; cp "$TMP/kannel.strings" "$TMP/kannel-scrub.strings"
leak_test kannel-scrub "$TMP/kannel-scrub.rules" kannel-scrub "read=$((N + 2)) written=$N rejected=0 filtered=2"
# The scrubbed texts are there (the UCS-2 ones decoded), with tokens in them.
check "kannel scrub: UCS-2 text decoded and scrubbed" [ "$(grep -cE ',Call b6df\.[a-z2-7]{26} now' "$TMP/kannel-scrub.csv")" -ge 50 ]

# ------------------------------------------------- 2. determinism and joins
for p in kamailio-acc kamailio-acc-json freeswitch-json kannel sms-json; do
	rules=rules/$p.rules
	run $CDRMIN -r $rules -k "$KEY" "$TMP/$p.in"
	expect_same "$p: same input twice, same output" "$TMP/$p.csv" "$TMP/out"
	run $CDRMIN -r $rules -k "$KEY" --cache-size 0 "$TMP/$p.in"
	expect_same "$p: cache off, same output" "$TMP/$p.csv" "$TMP/out"
	run $CDRMIN -r $rules -k "$OTHER_KEY" "$TMP/$p.in"
	expect_differ "$p: other key, other output" "$TMP/$p.csv" "$TMP/out"
done
# Split in two: the halves' outputs (the second one's header left out) are the whole's.
for p in sms-json freeswitch-json kamailio-acc; do
	rules=rules/$p.rules
	head -n 250 "$TMP/$p.in" >"$TMP/part1"
	tail -n +251 "$TMP/$p.in" >"$TMP/part2"
	run $CDRMIN -r $rules -k "$KEY" "$TMP/part1"; cp "$TMP/out" "$TMP/o1"
	run $CDRMIN -r $rules -k "$KEY" "$TMP/part2"; tail -n +2 "$TMP/out" >"$TMP/o2"
	cat "$TMP/o1" "$TMP/o2" >"$TMP/o12"
	expect_same "$p: halves run apart give the whole" "$TMP/$p.csv" "$TMP/o12"
	run $CDRMIN -r $rules -k "$KEY" --output jsonl "$TMP/part1"; cp "$TMP/out" "$TMP/o1"
	run $CDRMIN -r $rules -k "$KEY" --output jsonl "$TMP/part2"
	cat "$TMP/o1" "$TMP/out" >"$TMP/o12"
	expect_same "$p: halves run apart give the whole (jsonl)" "$TMP/$p.jsonl" "$TMP/o12"
	run $CDRMIN -r $rules -k "$KEY" "$TMP/part1" "$TMP/part2"
	expect_same "$p: halves as two files give the whole" "$TMP/$p.csv" "$TMP/out"
done

# One number, +44 7700 900123, in five producers' formats and forms, one month:
# one token, the one the README shows for 447700900123 in March 2024.
TOK='+44/b6df.wp3e2rtp7kyi6ya2gtwtmxpwya'
join_inputs() { # MONTH (03 or 04) EPOCH
	printf ' 1(27042) NOTICE: acc [acc.c:287]: acc_log_request(): ACC: transaction answered: timestamp=%s;method=INVITE;from_tag=a;to_tag=b;call_id=c@example.net;code=200;reason=OK;src_user=07700900123;src_domain=example.net;src_ip=192.0.2.7;dst_ouser=+442079460123;dst_user=+442079460123;dst_domain=example.net\n' "$2" >"$TMP/j.kv"
	printf 'Nov 22 14:00:01 sip1 json_acc[4242]: {"time": %s, "method": "INVITE", "callid": "c", "src_user": "\\u002B447700900123", "dst_user": "0044 20 7946 0123"}\n' "$2" >"$TMP/j.kjson"
	printf '2024-%s-05 09:00:00 Receive SMS [SMSC:smpp1] [SVC:] [ACT:] [BINF:] [FID:] [META:] [from:00447700900123] [to:020 7946 0123] [flags:-1:0:-1:0:-1] [msg:2:hi] [udh:0:]\n' "$1" >"$TMP/j.kannel"
	printf '{"time":"2024-%s-05T09:00:00Z","direction":"mo","from":"+44 7700 900123","to":["02079460123"],"text":"call 07700-900-123","parts":1}\n' "$1" >"$TMP/j.sms"
	printf '"","07700 900123","020-7946-0123","ctx","""A"" <07700900123>","PJSIP/a-1","","Dial","PJSIP/02079460123@trunk","2024-%s-05 09:00:00","","2024-%s-05 09:01:00",60,0,"NO ANSWER","DOCUMENTATION","1.1",""\n' "$1" "$1" >"$TMP/j.csv"
}
join_tokens() { # prints "kv kjson kannel sms asterisk" caller tokens, then the callee ones, the scrubbed one
	run $CDRMIN -r $KACC -k "$KEY" "$TMP/j.kv"; a1=$(col "$TMP/out" src_user 1); b1=$(col "$TMP/out" dst_user 1)
	run $CDRMIN -r $KJSON -k "$KEY" "$TMP/j.kjson"; a2=$(col "$TMP/out" src_user 1); b2=$(col "$TMP/out" dst_user 1)
	run $CDRMIN -r $KAN -k "$KEY" "$TMP/j.kannel"; a3=$(col "$TMP/out" from 1); b3=$(col "$TMP/out" to 1)
	run $CDRMIN -r $SMS -k "$KEY" --output jsonl "$TMP/j.sms"
	a4=$(sed -n 's/.*"from":"\([^"]*\)".*/\1/p' "$TMP/out"); b4=$(sed -n 's/.*"to":\["\([^"]*\)"\].*/\1/p' "$TMP/out")
	s4=$(sed -n 's/.*"text":"call \([^"]*\)".*/\1/p' "$TMP/out")
	run $CDRMIN -r $AST -k "$KEY" "$TMP/j.csv"; a5=$(col "$TMP/out" src 1); b5=$(col "$TMP/out" dst 1)
}
join_inputs 03 1709629200
join_tokens
echo "$a1 $a2 $a3 $a4 $a5" >"$TMP/march.callers"
if [ "$a1" = "$TOK" ] && [ "$a2" = "$TOK" ] && [ "$a3" = "$TOK" ] && [ "$a4" = "$TOK" ] && [ "$a5" = "$TOK" ]; then ok; else
	fail "join: one caller token across kv, acc_json, kannel, sms-json, asterisk: $a1 $a2 $a3 $a4 $a5"; fi
if [ -n "$b1" ] && [ "${b1%%/*}" = "+44" ] && [ "$b1" = "$b2" ] && [ "$b1" = "$b3" ] && [ "$b1" = "$b4" ] && [ "$b1" = "$b5" ]; then ok; else
	fail "join: one callee token across the five: $b1 $b2 $b3 $b4 $b5"; fi
check "join: the number scrubbed out of an SMS text has the caller's token ($s4)" [ "+44/$s4" = "$TOK" ]
m3=$b1
join_inputs 04 1712307600
join_tokens
if [ -n "$a1" ] && [ "$a1" != "$TOK" ] && [ "$a1" = "$a2" ] && [ "$a1" = "$a3" ] && [ "$a1" = "$a4" ] && [ "$a1" = "$a5" ]; then ok; else
	fail "join: April, one token across the five, not March's: $a1 $a2 $a3 $a4 $a5"; fi
check "join: April callee token differs from March's" [ -n "$b1" -a "$b1" != "$m3" ]
# FreeSWITCH mod_json_cdr and mod_cdr_csv: 2025550143 and %2B12025550143 join.
run $CDRMIN -r $FSJ -k "$KEY" --allow-rejects fixtures/freeswitch-json/cdr.jsonl
fj1=$(col "$TMP/out" variables.caller_id_number 1); fj2=$(col "$TMP/out" variables.sip_from_user 2)
run $CDRMIN -r rules/freeswitch.rules -k "$KEY" fixtures/freeswitch/Master.csv
fc=$(col "$TMP/out" caller_id_number 1)
if [ -n "$fc" ] && [ "${fc%%/*}" = "+1" ] && [ "$fj1" = "$fc" ]; then ok; else fail "join: freeswitch json and csv ($fj1, $fc)"; fi
# "%2B12025550177" (JSON line 2) is the CSV's line 1 destination 2025550177
check "join: URL-encoded number decoded" [ "$fj2" = "$(col "$TMP/out" destination_number 1)" ]

# ------------------------------------------------ 3. formats and edge cases
# --output jsonl on kv and kannel input: JSON lines, one object each, every value a string.
for c in "kamailio-acc|$KACC|tests/kamailio/sample-acc.log" "kannel|$KAN|fixtures/kannel/access.log" \
	"kannel-scrub|$TMP/kannel-scrub.rules|$TMP/kannel.in"; do
	name=${c%%|*}; rest=${c#*|}; rules=${rest%%|*}; in=${rest#*|}
	run $CDRMIN -r "$rules" -k "$KEY" --allow-rejects --output jsonl "$in"
	if [ "$RC" -eq 0 ] && [ -s "$TMP/out" ] && $PY -c 'import json, sys
for l in sys.stdin.buffer.read().split(b"\n")[:-1]:
    o = json.loads(l)
    assert isinstance(o, dict) and all(isinstance(v, str) for v in o.values()), l' <"$TMP/out"; then ok; else
		fail "--output jsonl on $name: not JSON lines of strings (exit $RC)"; fi
done
# Bytes that are not UTF-8 and control characters in kept values: still JSON.
printf '2024-03-01 10:15:32 Receive \001SMS\177 [SMSC:\377\376\303] [SVC:a"b\\c] [from:MyBank] [to:07700900123] [flags:-1:0:-1:0:-1] [msg:4:\342\202\254!] [udh:0:]\n' >"$TMP/bytes.log"
run $CDRMIN -r $KAN -k "$KEY" --output jsonl "$TMP/bytes.log"
if [ "$RC" -eq 0 ] && $PY -c 'import json, sys; o = json.loads(sys.stdin.buffer.read()); assert o["smsc"] == "\ufffd" * 3 and o["svc"] == "a\"b\\c" and o["event"] == "Receive \x01SMS\x7f" and o["msg"] == "2:1", o' <"$TMP/out"; then ok; else
	fail "--output jsonl: bytes not UTF-8 as U+FFFD, escapes ($(cat "$TMP/out"))"; fi
# A result that is still a JSON number (a floored epoch time) stays a number;
# a time written as a string stays a string.
printf 'json_acc[1]: {"time": 1709254793, "src_user": "+447700900123"}\njson_acc[1]: {"time": "1709254793", "src_user": "+447700900123"}\n' >"$TMP/num.log"
run $CDRMIN -r $KJSON -k "$KEY" --output jsonl "$TMP/num.log"
check "floored epoch number stays a number" [ "$(sed -n 1p "$TMP/out" | cut -c1-18)" = '{"time":1709251200' ]
check "floored epoch string stays a string" [ "$(sed -n 2p "$TMP/out" | cut -c1-20)" = '{"time":"1709251200"' ]
# --output csv on JSON input: the paths name the columns.
run $CDRMIN -r $FSJ -k "$KEY" --allow-rejects fixtures/freeswitch-json/cdr.jsonl
check "csv from JSON: header of paths" [ "$(head -1 "$TMP/out")" = "switchname,channel_data.direction,variables.uuid,variables.sip_call_id,variables.caller_id_name,variables.caller_id_number,variables.destination_number,variables.sip_from_user,variables.sip_to_user,variables.sip_network_ip,variables.start_epoch,variables.answer_epoch,variables.end_epoch,variables.duration,variables.billsec,variables.hangup_cause,variables.sip_hangup_disposition,variables.read_codec,variables.write_codec,app_log" ]
check "csv from JSON: unanswered call's answer_epoch 0 stays 0" [ "$(col "$TMP/out" variables.answer_epoch 2)" = 0 ]

# JSON values kept exactly: numbers as written, booleans, null, escapes, subtrees.
cat >"$TMP/kept.rules" <<'EOF'
format jsonl
a        keep
b.c      keep
arr[1]   keep
s        keep
n        keep
t        keep
z        keep
"x['y.z']" keep
gone     keep
deep.er  keep
p        phone pseudonym
* drop
EOF
cat >"$TMP/kept.jsonl" <<'EOF'
{"a":1.50e+3,"b":{"c":true,"d":"+447700900123"},"arr":[0,{"x":"y\u0041","k":[1,2]},2],"s":"q\"\\\/\u00e9\ud83d\ude00\n\t\u0000","n":null,"t":false,"z":-0,"x":{"y.z":"dot"},"p":"+447700900123"}
{"a":"x","deep":{"er":[]},"p":null}
   {"a" : [ 1 , 2 ] ,"s":""}	
{"a":1e400,"z":12345678901234567890123,"n":-0.0}
EOF
{
	printf '%s\n' '{"a":1.50e+3,"b.c":true,"arr[1]":{"x":"y\u0041","k":[1,2]},"s":"q\"\\\/\u00e9\ud83d\ude00\n\t\u0000","n":null,"t":false,"z":-0,"x['"'"'y.z'"'"']":"dot","p":"b6df.hym4twp7jizpqeejjkufv6igra"}'
	printf '%s\n' '{"a":"x","deep.er":[],"p":null}'
	printf '%s\n' '{"a":[ 1 , 2 ],"s":""}'
	printf '%s\n' '{"a":1e400,"n":-0.0,"z":12345678901234567890123}'
} >"$TMP/kept.expected"
run $CDRMIN -r "$TMP/kept.rules" -k "$KEY" --output jsonl "$TMP/kept.jsonl"
check "kept JSON values: exit $RC" [ "$RC" -eq 0 ]
expect_same "kept JSON values round-trip exactly (absent paths left out)" "$TMP/kept.expected" "$TMP/out"
run $CDRMIN -r "$TMP/kept.rules" -k "$KEY" "$TMP/kept.jsonl"
printf 'a,b.c,arr[1],s,n,t,z,x['"'"'y.z'"'"'],gone,deep.er,p\n1.50e+3,true,"{""x"":""y\\u0041"",""k"":[1,2]}","q""\\/\303\251\360\237\230\200\n\t\000",,false,-0,dot,,,b6df.hym4twp7jizpqeejjkufv6igra\nx,,,,,,,,,[],\n"[ 1 , 2 ]",,,,,,,,,,\n1e400,,,,-0.0,,12345678901234567890123,,,,\n' >"$TMP/kept.csv"
expect_same "kept JSON values in CSV: strings decoded, absent paths empty" "$TMP/kept.csv" "$TMP/out"

# A protected number in an array: each element gets its token (strings and
# numbers), null and booleans stay, the array's shape stays.
printf 'format jsonl\nnumbering country=44 trunk=0 international=00 bare=international\nto phone pseudonym keep=cc\n* drop\n' >"$TMP/arr.rules"
printf '{"to":["+447700900123", 447700900123, "07700 900123", null, true, {"x":"0044 7700 900123"}, []]}\n{"to":"+447700900123"}\n' >"$TMP/arr.jsonl"
run $CDRMIN -r "$TMP/arr.rules" -k "$KEY" --output jsonl "$TMP/arr.jsonl"
T=b6df.hym4twp7jizpqeejjkufv6igra
printf '{"to":["+44/%s","+44/%s","+44/%s",null,true,{"x":"+44/%s"},[]]}\n{"to":"+44/%s"}\n' $T $T $T $T $T >"$TMP/arr.expected"
expect_same "array: every element pseudonymized" "$TMP/arr.expected" "$TMP/out"
hostile_scan "array"

# A kept subtree holding a protected path is refused at rules load, naming both.
subtree_refused() { # NAME KEPT PROTECTED-RULE PROTECTED-PATH
	printf 'format jsonl\n%s keep\n%s\n* drop\n' "$2" "$3" >"$TMP/sub.rules"
	expect_exit 78 "kept subtree: $1" $CDRMIN -r "$TMP/sub.rules" -k "$KEY" fixtures/sms-json/sms.jsonl
	expect_grep "kept subtree: $1: names the kept path" "$TMP/err" "'$2'"
	expect_grep "kept subtree: $1: names the protected path" "$TMP/err" "'$4'"
	expect_exit 78 "kept subtree: $1 (check)" $CDRMIN check "$TMP/sub.rules"
}
subtree_refused "object" variables "variables.caller_id_number phone pseudonym" variables.caller_id_number
subtree_refused "array" to "to[0] phone pseudonym" "to[0]"
subtree_refused "quoted spelling" "a['b']" "a.b redact" a.b
subtree_refused "deep" client "client.ip.v4 ip truncate" client.ip.v4
subtree_refused "dropped inside" client "client.ip drop" client.ip
# A value inside a protected subtree, kept under its own path, would leave
# whole: the kept path's value is one the other rule protects. Refused too
# (or at least never written as it is).
printf 'format jsonl\na.b keep\na phone pseudonym\n* drop\n' >"$TMP/sub2.rules"
printf '{"a":{"b":"+447700900123"}}\n' >"$TMP/sub2.jsonl"
run $CDRMIN -r "$TMP/sub2.rules" -k "$KEY" "$TMP/sub2.jsonl"
if [ "$RC" -eq 78 ] || ! grep -qF '7700900123' "$TMP/out"; then ok; else
	fail "kept path inside a protected subtree: 'a.b keep' with 'a phone pseudonym' writes +447700900123 (exit $RC)"; fi
# Keys inside a protected subtree are scrubbed; a rewritten key that repeats
# an earlier one gets #2, #3; a value an action without keys cannot read, redacted.
printf 'format jsonl\nnumbering country=44 trunk=0 international=00\nto phone pseudonym keep=cc\nip ip truncate invalid=redact\n* drop\n' >"$TMP/keys.rules"
printf '{"to":{"07700900123":"a","+447700900123":"b","x":{"0044 7700 900123":1}},"ip":{"192.0.2.7":"192.0.2.9","k":"v"}}\n' >"$TMP/keys.jsonl"
run $CDRMIN -r "$TMP/keys.rules" -k "$KEY" --output jsonl "$TMP/keys.jsonl"
if $PY -c 'import json, sys
o = json.loads(sys.stdin.read())
t = "b6df.hym4twp7jizpqeejjkufv6igra"
k = list(o["to"])
assert k == [t, t + "#2", "x"] and list(o["to"]["x"]) == [t + "#3"], k
assert all(v.startswith("b6df.") for v in (o["to"][t], o["to"][t + "#2"], o["to"]["x"][t + "#3"]))
ik = list(o["ip"])
assert ik[0].startswith("b6df.") and o["ip"][ik[0]] == "192.0.2.0" and o["ip"]["k"] == "REDACTED", o["ip"]' <"$TMP/out" 2>/dev/null; then ok; else
	fail "subtree keys scrubbed and made unique: $(cat "$TMP/out")"; fi
hostile_scan "subtree keys"

# Malformed JSON: rejected with its line and byte, the rest processed.
cat >"$TMP/bad.jsonl" <<'EOF'
{"time":"2024-03-01T10:00:00Z","from":"+447700900123"}
{"time":"2024-03-01T10:00:00Z","from":"+447700900124",}
["+447700900125"]
{"time":"2024-03-01T10:00:00Z","from":"+447700900126"} x
{"time":"2024-03-01T10:00:00Z","from":"+447700900127","text":"\x"}
{"time":"2024-03-01T10:00:00Z","from":"+447700900128","fr\u006fm":"MyBank"}
{"time":"2024-03-01T10:00:00Z","from":"+447700900129","parts":01}
{"time":"2024-03-01T10:00:00Z","from":"+447700900130"
{"time":"2024-03-01T10:00:00Z","from":"+447700900131","client":{"ip":"192.0.2.7","ip":"192.0.2.9"}}
{"time":"2024-03-01T10:00:00Z","from":"+447700900132","extra":{"x":1,"x":2}}
EOF
printf '{"time":"2024-03-01T10:00:00Z","from":"+447700900133","text":"caf\351"}\n' >>"$TMP/bad.jsonl"
{ printf '{"time":"2024-03-01T10:00:00Z","from":"+447700900134","extra":'; i=0; while [ $i -lt 70 ]; do printf '['; i=$((i + 1)); done
  i=0; while [ $i -lt 70 ]; do printf ']'; i=$((i + 1)); done; printf '}\n'; } >>"$TMP/bad.jsonl"
printf '{"time":"2024-03-01T10:00:00Z","from":"+447700900135","text":"a\0b"}\n' >>"$TMP/bad.jsonl"
printf '{"time":"not a time","from":"+447700900136"}\n{"from":"+447700900137"}\n{"time":"2024-03-01T10:00:00Z","from":"+447700900138"}' >>"$TMP/bad.jsonl"
run $CDRMIN -r $SMS -k "$KEY" --stats "$TMP/bad.jsonl"
check "malformed JSON: exit 65 (got $RC)" [ "$RC" -eq 65 ]
stats_is "malformed JSON: counts" "read=16 written=3 rejected=13 filtered=0"
reasons_are "malformed JSON: reasons" "json=8 duplicate=2 nul=1 epoch=2"
# the byte (1-based) where the line stops being the start of a valid line:
# the '}' after a ',', the '[' of an array at the top, the 'x' after the
# object, the 'x' after a backslash, the '1' of "01", one past the end, the
# '"' that cannot continue a UTF-8 sequence, the '[' opening level 65.
for lb in "2:55" "3:1" "4:56" "5:64" "7:64" "8:54" "11:67" "12:126"; do
	expect_grep "malformed JSON: line ${lb%:*} at byte ${lb#*:}" "$TMP/err" \
		"$TMP/bad.jsonl:${lb%:*}: record rejected (json): not one well-formed JSON object, at byte ${lb#*:} of the line"
done
expect_grep "duplicate key written with an escape" "$TMP/err" "$TMP/bad.jsonl:6: record rejected (duplicate): field 'from' given twice"
expect_grep "duplicate protected path" "$TMP/err" "$TMP/bad.jsonl:9: record rejected (duplicate): field 'client.ip' given twice"
expect_grep "NUL: nul reject" "$TMP/err" "$TMP/bad.jsonl:13: record rejected (nul)"
check "malformed JSON: the rest processed (lines 1, 10, 16)" [ "$(grep -c '^2024-03-01T10:00:00Z' "$TMP/out")" -eq 3 ]
hostile_scan "malformed JSON"
expect_exit 0 "malformed JSON: --allow-rejects" $CDRMIN -r $SMS -k "$KEY" --allow-rejects "$TMP/bad.jsonl"
check "malformed JSON: --allow-rejects writes the same records" [ "$(grep -c '^2024-03-01T10:00:00Z' "$TMP/out")" -eq 3 ]

# --max-record: a longer line is rejected (too-long), the next one processed;
# a line longer than the read buffer (--max-record + 256 KiB) and a shorter one.
long_line() { # BYTES: 'x' BYTES times
	head -c "$1" /dev/zero | tr '\0' x
}
for size in 400000 3000; do
	{ echo '{"time":"2024-03-01T10:00:00Z","from":"+447700900123"}'
	  printf '{"time":"2024-03-01T10:00:00Z","from":"+447700900124","text":"%s"}\n' "$(long_line $size)"
	  echo '{"time":"2024-03-01T10:00:00Z","from":"+447700900125"}'
	  echo '{"time":"2024-03-01T10:00:00Z","from":"+447700900126"}'; } >"$TMP/long.jsonl"
	run $CDRMIN -r $SMS -k "$KEY" --stats --max-record 1K "$TMP/long.jsonl"
	expect_grep "too-long ($size bytes): reject" "$TMP/err" "$TMP/long.jsonl:2: record rejected (too-long)"
	if grep -qF 'stats: read=4 written=3 rejected=1 filtered=0' "$TMP/err" && [ "$(grep -c '^2024' "$TMP/out")" -eq 3 ]; then ok; else
		fail "too-long ($size bytes), jsonl: the next lines processed: $(grep -c '^2024' "$TMP/out") of 3 records out, $(grep 'stats: read=' "$TMP/err")"; fi
	{ head -2 fixtures/kannel/access.log
	  printf '2024-03-01 10:15:32 Receive SMS [SMSC:smpp1] [SVC:] [ACT:] [BINF:] [FID:] [META:] [from:+447700900123] [to:81234] [flags:-1:0:-1:0:-1] [msg:%d:%s] [udh:0:]\n' $size "$(long_line $size)"
	  sed -n 3p fixtures/kannel/access.log; sed -n 5p fixtures/kannel/access.log; } >"$TMP/long.log"
	run $CDRMIN -r $KAN -k "$KEY" --stats --max-record 1K "$TMP/long.log"
	expect_grep "too-long ($size bytes), kannel: reject" "$TMP/err" "$TMP/long.log:3: record rejected (too-long)"
	stats_is "too-long ($size bytes), kannel: the next lines processed" "read=5 written=3 rejected=1 filtered=1"
	hostile_scan "too-long ($size bytes)"
done

# CRLF line ends, a last line without LF and blank lines change nothing.
for p in kamailio-acc kamailio-acc-json freeswitch-json kannel sms-json; do
	sed 's/$/\r/' "$TMP/$p.in" >"$TMP/crlf.in"
	run $CDRMIN -r rules/$p.rules -k "$KEY" "$TMP/crlf.in"
	expect_same "$p: CRLF input, same output" "$TMP/$p.csv" "$TMP/out"
	head -c -1 "$TMP/$p.in" >"$TMP/nolf.in"
	run $CDRMIN -r rules/$p.rules -k "$KEY" "$TMP/nolf.in"
	expect_same "$p: last line without LF, same output" "$TMP/$p.csv" "$TMP/out"
	awk 'NR % 50 == 1 { print ""; print "   "; printf "\t \r\n" } { print }' "$TMP/$p.in" >"$TMP/blank.in"
	run $CDRMIN -r rules/$p.rules -k "$KEY" --stats "$TMP/blank.in"
	expect_same "$p: blank lines skipped" "$TMP/$p.csv" "$TMP/out"
	expect_no_grep "$p: blank lines are no records" "$TMP/err" "rejected=1"
done
# Lines without the marker: other lines, counted apart, never records.
run $CDRMIN -r $KACC -k "$KEY" --stats tests/kamailio/sample-acc.log
stats_is "kamailio sample: one record per ACC line" "read=$(grep -c 'ACC: ' tests/kamailio/sample-acc.log) written=$(grep -c 'ACC: ' tests/kamailio/sample-acc.log) rejected=0"
expect_grep "kamailio sample: other lines counted" "$TMP/err" "other lines (without the marker, not records)=$(grep -vc 'ACC: ' tests/kamailio/sample-acc.log)"
expect_no_grep "kamailio sample: no 127.0.0.1" "$TMP/out" "127.0.0.1"
run $CDRMIN -r $KJSON -k "$KEY" --stats fixtures/kamailio/acc-json.log
expect_grep "acc_json fixture: other lines counted" "$TMP/err" "other lines (without the marker, not records)=1"
stats_is "acc_json fixture: counts" "read=5 written=3 rejected=2 filtered=0"
# the byte of a fault counts from the start of the log line, the syslog prefix too
b=$(awk 'NR == 6 { print index($0, "404 \"sip_reason") + 4 }' fixtures/kamailio/acc-json.log)
expect_grep "acc_json fixture: fault at its byte of the line" "$TMP/err" "acc-json.log:6: record rejected (json): not one well-formed JSON object, at byte $b of the line"
# The marker found wherever it is on the line: after copies of its first
# byte (up to four of them are each compared; past them a linear search
# takes over), after near misses, at the line's end (no object: a json
# reject), cut by the line's end (not a record).
cat >"$TMP/decoy.log" <<'EOF'
json_acc[1]: {"method": "A"}
j jj jjj json_acc[2]: {"method": "B"}
jjjjjjjjjjjjjjjj json_ac json_acc json_acc[3]: {"method": "C"}
json_acZ[ jsonacc[ json_acc[4]: {"method": "D"}
json_acc] {} json_acc[5]: {"method": "D2"}
Mar  1 00:00:00 sip1 json_acc[
Mar  1 00:00:00 sip1 json_ac
jjjjj json_acc[6]: {"method": "E"}
EOF
printf 'format jsonl\nmarker "json_acc["\nmethod keep\n* drop\n' >"$TMP/decoy.rules"
printf 'method\nA\nB\nC\nD\nD2\nE\n' >"$TMP/decoy.want"
run $CDRMIN -r "$TMP/decoy.rules" -k "$KEY" --stats "$TMP/decoy.log"
expect_same "marker after decoys: the records, in order" "$TMP/decoy.want" "$TMP/out"
stats_is "marker after decoys: counts" "read=7 written=6 rejected=1 filtered=0"
expect_grep "marker after decoys: the one cut short is no record" "$TMP/err" "other lines (without the marker, not records)=1"
expect_grep "marker at the line's end: no object" "$TMP/err" "decoy.log:6: record rejected (json)"

# Hostile Kannel lines: forged fields, duplicates, lying LEN, missing time,
# unterminated fields: rejected or decoded as include/cdrmin/linefmt.h says.
P='2024-03-01 10:15:32 Receive SMS [SMSC:smpp1] [SVC:] [ACT:] [BINF:] [FID:] [META:]'
cat >"$TMP/hostile.log" <<EOF
$P [from:MyBank] [from:07700900123] [to:81234] [flags:-1:0:-1:0:-1] [msg:2:hi] [udh:0:]
$P [from:x] [to:07700900124] [flags:-1:0:-1:0:-1] [msg:2:hi] [udh:0:]
$P [from:evil] [to:07700900125] [to:81234] [flags:-1:0:-1:0:-1] [msg:2:hi] [udh:0:]
$P [from:+447700900126] [to:81234] [flags:-1:0:-1:0:-1] [msg:5:a] [to:07700900127] [udh:0:]
$P [from:+447700900126] [to:81234] [flags:-1:0:-1:0:-1] [msg:40:[to:07700900999] call [+44 7700 900128]: now] [udh:0:]
Receive SMS [SMSC:smpp1] [from:07700900129] [to:81234] [flags:-1:0:-1:0:-1] [msg:2:hi] [udh:0:]
2024-03-01 10:15:32 Receive SMS [SMSC:smpp1] [from:07700900130] [to:81234] [flags:-1:0:-1:0:-1] [msg:2:hi] [udh:0:
2024-03-01 10:15:32 Receive SMS [SMSC:smpp1] [from07700900131] [to:81234]
2024-03-01 10:15:32 Receive SMS [SMSC:smpp1] [FROM:07700900132] [From:07700900133] [to:81234]
2024-03-01 10:15:32 Receive SMS [SMSC:smpp1] [from:07700900134] [to:81234] [flags:-1:2:-1:0:-1] [msg:22:0030003700370030003000390030003000310033003500200041] [udh:0:]
2024-03-01 10:15:32 Receive SMS [SMSC:smpp1] [from:07700900134] [to:81234] [flags:-1:1:-1:0:-1] [msg:11:3037373030393030313337] [udh:0:]
2024-03-01 10:15:32 Receive SMS [SMSC:smpp1] [from:07700900134] [to:81234] [flags:-1:2:-1:0:-1] [msg:13:003000370037003000300039003000300031003300390] [udh:0:]
2024-03-01 10:15:32 Receive SMS [META:] [from:a] [x] [from:07700900141] [to:81234]
2024-03-01 10:15:32 Receive SMS [META:] [from:a] [to:07700900142]x [to:81234]
2024-03-01 10:15:32 Receive SMS [META:] [from:a]] [to:07700900143] [to:81234]
2024-03-01 10:15:32 Receive SMS [META:] [from:07700900144] [to:81234] [msg:3:] [udh:0:] [to:07700900145]
2024-03-01 10:15:32 Receive SMS [SVC:] [from:07700900146] [svc:07700900147] [to:81234] [msg:2:hi]
2024-03-01 10:15:32 Receive SMS [SMSC:smpp1] [from:MyBank] [to:07700900148] [flags:-1:0:-1:0:-1] [msg:33:ok] [SVC:07700900149] [SMSC:+44770] [udh:0:]
2024-03-01 10:15:32 Receive SMS [SMSC:smpp1] [from:MyBank] [to:07700900150] [flags:-1:0:-1:0:-1] [msg:99999999999999999999999:x] [udh:0:]
2024-03-01 10:15:32 Receive SMS [SMSC:smpp1] [from:MyBank] [to:07700900151] [flags:-1:0:-1:0:-1] [msg:no length 07700900152] [udh:0:]
2024-03-01 10:15:32 Receive SMS [SMSC:smpp1] [from:MyBank] [to:07700900153] [flags:-1:0:-1:0:-1] [msg:10:[07700900154] [udh:0:]
2024-03-01 10:15:32 Receive SMS [SMSC:smpp1] [from:MyBank] [to:07700900155] [flags:-1:0:-1:0:-1] [msg:4:ab] [udh:0:]
2024-03-01 10:15:32 Receive SMS [SMSC:smpp1] [from:MyBank] [to:07700900155] [flags:-1:0:-1:0:-1] [msg:4:ab] [udh:0:]
2024-03-01 10:15:3 Receive SMS [from:07700900156] [to:81234]
2024-03-01 10:15:32Receive SMS [from:07700900157] [to:81234]
2024-03-01 10:15:32 [from:07700900158] [to:81234] [:x] 
2024-03-01 10:15:32 Receive SMS [SMSC:smpp1] [from:alice.secret@example.com] [to:07700900159 ] [msg:2:hi] [udh:0:]
2024-03-01 10:15:32 Receive SMS [SMSC:sm[pp1] [from:07700900160] [to:81234]
EOF
# line 23: a lone NUL; line 24: a lone "]" in the value of from
sed -i '23s/ab/a\x00/' "$TMP/hostile.log"
run $CDRMIN -r $KAN -k "$KEY" --stats "$TMP/hostile.log"
check "hostile kannel: no crash, exit 65 (got $RC)" [ "$RC" -eq 65 ]
stats_is "hostile kannel: counts" "read=28 written=14 rejected=14 filtered=0"
reasons_are "hostile kannel: reasons" "syntax=7 duplicate=6 nul=1"
for l in 1 3 9 15 16 17; do expect_grep "hostile kannel: line $l duplicate" "$TMP/err" "$TMP/hostile.log:$l: record rejected (duplicate)"; done
for l in 6 7 8 13 24 25 26; do expect_grep "hostile kannel: line $l syntax" "$TMP/err" "$TMP/hostile.log:$l: record rejected (syntax)"; done
# Written as the contract says: a text whose LEN does not fit runs to the
# last "] [udh:" (so "[to:...]" in it is data); "[SVC:...]" after msg with a
# lying LEN is text too; a UCS-2 text is measured decoded.
row() { sed -n "$(($1 + 1))p" "$TMP/out"; }
check "hostile kannel: LEN not fitting, forged [to:] is text" [ "$(row 2)" = "2024-03-01 10:00:00,Receive SMS,smpp1,,+44/b6df.vtoirobg2mrekmklhxiteqy2q4,b6df.4eix5t3t3z6awgeraevigj6cg4,-1:0:-1:0:-1,18:1" ]
check "hostile kannel: lying LEN" [ "$(row 3)" = "2024-03-01 10:00:00,Receive SMS,smpp1,,+44/b6df.vtoirobg2mrekmklhxiteqy2q4,b6df.4eix5t3t3z6awgeraevigj6cg4,-1:0:-1:0:-1,44:1" ]
check "hostile kannel: UCS-2 measured decoded" [ "$(row 4 | cut -d, -f7-)" = "-1:2:-1:0:-1,13:1" ]
check "hostile kannel: forged SVC after a lying LEN is text" [ "$(row 8 | cut -d, -f3,4)" = "smpp1," ]
check "hostile kannel: ']' not before ' [' is data" [ "$(row 7 | cut -d, -f5)" = "a" -a "$(row 14 | cut -d, -f3)" = "sm[pp1" ]
hostile_scan "hostile kannel"
sed 's/^msg *length/msg scrub/' $KAN >"$TMP/ks.rules"
run $CDRMIN -r "$TMP/ks.rules" -k "$KEY" --stats "$TMP/hostile.log"
stats_is "hostile kannel, text scrubbed: counts" "read=28 written=14 rejected=14 filtered=0"
hostile_scan "hostile kannel, text scrubbed"
# The fixture's UCS-2 message (line 9) decoded: "Cafe 07700900123" and an emoji.
run $CDRMIN -r "$TMP/ks.rules" -k "$KEY" --allow-rejects fixtures/kannel/access.log
expect_grep "kannel UCS-2 decoded, number scrubbed" "$TMP/out" "$(printf 'Cafe b6df.wp3e2rtp7kyi6ya2gtwtmxpwya\360\237\230\200')"
run $CDRMIN -r $KAN -k "$KEY" --allow-rejects fixtures/kannel/access.log
expect_grep "kannel UCS-2 measured: 17 characters" "$TMP/out" ",-1:2:-1:0:-1,17:1"
expect_grep "kannel alphanumeric sender kept" "$TMP/out" ",MyBank,"

# Hostile Kamailio acc lines: a forged pair in a raw value, pairs without '=',
# an empty line after the marker, no timestamp, a Call-ID with number and address.
P=' 1(27042) NOTICE: acc [acc.c:287]: acc_log_request(): ACC: transaction answered: timestamp=1709284502;method=INVITE'
cat >"$TMP/hostile.kv" <<EOF
$P;src_user=07700900123;src_ip=192.0.2.7;call_id=07700900123-4711@192.0.2.7
$P;src_user=x;src_ip=192.0.2.9;src_ip=192.0.2.7
$P;src_user=07700900123;src_ip=192.0.2.9;reason=OK
$P;src_user=07700900124;x=y;;
$P;src_user=07700900124;noequals;dst_user=1
$P;=07700900125
$P;src_user=07700900126;unknown_field=07700900127
 1(27042) NOTICE: acc [acc.c:287]: acc_log_request(): ACC: 
 1(27042) NOTICE: acc [acc.c:287]: acc_log_request(): ACC: timestamp=1709284502;src_user=+447700900128
 1(27042) NOTICE: acc [acc.c:287]: acc_log_request(): ACC: transaction answered: method=INVITE;src_user=+447700900130
 1(27042) NOTICE: acc [acc.c:287]: acc_log_request(): ACC: transaction answered: timestamp=07700900131;src_user=+447700900130
 1(27042) NOTICE: acc [acc.c:287]: acc_log_request(): ACC: transaction answered: timestamp=1709284502;src_ip=07700900132
 1(27042) NOTICE: acc [acc.c:287]: acc_log_request(): ACC: transaction answered: timestamp=1709284502;src_user=anonymous;dst_user=sip:07700900133@example.com;dst_domain=07700900134
 1(27042) INFO: <script>: call from 07700900135 at 192.0.2.7
$P;src_user=07700900136;src_user=07700900137
$P;src_user=a;dst_user=b;dst_user=07700900138
EOF
run $CDRMIN -r $KACC -k "$KEY" --stats "$TMP/hostile.kv"
check "hostile kv: no crash, exit 65 (got $RC)" [ "$RC" -eq 65 ]
stats_is "hostile kv: counts" "read=15 written=6 rejected=9 filtered=0"
reasons_are "hostile kv: reasons" "syntax=3 duplicate=3 epoch=2 value=1"
expect_grep "hostile kv: forged pair is a duplicate" "$TMP/err" "$TMP/hostile.kv:2: record rejected (duplicate): field 'src_ip' given twice"
expect_grep "hostile kv: other line counted" "$TMP/err" "other lines (without the marker, not records)=1"
check "hostile kv: privacy marker kept, SIP URI user pseudonymized" [ "$(col "$TMP/out" src_user 6)" = anonymous -a "$(col "$TMP/out" dst_user 6 | cut -c1-4)" = "+44/" ]
hostile_scan "hostile kv"
run $CDRMIN -r $KACC -k "$KEY" --stats --output jsonl "$TMP/hostile.kv"
hostile_scan "hostile kv (jsonl)"

# The scrubber and line breaks: a number whose digit groups a line break
# separates (LF, CR, VT, FF, NEL, U+2028, U+2029 are all Unicode White_Space)
# must not pass, as it does not with spaces or tabs between its groups.
printf '{"time":"2024-03-01T10:00:00Z","text":"sp 077 009 001 23 tab 077\\t009\\t001\\t24 lf 077\\n009\\n001\\n25 cr 077\\r009\\r001\\r26 vt 077\\u000b009\\u000b001\\u000b27 ff 077\\f009\\f001\\f28 nel 077\\u0085009\\u0085001\\u008529 ls 077\\u2028009\\u2028001\\u202830 ps 077\\u2029009\\u2029001\\u202931"}\n' >"$TMP/breaks.jsonl"
run $CDRMIN -r $SMS -k "$KEY" --output jsonl "$TMP/breaks.jsonl"
check "line breaks: spaces and tabs between groups are replaced" [ "$(grep -o 'b6df\.' "$TMP/out" | wc -l)" -ge 2 ]
$PY -c 'import json, re, sys
t = json.loads(sys.stdin.read())["text"]
for k in "lf cr vt ff nel ls ps".split():
    m = re.search(k + r" (\S+)", t)
    if not (m and m.group(1).startswith("b6df.")):
        print(k, ascii(m.group(1) if m else None).replace("\\", "\\\\"))' <"$TMP/out" >"$TMP/breaks.left"
if [ -s "$TMP/breaks.left" ]; then
	fail "scrub: numbers split by line breaks pass: $(tr '\n' ' ' <"$TMP/breaks.left")"
else ok; fi
# The value search would find such a number in CSV output (the check above
# is not the only one that can see it).
printf 'text\n"call 077\n009\n001\n25"\n' >"$TMP/split.csv"
echo 07700900125 >"$TMP/split.digits"
$PY "$TMP/values.py" csv "$TMP/split.csv" "$TMP/split" 2>/dev/null
if leak_windows "$TMP/split.digits" "$TMP/split.norm" >/dev/null; then fail "value search misses a number split over lines"; else ok; fi

# ------------------------------------------------ 4. stdin, pipes, exit codes
printf '%s\n' "$(sed -n 2p fixtures/kannel/access.log)" "bad line" "$(sed -n 3p fixtures/kannel/access.log)" >"$TMP/two.log"
run $CDRMIN -r $KAN -k "$KEY" --allow-rejects "$TMP/two.log"; cp "$TMP/out" "$TMP/two.out"
printf '%s\n' "$(sed -n 2p fixtures/kannel/access.log)" "bad line" "$(sed -n 3p fixtures/kannel/access.log)" |
	$CDRMIN -r $KAN -k "$KEY" --stats >"$TMP/pipe.out" 2>"$TMP/pipe.err"
rc=$?
check "stdin: rejects give 65 (got $rc)" [ "$rc" -eq 65 ]
cp "$TMP/pipe.out" "$TMP/out"; cp "$TMP/pipe.err" "$TMP/err"
hostile_scan "stdin"
expect_same "stdin: same output as the file" "$TMP/two.out" "$TMP/pipe.out"
expect_grep "stdin: reject named stdin:2" "$TMP/pipe.err" "stdin:2: record rejected (syntax)"
stats_is "stdin: counts" "read=3 written=2 rejected=1 filtered=0" "$TMP/pipe.err"
cat "$TMP/sms-json.in" "$TMP/sms-json.in" >"$TMP/twice.in"
$CDRMIN -r $SMS -k "$KEY" "$TMP/sms-json.in" - <"$TMP/sms-json.in" >"$TMP/dash.out" 2>/dev/null
run $CDRMIN -r $SMS -k "$KEY" "$TMP/twice.in"
expect_same "'-' reads stdin between files" "$TMP/out" "$TMP/dash.out"
# A live pipe: the record is out while the writer still holds the pipe open
# (the wait is bounded; no timing is measured).
mkfifo "$TMP/live.fifo"
# The outputs are opened before the FIFO (whose open waits for the writer),
# so they exist once the writer's open below returns.
$CDRMIN -r $KAN -k "$KEY" --stats >"$TMP/live.out" 2>"$TMP/live.err" <"$TMP/live.fifo" &
pid=$!
exec 3>"$TMP/live.fifo"
sed -n 2p fixtures/kannel/access.log >&3
i=0
while [ "$(wc -l <"$TMP/live.out")" -lt 2 ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
check "live pipe: record out while the pipe is open" [ "$(wc -l <"$TMP/live.out")" -eq 2 ]
sed -n 3p fixtures/kannel/access.log >&3
exec 3>&-
wait $pid
rc=$?
check "live pipe: exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "live pipe: both records" [ "$(wc -l <"$TMP/live.out")" -eq 3 ]
stats_is "live pipe: counts" "read=2 written=2 rejected=0 filtered=0" "$TMP/live.err"
# Stopped by SIGTERM with half a line in the pipe: the whole lines are
# written, the half one is rejected (truncated), without its content.
mkfifo "$TMP/stop.fifo"
$CDRMIN -r $KAN -k "$KEY" --stats >"$TMP/stop.out" 2>"$TMP/stop.err" <"$TMP/stop.fifo" &
pid=$!
exec 3>"$TMP/stop.fifo"
sed -n 2p fixtures/kannel/access.log >&3
printf '2024-03-01 10:15:32 Receive SMS [SMSC:smpp1] [from:07700900123' >&3
i=0
while [ "$(wc -l <"$TMP/stop.out")" -lt 2 ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM $pid
wait $pid
rc=$?
exec 3>&-
check "SIGTERM in a line: exit 65 (got $rc)" [ "$rc" -eq 65 ]
expect_grep "SIGTERM in a line: truncated reject" "$TMP/stop.err" "stdin:2: record rejected (truncated)"
stats_is "SIGTERM in a line: counts" "read=2 written=1 rejected=1 filtered=0" "$TMP/stop.err"
cp "$TMP/stop.out" "$TMP/out"; cp "$TMP/stop.err" "$TMP/err"
hostile_scan "SIGTERM in a line"
# Exit codes (README, "Exit codes").
expect_exit 0 "exit 0: clean run" $CDRMIN -r $SMS -k "$KEY" "$TMP/sms-json.in"
expect_exit 65 "exit 65: rejects" $CDRMIN -r $KAN -k "$KEY" fixtures/kannel/access.log
expect_exit 0 "exit 0: --allow-rejects" $CDRMIN -r $KAN -k "$KEY" --allow-rejects fixtures/kannel/access.log
expect_exit 66 "exit 66: missing input" $CDRMIN -r $KAN -k "$KEY" "$TMP/none.log"
expect_exit 64 "exit 64: unknown option" $CDRMIN -r $KAN -k "$KEY" --bogus fixtures/kannel/access.log
expect_exit 64 "exit 64: unknown output format" $CDRMIN -r $KAN -k "$KEY" --output xml fixtures/kannel/access.log
expect_exit 64 "exit 64: bad --max-record" $CDRMIN -r $KAN -k "$KEY" --max-record lots fixtures/kannel/access.log
expect_exit 77 "exit 77: no key" $CDRMIN -r $KAN fixtures/kannel/access.log
if [ -w /dev/full ]; then
	expect_exit 74 "exit 74: write error" $CDRMIN -r $SMS -k "$KEY" -o /dev/full "$TMP/sms-json.in"
	expect_grep "exit 74: message" "$TMP/err" "write error on /dev/full"
fi
rules78() { # NAME RULES-TEXT MESSAGE-PART
	printf '%b' "$2" >"$TMP/bad.rules"
	expect_exit 78 "exit 78: $1" $CDRMIN -r "$TMP/bad.rules" -k "$KEY" fixtures/sms-json/sms.jsonl
	expect_grep "exit 78: $1: message" "$TMP/err" "$3"
}
rules78 "unknown format" 'format yaml\n* drop\n' "unknown format 'yaml'"
rules78 "columns with jsonl" 'format jsonl\ncolumns a,b\na keep\n* drop\n' "'columns' is for csv"
rules78 "header with kv" 'format kv\nheader yes\na keep\n* drop\n' "'header' is for csv"
rules78 "redact default with jsonl" 'format jsonl\na keep\n* redact\n' "write '* drop'"
rules78 "delimiter with kannel" 'format kannel\ndelimiter |\nfrom keep\n* drop\n' "'delimiter' is for csv and kv"
rules78 "empty marker" 'format jsonl\nmarker ""\na keep\n* drop\n' "marker must not be empty"
rules78 "bad decode" 'format jsonl\na phone pseudonym decode=base64\n* drop\n' "decode= must be url"
rules78 "bad alnum" 'format kannel\nfrom phone pseudonym alnum=show\n* drop\n' "alnum= must be"

summary
