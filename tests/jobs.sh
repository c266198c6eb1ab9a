#!/bin/sh
# -j N: the same output bytes, rejection lines, counters and exit status as
# one thread, for every line format, whatever the chunk size (--chunk 1
# cuts at every line feed, so every quoted line break and over-long line
# crosses a chunk), over one file, several files and stdin; and for SIP
# capture files (--chunk 1: every message its own chunk), public, generated,
# hostile and damaged ones.
. tests/lib.sh
# bench/gen makes the generated capture (make jobs builds it)
: "${GEN:=build/bench-bin/gen}"

# same_as_one NAME RULES "OPTIONS" INPUT...: -j 2 and -j 3 at several chunk
# sizes against -j 1 (stdout, stderr, status): JOBS_PAIRS, "J:CHUNK ..."
# (chunk 0: the default), every pair of 2 and 3 with 1, 64, 601, 4096 and 0
# unless set (make valgrind runs five of them). Files are read in ranges by
# the workers from 512-byte chunks up, by the main thread below that.
: "${JOBS_PAIRS:=2:1 2:64 2:601 2:4096 2:0 3:1 3:64 3:601 3:4096 3:0}"
input_bytes() { sed -n 's/.*elapsed=.*input-bytes=\([0-9]*\).*/\1/p' "$1"; }
same_as_one() {
	_n=$1 _r=$2 _o=$3
	shift 3
	# shellcheck disable=SC2086
	$CDRMIN -r "$_r" -k "$KEY" --stats $_o "$@" >"$TMP/j1.out" 2>"$TMP/j1.err" </dev/null
	_rc1=$?
	sed '/elapsed=/d; /cache lookups=/d' "$TMP/j1.err" >"$TMP/j1.errs"
	# the elapsed= line's input-bytes: the bytes read, whoever read them (ranges too)
	_b1=$(input_bytes "$TMP/j1.err")
	for _jc in $JOBS_PAIRS; do
		_j=${_jc%:*} _c=${_jc#*:}
		_copt=""
		[ "$_c" -ne 0 ] && _copt="--chunk $_c"
		# shellcheck disable=SC2086
		$CDRMIN -r "$_r" -k "$KEY" --stats $_o -j $_j $_copt "$@" >"$TMP/jn.out" \
			2>"$TMP/jn.err" </dev/null
		_rcn=$?
		sed '/elapsed=/d; /cache lookups=/d; /stats: threads=/d' "$TMP/jn.err" >"$TMP/jn.errs"
		if [ "$_rcn" -eq "$_rc1" ]; then ok; else
			fail "$_n -j $_j --chunk $_c: exit $_rcn, -j 1 gave $_rc1"
			head -3 "$TMP/jn.err" >&2
		fi
		expect_same "$_n -j $_j --chunk $_c: output" "$TMP/j1.out" "$TMP/jn.out"
		expect_same "$_n -j $_j --chunk $_c: stderr" "$TMP/j1.errs" "$TMP/jn.errs"
		_bn=$(input_bytes "$TMP/jn.err")
		if [ "${_b1:-none}" = "${_bn:-missing}" ]; then ok; else
			fail "$_n -j $_j --chunk $_c: input-bytes=${_bn:-none}, -j 1 ${_b1:-none}"
		fi
	done
}

# The shipped fixtures, every line format (captures are refused below).
same_as_one asterisk rules/asterisk.rules "" fixtures/asterisk/master.csv
same_as_one asterisk-jsonl rules/asterisk.rules "--output jsonl" fixtures/asterisk/master.csv
same_as_one asterisk-newcdr rules/asterisk-newcdr.rules "" fixtures/asterisk-newcdr/master.csv
same_as_one freeswitch rules/freeswitch.rules "" fixtures/freeswitch/Master.csv
same_as_one generic rules/generic.rules "" fixtures/generic/cdr.csv
same_as_one mobile rules/mobile.rules "" fixtures/mobile/cdr.csv
same_as_one kamailio-acc rules/kamailio-acc.rules "" fixtures/kamailio/acc.log
same_as_one kamailio-acc-json rules/kamailio-acc-json.rules "" fixtures/kamailio/acc-json.log
same_as_one freeswitch-json rules/freeswitch-json.rules "" fixtures/freeswitch-json/cdr.jsonl
same_as_one kannel rules/kannel.rules "" fixtures/kannel/access.log
same_as_one sms-json rules/sms-json.rules "--output jsonl" fixtures/sms-json/sms.jsonl

# Volume: many chunks, repeated numbers.
awk -v n=3000 -v seed=5 -f bench/gen-asterisk.awk >"$TMP/ast.csv"
same_as_one volume rules/asterisk.rules "" "$TMP/ast.csv"

# The summary's cache line counts every thread's engine, not the main
# thread's alone (which filters nothing here): about as many lookups as one
# thread makes, and the same numbers in --stats-json.
lookups() { sed -n 's/.*cache lookups=\([0-9]*\) hits=\([0-9]*\).*/\1 \2/p' "$1"; }
$CDRMIN -r rules/asterisk.rules -k "$KEY" --stats "$TMP/ast.csv" 2>"$TMP/c1.err" >"$TMP/c1.out"
$CDRMIN -r rules/asterisk.rules -k "$KEY" --stats -j 2 --chunk 20000 --stats-json "$TMP/c2.json" \
	"$TMP/ast.csv" 2>"$TMP/c2.err" >/dev/null
set -- $(lookups "$TMP/c1.err") $(lookups "$TMP/c2.err")
if [ "${1:-0}" -gt 0 ] && [ "${3:-0}" -gt $((${1:-0} / 2)) ] && [ "${4:-0}" -gt 0 ] &&
	[ "${4:-0}" -le "${3:-0}" ]; then ok; else
	fail "cache line -j 2: ${3:-no} lookups, ${4:-no} hits (-j 1: ${1:-no}, ${2:-no})"
fi
check "cache -j 2: --stats-json has the summary's numbers" \
	grep -q "\"pseudonym_cache\":{\"lookups\":${3:-x},\"hits\":${4:-x}," "$TMP/c2.json"
# --chunk is the size of a file's chunks: a plain file is read in ranges of
# 20000 bytes (the records that start in each), so it goes in exactly its
# size / 20000 chunks, rounded up; no generated record spans two, so none is
# filtered again; --stats-json says the same; one thread has no such line.
# Through a pipe, a chunk ends at the last line feed in its first 20000
# bytes (Asterisk lines are under 1000), or in what the pipe holds when
# that is less (a live stream is not kept waiting): never fewer chunks, and
# more by how the writer's timing fell (46 to 48 seen), far from one a line
# (3000) or one a 1.3 MB read (1).
threads() {
	sed -n 's/.*threads=\([0-9]*\) chunks=\([0-9]*\) refiltered=\([0-9]*\).*/\1 \2 \3/p' "$1"
}
sz=$(wc -c <"$TMP/ast.csv")
set -- $(threads "$TMP/c2.err")
check "chunks -j 2: threads=2 (${1:-none})" [ "${1:-0}" -eq 2 ]
check "chunks -j 2 --chunk 20000: $sz bytes in ${2:-no} ranges of 20000" \
	[ "${2:-0}" -eq $(((sz + 19999) / 20000)) ]
check "chunks -j 2: none filtered again (${3:-none})" [ "${3:-x}" = 0 ]
check "chunks -j 2: --stats-json agrees" \
	grep -q "\"threads\":{\"n\":2,\"chunks\":${2:-x},\"refiltered\":0}" "$TMP/c2.json"
# The workers read the file, not the main thread: its bytes are counted all the same.
check "chunks -j 2 --chunk 20000: bytes in, of the file, all $sz of them" \
	grep -q "\"bytes_in\":$sz,\"file_bytes_in\":$sz,\"file_bytes_total\":$sz," "$TMP/c2.json"
check "chunks -j 1: no threads line" sh -c "! grep -q threads= '$TMP/c1.err'"
# At 512 bytes, two Asterisk lines never fit: cut at line feeds, a chunk
# would be one line (3000 chunks), as ranges the file is ceil(size / 512).
$CDRMIN -r rules/asterisk.rules -k "$KEY" --stats -j 2 --chunk 512 "$TMP/ast.csv" 2>"$TMP/c4.err" >"$TMP/c4.out"
set -- $(threads "$TMP/c4.err")
check "chunks -j 2 --chunk 512: ${2:-no} ranges of 512" [ "${2:-0}" -eq $(((sz + 511) / 512)) ]
expect_same "chunks -j 2 --chunk 512: output" "$TMP/c4.out" "$TMP/c1.out"
cat "$TMP/ast.csv" | $CDRMIN -r rules/asterisk.rules -k "$KEY" --stats -j 2 --chunk 20000 \
	2>"$TMP/c3.err" >/dev/null
set -- $(threads "$TMP/c3.err")
check "chunks -j 2 --chunk 20000, a pipe: ${2:-no} chunks" \
	[ "${2:-0}" -ge $((sz / 20000)) -a "${2:-0}" -le $((sz / 5000)) ]
# Digests computed ahead (AVX2 lanes, or one by one without AVX2) are
# counted in every thread: none for Asterisk (its numbers keep the memos),
# some for acc_json once its Call-IDs and tags skip the memos (after the
# gate's first window of 4096), and --stats-json says what --stats says.
ahead() { sed -n 's/.*digests-ahead=\([0-9]*\).*/\1/p' "$1"; }
check "digests ahead: none for Asterisk" [ "$(ahead "$TMP/c1.err")" = 0 ]
if $GEN kamailio-json -n 12000 --seed 3 -o "$TMP/acc.jsonl" 2>/dev/null; then
	for j in 1 2; do
		$CDRMIN -r rules/kamailio-acc-json.rules -k "$KEY" --stats -j $j --chunk 200000 \
			--stats-json "$TMP/a$j.json" "$TMP/acc.jsonl" 2>"$TMP/a$j.err" >/dev/null
		n=$(ahead "$TMP/a$j.err")
		check "digests ahead, acc_json -j $j: counted (${n:-none})" [ "${n:-0}" -gt 1000 ]
		check "digests ahead, acc_json -j $j: --stats-json agrees" \
			grep -q "\"digests_ahead\":${n:-x}}" "$TMP/a$j.json"
	done
else
	fail "digests ahead: $GEN could not make the acc_json lines"
fi
# ... and while the run goes on: 3000 records through a FIFO that then stays
# open, a --stats-json every second; once it says running with all 3000
# written, its cache lookups are the workers' (the main thread has none).
rm -f "$TMP/fifo"
mkfifo "$TMP/fifo"
$CDRMIN -r rules/asterisk.rules -k "$KEY" -j 2 --chunk 20000 --stats-json "$TMP/live.json" \
	--stats-interval 1 <"$TMP/fifo" >/dev/null 2>"$TMP/live.err" &
pid=$!
exec 7>"$TMP/fifo"
cat "$TMP/ast.csv" >&7
live_ok=""
i=0
while [ $i -lt 100 ]; do
	if grep -q '"state":"running"' "$TMP/live.json" 2>/dev/null &&
		grep -q '"written":3000,' "$TMP/live.json" 2>/dev/null; then
		live_ok=$(sed -n 's/.*"pseudonym_cache":{"lookups":\([0-9]*\),.*/\1/p' "$TMP/live.json")
		break
	fi
	sleep 0.1
	i=$((i + 1))
done
exec 7>&-
wait $pid
if [ -n "$live_ok" ] && [ "$live_ok" -gt $((${1:-0} / 2)) ]; then ok; else
	fail "cache -j 2, while running: ${live_ok:-no document with 3000 written} lookups (-j 1: ${1:-no})"
fi

# Several files in order, the second with a header that differs (its records
# are rejected), a file in the middle without a final line feed.
H='caller,callee,start,duration'
cat >"$TMP/g.rules" <<'EOF'
format csv
header yes
numbering country=44 trunk=0 international=00
caller phone pseudonym
callee phone pseudonym keep=cc
start time floor=hour
duration keep
* drop
EOF
{
	echo "$H"
	i=0
	while [ $i -lt 40 ]; do
		echo "0207946$(printf %04d $i),+4477009001$(printf %02d $((i % 50))),2024-03-01 10:$(printf %02d $((i % 60))):00,$i"
		i=$((i + 1))
	done
} >"$TMP/f1.csv"
{ echo "callee,caller,start,duration"; tail -n 5 "$TMP/f1.csv"; } >"$TMP/f2.csv"
{ echo "$H"; tail -n 7 "$TMP/f1.csv" | tr -d '\n'; } >"$TMP/f3.csv"
same_as_one files "$TMP/g.rules" "" "$TMP/f1.csv" "$TMP/f2.csv" "$TMP/f3.csv" "$TMP/f1.csv"

# Hostile CSV: quoted line breaks (a chunk cut inside a field), CRLF, a stray
# quote, a NUL, a wrong field count, an over-long record, blank lines, a
# byte order mark.
printf '\357\273\277%s\r\n' "$H" >"$TMP/h.csv"
printf '"0207946 0001","+44 7700 900001","2024-03-01 10:00:00",1\r\n' >>"$TMP/h.csv"
printf '"0207946\n0002","+44 7700\n\n900002","2024-03-01 10:00:00",2\n' >>"$TMP/h.csv"
printf '\n\n"0207946 0003"x,"+44 7700 900003","2024-03-01 10:00:00",3\n' >>"$TMP/h.csv"
printf '02079460004,+447700900004,2024-03-01 10:00:00\n' >>"$TMP/h.csv"
printf '02079460005,+447700900005,2024-03-01 1\00000:00,5\n' >>"$TMP/h.csv"
awk 'BEGIN { printf "02079460006,\"+447700900006"; for (i = 0; i < 300; i++) printf "\n12345678"; printf "\",2024-03-01 10:00:00,6\n" }' >>"$TMP/h.csv"
printf '02079460007,+447700900007,2024-03-01 10:00:00,7\n"02079460008,unclosed\n' >>"$TMP/h.csv"
same_as_one hostile-csv "$TMP/g.rules" "--max-record 1000" "$TMP/h.csv"
same_as_one hostile-csv-big "$TMP/g.rules" "--max-record 100000" "$TMP/h.csv"
# A chunk cut inside its quoted line breaks hands the file to the main
# thread: the chunks queued after it are filtered again, and counted.
$CDRMIN -r "$TMP/g.rules" -k "$KEY" -j 2 --chunk 64 --stats "$TMP/h.csv" >/dev/null 2>"$TMP/h.err"
set -- $(threads "$TMP/h.err")
check "hostile csv -j 2 --chunk 64: chunks filtered again (${3:-none} of ${2:-none})" \
	[ "${3:-0}" -ge 1 -a "${3:-0}" -lt "${2:-0}" ]

# Hostile lines: over-long lines, a NUL, CRLF, blank lines, no final line feed.
{
	head -n 3 fixtures/kannel/access.log
	awk 'BEGIN { for (i = 0; i < 500; i++) printf "x"; printf "\n" }'
	printf 'bad\000line\r\n\n'
	sed -n '4,$p' fixtures/kannel/access.log | tr -d '\n'
} >"$TMP/k.log"
same_as_one hostile-kannel rules/kannel.rules "--max-record 300" "$TMP/k.log"

# stdin through a pipe
cat "$TMP/ast.csv" | $CDRMIN -r rules/asterisk.rules -k "$KEY" >"$TMP/p1.out" 2>/dev/null
cat "$TMP/ast.csv" | $CDRMIN -r rules/asterisk.rules -k "$KEY" -j 2 --chunk 5000 >"$TMP/p2.out" 2>/dev/null
expect_same "stdin pipe -j 2" "$TMP/p1.out" "$TMP/p2.out"

# A missing file ends the run as with one thread: what came before is written, exit 66.
$CDRMIN -r "$TMP/g.rules" -k "$KEY" "$TMP/f1.csv" "$TMP/nope.csv" "$TMP/f1.csv" >"$TMP/m1.out" 2>"$TMP/m1.err"
rc1=$?
$CDRMIN -r "$TMP/g.rules" -k "$KEY" -j 2 --chunk 64 "$TMP/f1.csv" "$TMP/nope.csv" "$TMP/f1.csv" >"$TMP/m2.out" 2>"$TMP/m2.err"
rc2=$?
[ "$rc1" -eq 66 ] && [ "$rc2" -eq 66 ] && ok || fail "missing file: exits $rc1 and $rc2, expected 66"
expect_same "missing file: output" "$TMP/m1.out" "$TMP/m2.out"
expect_same "missing file: stderr" "$TMP/m1.err" "$TMP/m2.err"

# SIP captures: the lead reads the frames and reassembles, the workers decode
# and filter the messages. The shipped capture; a public one of IPv6
# fragments; the RFC 4475 torture messages (many rejects, each in order);
# 300 generated dialogs (2,100 messages, SDP, repeated numbers).
PY=${PYTHON:-python3}
same_as_one sip rules/sip.rules "" fixtures/sip/calls.pcap
same_as_one sip-ipv6frag rules/sip.rules "" ../shared/corpus/pcap/ipv6frag.pcap
$PY tests/sip/mkpcap.py udp "$TMP/torture.pcap" $(ls ../shared/corpus/sip-torture/*.dat | sort)
same_as_one sip-torture rules/sip.rules "--allow-rejects" "$TMP/torture.pcap"
$GEN sip -n 300 --seed 7 --numbers 500 -o "$TMP/gen.pcap" 2>/dev/null ||
	fail "sip -j: $GEN could not make the generated capture"
same_as_one sip-generated rules/sip.rules "" "$TMP/gen.pcap"
check "sip -j: the generated capture gave 2100 records" \
	[ "$($CDRMIN -r rules/sip.rules -k "$KEY" -j 2 --chunk 4096 "$TMP/gen.pcap" 2>/dev/null | wc -l)" -eq 2101 ]
# Hostile captures (tests/sip/mkpcap.py): each alone, then all in one run with
# --pcap and file arguments mixed (the names change between chunks).
$PY tests/sip/mkpcap.py hostile "$TMP/hostile"
for f in "$TMP"/hostile/*; do
	same_as_one "sip-hostile-${f##*/}" rules/sip.rules "" "$f"
done
set -- "$TMP"/hostile/*
same_as_one sip-hostile-all rules/sip.rules "--pcap $1 --pcap $TMP/gen.pcap" "$@" fixtures/sip/calls.pcap
# A capture cut inside a frame: the lead's own reject comes after every
# message before it (the torture messages: rejects among them).
size=$(wc -c <"$TMP/torture.pcap")
head -c $((size / 2 + 5)) "$TMP/torture.pcap" >"$TMP/cut.pcap"
same_as_one sip-cut rules/sip.rules "" "$TMP/gen.pcap" "$TMP/cut.pcap" fixtures/sip/calls.pcap
# A capture on stdin.
$CDRMIN -r rules/sip.rules -k "$KEY" <"$TMP/gen.pcap" >"$TMP/sp1.out" 2>/dev/null
$CDRMIN -r rules/sip.rules -k "$KEY" -j 2 --chunk 2000 <"$TMP/gen.pcap" >"$TMP/sp2.out" 2>/dev/null
expect_same "sip: stdin -j 2" "$TMP/sp1.out" "$TMP/sp2.out"
# A missing capture among others: what came before is written, then exit 66.
$CDRMIN -r rules/sip.rules -k "$KEY" "$TMP/gen.pcap" "$TMP/nope.pcap" fixtures/sip/calls.pcap >"$TMP/sm1.out" 2>"$TMP/sm1.err"
rc1=$?
$CDRMIN -r rules/sip.rules -k "$KEY" -j 2 --chunk 3000 "$TMP/gen.pcap" "$TMP/nope.pcap" fixtures/sip/calls.pcap >"$TMP/sm2.out" 2>"$TMP/sm2.err"
rc2=$?
[ "$rc1" -eq 66 ] && [ "$rc2" -eq 66 ] && ok || fail "sip, missing capture: exits $rc1 and $rc2, expected 66"
expect_same "sip, missing capture: output" "$TMP/sm1.out" "$TMP/sm2.out"
expect_same "sip, missing capture: stderr" "$TMP/sm1.err" "$TMP/sm2.err"
check "sip, missing capture: the messages before it are out" [ "$(wc -l <"$TMP/sm2.out")" -eq 2101 ]

# Call records, live capture and the store stay on one thread: refused with a usage error.
expect_exit 64 "-j with sip-calls" $CDRMIN -r rules/sip-calls.rules -k "$KEY" -j 2 fixtures/sip/calls.pcap
expect_grep "-j with sip-calls: says why" "$TMP/err" "-j is for csv, jsonl, kv and kannel input and sip capture files"
expect_exit 64 "-j with -i" $CDRMIN -r rules/sip.rules -k "$KEY" -j 2 -i lo
expect_exit 64 "-j with --retain" $CDRMIN -r rules/asterisk.rules -k "$KEY" -j 2 \
	--retain "$TMP/store" --store-key "$OTHER_KEY" fixtures/asterisk/master.csv
expect_exit 64 "--chunk 0" $CDRMIN -r rules/asterisk.rules -k "$KEY" -j 2 --chunk 0 fixtures/asterisk/master.csv

summary
