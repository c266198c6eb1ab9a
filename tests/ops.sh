#!/bin/sh
# Operations: what running cdrmin over archives and as a service needs.
#   1. gzip and zstd archives of every input family (CSV, JSON lines, kv,
#      Kannel, pcap, pcapng), read by their content whatever their names:
#      whole, as several members or frames cut mid-record, from stdin, and
#      several files in order: output byte-identical to the plain input's
#   2. corrupt and truncated archives: an error naming the file and both
#      offsets, exit 65, the records before it written and counted; a bomb
#      decompressed in bounded memory; a zstd window beyond the limit refused
#   3. the progress line on a terminal (script), not without one, not with
#      --quiet or with the output on the same terminal; erased at the end
#   4. --stats-json: valid JSON, counters that add up and match --stats,
#      rewritten every --stats-interval seconds while a live run goes on,
#      atomically; a path that cannot be written fails the run at its start
#   5. SIGHUP: -o reopened (log rotation), nothing lost or written twice, on
#      a FIFO fed slowly too; ignored when the output is stdout
# Usage: CDRMIN=build/cdrmin sh tests/ops.sh   Prints "ops: N passed, M failed".
cd "$(dirname "$0")/.." || exit 1
LC_ALL=C
export LC_ALL
. tests/lib.sh

# Debian's python3 directly: a version manager's shim costs half a second a start
PY=${PYTHON:-python3}
[ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
GEN=rules/generic.rules
ESC=$(printf '\033')
CR=$(printf '\r')


# counts FILE: the summary's "read=.. written=.. rejected=.. filtered=.." line.
counts() {
	sed -n 's/^cdrmin: stats: \(read=.*\)$/\1/p' "$1" | head -1
}

# balanced NAME FILE: read = written + rejected + filtered in the --stats of FILE.
balanced() {
	_l=$(counts "$2")
	_r=$(echo "$_l" | sed -n 's/.*read=\([0-9]*\).*/\1/p')
	_w=$(echo "$_l" | sed -n 's/.*written=\([0-9]*\).*/\1/p')
	_j=$(echo "$_l" | sed -n 's/.*rejected=\([0-9]*\).*/\1/p')
	_f=$(echo "$_l" | sed -n 's/.*filtered=\([0-9]*\).*/\1/p')
	if [ -n "$_r" ] && [ "$_r" -eq $((_w + _j + _f)) ]; then ok; else fail "$1: counts do not add up: '$_l'"; fi
}

# wait_for CMD...: until CMD succeeds, at most 20 s. Returns CMD's last status.
wait_for() {
	_i=0
	while ! "$@"; do
		_i=$((_i + 1))
		[ $_i -ge 200 ] && return 1
		sleep 0.1
	done
	return 0
}

# lines_are N FILE: FILE exists and holds exactly N lines.
lines_are() {
	[ -f "$2" ] && [ "$(wc -l <"$2")" -eq "$1" ]
}

# A pcap file as pcapng (SHB, IDB, one EPB per record): python3, standard library.
to_pcapng() {
	$PY - "$1" "$2" <<'EOF'
import struct, sys
data = open(sys.argv[1], 'rb').read()
magic = struct.unpack('<I', data[:4])[0]
assert magic == 0xa1b2c3d4, 'little-endian microsecond pcap expected'
snaplen, linktype = struct.unpack('<II', data[16:24])
out = [struct.pack('<IIIHHqI', 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28),
       struct.pack('<IIHHII', 1, 20, linktype, 0, snaplen, 20)]
off = 24
while off < len(data):
    sec, usec, caplen, length = struct.unpack('<IIII', data[off:off + 16])
    frame = data[off + 16:off + 16 + caplen]
    off += 16 + caplen
    ts = sec * 1000000 + usec
    pad = b'\0' * (-caplen % 4)
    total = 32 + caplen + len(pad)
    out.append(struct.pack('<IIIIIII', 6, total, 0, ts >> 32, ts & 0xffffffff, caplen, length))
    out.append(frame + pad + struct.pack('<I', total))
open(sys.argv[2], 'wb').write(b''.join(out))
EOF
}

# cut3 FILE OUTPREFIX: FILE in three pieces cut at a third and two thirds of its bytes.
cut3() {
	_s=$(wc -c <"$1")
	_a=$((_s / 3))
	_b=$((_s * 2 / 3))
	head -c $_a "$1" >"$2.1"
	tail -c +$((_a + 1)) "$1" | head -c $((_b - _a)) >"$2.2"
	tail -c +$((_b + 1)) "$1" >"$2.3"
}

# ================================================== 1. archives, every family
mkdir -p "$TMP/gz" "$TMP/zst" "$TMP/gzm" "$TMP/zstm"
to_pcapng fixtures/sip/calls.pcap "$TMP/calls.pcapng"
# a skippable zstd frame (magic 0x184D2A53, 5 bytes of content), as pzstd writes
printf 'S*M\030\005\000\000\000hello' >"$TMP/skippable"
# name | rules | input | options
FAMILIES="
asterisk|rules/asterisk.rules|fixtures/asterisk/master.csv|
generic|rules/generic.rules|fixtures/generic/cdr.csv|
mobile|rules/mobile.rules|fixtures/mobile/cdr.csv|
freeswitch-json|rules/freeswitch-json.rules|fixtures/freeswitch-json/cdr.jsonl|
sms-json|rules/sms-json.rules|fixtures/sms-json/sms.jsonl|
kamailio-acc|rules/kamailio-acc.rules|fixtures/kamailio/acc.log|
kamailio-acc-json|rules/kamailio-acc-json.rules|fixtures/kamailio/acc-json.log|
kannel|rules/kannel.rules|fixtures/kannel/access.log|
sip|rules/sip.rules|fixtures/sip/calls.pcap|
sip-calls|rules/sip-calls.rules|fixtures/sip/calls.pcap|--calls
sip-pcapng|rules/sip.rules|$TMP/calls.pcapng|
sip-ipv6frag|rules/sip.rules|../shared/corpus/pcap/ipv6frag.pcap|
"
# same_run NAME: stdout, exit status and summary counts equal the plain run's.
same_run() {
	if [ "$RC" -eq "$PRC" ] && cmp -s "$TMP/out" "$TMP/plain.out" && [ "$(counts "$TMP/err")" = "$PCOUNTS" ] &&
		[ "$(sed -n 's/.*\(input-bytes=[0-9]*\).*/\1/p' "$TMP/err")" = "$PBYTES" ]; then
		ok
	else
		fail "$1: exit $RC (plain $PRC), counts '$(counts "$TMP/err")' (plain '$PCOUNTS'), output $(cmp "$TMP/out" "$TMP/plain.out" 2>&1 | head -1)"
		grep -v 'record rejected' "$TMP/err" | head -3 | sed 's/^/  | /' >&2
	fi
}
nfam=0
echo "$FAMILIES" | while IFS='|' read -r name rules input opts; do
	[ -n "$name" ] || continue
	[ -f "$input" ] || { echo "ops: $input missing, $name skipped" >&2; continue; }
	echo "$name|$rules|$input|$opts"
done >"$TMP/families"
while IFS='|' read -r name rules input opts; do
	nfam=$((nfam + 1))
	base=$(basename "$input")
	case $rules in *sip*) capture=1 ;; *) capture=0 ;; esac
	# shellcheck disable=SC2086
	run $CDRMIN -r "$rules" -k "$KEY" --stats $opts "$input"
	PRC=$RC
	PCOUNTS=$(counts "$TMP/err")
	PBYTES=$(sed -n 's/.*\(input-bytes=[0-9]*\).*/\1/p' "$TMP/err")
	cp "$TMP/out" "$TMP/plain.out"
	check "$name: plain run has records" [ -s "$TMP/plain.out" ]
	# the compressed files keep the plain name: content decides, not the name
	gzip -c "$input" >"$TMP/gz/$base"
	zstd -q -c "$input" >"$TMP/zst/$base"
	cut3 "$input" "$TMP/piece"
	for k in 1 2 3; do gzip -c "$TMP/piece.$k"; done >"$TMP/gzm/$base"
	{
		cat "$TMP/skippable"
		for k in 1 2 3; do zstd -q -c "$TMP/piece.$k"; cat "$TMP/skippable"; done
	} >"$TMP/zstm/$base"
	for d in gz zst gzm zstm; do
		# shellcheck disable=SC2086
		run $CDRMIN -r "$rules" -k "$KEY" --stats $opts "$TMP/$d/$base"
		same_run "$name: $d"
		# stdin (captures: --pcap -)
		if [ $capture -eq 1 ]; then
			# shellcheck disable=SC2086
			$CDRMIN -r "$rules" -k "$KEY" --stats $opts --pcap - <"$TMP/$d/$base" >"$TMP/out" 2>"$TMP/err"
		else
			# shellcheck disable=SC2086
			cat "$TMP/$d/$base" | $CDRMIN -r "$rules" -k "$KEY" --stats $opts >"$TMP/out" 2>"$TMP/err"
		fi
		RC=$?
		same_run "$name: $d from stdin"
	done
	# a reject names the file as given
	if [ "$PRC" -eq 65 ] && [ $capture -eq 0 ]; then
		# shellcheck disable=SC2086
		run $CDRMIN -r "$rules" -k "$KEY" $opts "$TMP/zst/$base"
		expect_grep "$name: rejects name the compressed file" "$TMP/err" "cdrmin: $TMP/zst/$base:"
	fi
done <"$TMP/families"
check "every family was run ($(wc -l <"$TMP/families"))" [ "$(wc -l <"$TMP/families")" -ge 11 ]

# Several files in order, compressed each its own way, one plain: as the plain files.
split -l 4 fixtures/asterisk/master.csv "$TMP/part."
set -- "$TMP"/part.*
check "master.csv split in 3 parts" [ $# -eq 3 ]
gzip -c "$1" >"$TMP/p1"
zstd -q -c "$2" >"$TMP/p2"
run $CDRMIN -r rules/asterisk.rules -k "$KEY" "$1" "$2" "$3"
cp "$TMP/out" "$TMP/parts.out"
run $CDRMIN -r rules/asterisk.rules -k "$KEY" "$TMP/p1" "$TMP/p2" "$3"
expect_same "gzip, zstd and plain files in order" "$TMP/out" "$TMP/parts.out"
expect_same "... give the output of the whole" "$TMP/out" fixtures/asterisk/master.out
# A plain file named .gz is plain; `check` reads a header through the decompressor.
cp fixtures/generic/cdr.csv "$TMP/plain.csv.gz"
run $CDRMIN -r $GEN -k "$KEY" "$TMP/plain.csv.gz"
expect_same "a plain file named .gz is read as it is" "$TMP/out" fixtures/generic/cdr.out
zstd -q -c fixtures/generic/cdr.csv >"$TMP/hdr.zst"
expect_exit 0 "check reads a compressed file's header" $CDRMIN check $GEN "$TMP/hdr.zst"
run $CDRMIN check $GEN fixtures/generic/cdr.csv
cp "$TMP/out" "$TMP/check.plain"
run $CDRMIN check $GEN "$TMP/hdr.zst"
expect_same "check: same description from the compressed file" "$TMP/out" "$TMP/check.plain"
# An empty gzip member and an empty input: no records, no error.
gzip -c </dev/null >"$TMP/empty.gz"
expect_exit 0 "empty gzip member" $CDRMIN -r rules/asterisk.rules -k "$KEY" --stats "$TMP/empty.gz"
expect_grep "empty gzip member: nothing read" "$TMP/err" "read=0 written=0"

# ================================================== 2. damaged archives, a bomb
# A bigger CSV: 20000 records of the generic export.
awk 'BEGIN {
	print "record_id,caller,callee,start_time,duration,caller_ip,status,notes,operator_comment"
	for (i = 0; i < 20000; i++)
		printf "r-%06d,+4420794600%02d,0770090%04d,2024-03-01T09:%02d:02Z,%d,192.0.2.%d,answered,,x\n",
			i, i % 100, i % 10000, i % 60, i % 900, i % 250
}' >"$TMP/big.csv"
run $CDRMIN -r $GEN -k "$KEY" "$TMP/big.csv"
cp "$TMP/out" "$TMP/big.out"
gzip -c "$TMP/big.csv" >"$TMP/big.gz"
zstd -q -c "$TMP/big.csv" >"$TMP/big.zst"
for z in gz zst; do
	size=$(wc -c <"$TMP/big.$z")
	cut=$((size / 2))
	head -c $cut "$TMP/big.$z" >"$TMP/trunc.$z"
	expect_exit 65 "truncated $z: data error" $CDRMIN -r $GEN -k "$KEY" --stats "$TMP/trunc.$z"
	kind=gzip what=member
	[ $z = zst ] && kind=zstd what=frame
	expect_grep "truncated $z: names the file and the compressed offset" "$TMP/err" \
		"cdrmin: error: $TMP/trunc.$z: $kind data truncated: the input ends inside a $what, at compressed offset $cut (decompressed offset "
	balanced "truncated $z" "$TMP/err"
	# the records before the cut: every line that ended before the decompressed offset
	dec=$(sed -n 's/.*(decompressed offset \([0-9]*\)).*/\1/p' "$TMP/err")
	nl=$(head -c "${dec:-0}" "$TMP/big.csv" | wc -l)
	head -n "$nl" "$TMP/big.csv" >"$TMP/big.head"
	cp "$TMP/out" "$TMP/trunc.out"
	run $CDRMIN -r $GEN -k "$KEY" "$TMP/big.head"
	expect_same "truncated $z: every record before the cut written ($nl lines)" "$TMP/trunc.out" "$TMP/out"
	check "truncated $z: some records before the cut ($nl lines)" [ "$nl" -gt 100 ]
	# corrupt: bytes in the middle overwritten
	cp "$TMP/big.$z" "$TMP/bad.$z"
	printf '\377\000\377\000\377\000\377\000' | dd of="$TMP/bad.$z" bs=1 seek=$cut conv=notrunc 2>/dev/null
	expect_exit 65 "corrupt $z: data error" $CDRMIN -r $GEN -k "$KEY" --stats "$TMP/bad.$z"
	if grep -q "cdrmin: error: $TMP/bad.$z: $kind data corrupt.* at compressed offset [0-9]* (decompressed offset [0-9]*): " "$TMP/err"; then
		ok
	else
		fail "corrupt $z: message: $(grep error "$TMP/err")"
	fi
	balanced "corrupt $z" "$TMP/err"
	head -n 100 "$TMP/out" >"$TMP/bad.head"
	head -n 100 "$TMP/big.out" >"$TMP/good.head"
	expect_same "corrupt $z: the records before the damage are written" "$TMP/bad.head" "$TMP/good.head"
done
# Several files: the run ends at the damaged one (exit 65), the files before it are whole.
run $CDRMIN -r $GEN -k "$KEY" "$TMP/big.zst" "$TMP/trunc.gz" fixtures/generic/cdr.csv
check "a damaged file among several: exit 65 ($RC)" [ "$RC" -eq 65 ]
check "... the file before it is whole" [ "$(head -n 20001 "$TMP/out" | cmp - "$TMP/big.out" && echo y)" = y ]
expect_no_grep "... no file after it is read" "$TMP/out" "r-0001,"
# A damaged capture archive: the frames before the damage are records; one
# reject (truncated) names the frame and the offsets; the run goes on.
head -c 1000 "$TMP/gz/calls.pcap" >"$TMP/calls-cut.pcap"
run $CDRMIN -r rules/sip.rules -k "$KEY" --stats "$TMP/calls-cut.pcap" fixtures/sip/calls.pcap
expect_grep "truncated capture archive: reject with offsets" "$TMP/err" \
	"record rejected (truncated): the capture file is damaged, the rest of it is lost ($TMP/calls-cut.pcap: after frame "
expect_grep "truncated capture archive: the decompressor's words" "$TMP/err" "gzip data truncated: the input ends inside a member, at compressed offset 1000"
balanced "truncated capture archive" "$TMP/err"
cp "$TMP/out" "$TMP/cut.out"
run $CDRMIN -r rules/sip.rules -k "$KEY" fixtures/sip/calls.pcap
check "truncated capture archive: the next capture is read" [ "$(wc -l <"$TMP/cut.out")" -gt "$(wc -l <"$TMP/out")" ]

# A bomb: 256 MiB of zeros in 9 KiB of zstd (and 128 MiB in 570 KiB of
# gzip). One record, rejected; memory stays bounded: the maximum resident
# set (measured when CDRMIN is the binary itself, not a wrapper) stays
# under 64 MiB, a quarter of the data (18 MiB measured, 26 MiB with ASan).
head -c 268435456 /dev/zero | zstd -q -1 -c >"$TMP/bomb.zst"
head -c 134217728 /dev/zero | gzip -1 -c >"$TMP/bomb.gz"
for z in zst gz; do
	$PY - "$TMP/rss" $CDRMIN -r rules/asterisk.rules -k "$KEY" --stats "$TMP/bomb.$z" <<'EOF' 2>"$TMP/err"
import resource, subprocess, sys
rc = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL).returncode
open(sys.argv[1], 'w').write('%d %d\n' % (rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
EOF
	read -r rc rss <"$TMP/rss"
	check "bomb $z: one record rejected (exit $rc)" [ "$rc" -eq 65 ]
	expect_grep "bomb $z: counted" "$TMP/err" "read=1 written=0 rejected=1"
	case $CDRMIN in
	*' '*) ;;
	*) check "bomb $z: max resident set $rss KiB < 64 MiB" [ "$rss" -lt 65536 ] ;;
	esac
done
# A zstd frame whose window is larger than 128 MiB is refused, not allocated.
head -c 4096 /dev/zero | zstd -q --long=30 -c >"$TMP/wide.zst" 2>/dev/null
if cmp -s "$TMP/wide.zst" /dev/null; then
	echo "ops: zstd cannot write a --long=30 frame, window test skipped" >&2
else
	expect_exit 65 "zstd window over the limit" $CDRMIN -r $GEN -k "$KEY" "$TMP/wide.zst"
	expect_grep "zstd window: why" "$TMP/err" "window larger than 128 MiB"
fi

# ================================================== 3. the progress line
# script(1) gives cdrmin a terminal: its typescript is what the terminal got.
tty_run() { # NAME COMMAND-STRING: typescript in $TMP/tty
	script -qec "$2" /dev/null </dev/null >"$TMP/tty" 2>&1
	RC=$?
}
tty_run "bar" "$CDRMIN -r $GEN -k $KEY -o $TMP/bar.out $TMP/big.zst"
check "progress: exit 0 ($RC)" [ "$RC" -eq 0 ]
expect_same "progress: output unchanged" "$TMP/bar.out" "$TMP/big.out"
expect_grep "progress: records/s" "$TMP/tty" "records/s"
expect_grep "progress: total known (compressed size)" "$TMP/tty" " of $(wc -c <"$TMP/big.zst" | awk '{ printf "%.1f KiB", $1 / 1024 }')"
expect_grep "progress: ETA" "$TMP/tty" "ETA "
expect_grep "progress: drawn in place" "$TMP/tty" "${CR}cdrmin ["
check "progress: erased at the end" [ "$(tail -c 4 "$TMP/tty" | od -An -c | tr -d ' ')" = '\r033[K' ]
# a pipe: no total, bytes and time so far
tty_run "bar, pipe" "cat $TMP/big.csv | $CDRMIN -r $GEN -k $KEY -o $TMP/bar.out"
expect_grep "progress on a pipe: bytes read" "$TMP/tty" " read "
expect_grep "progress on a pipe: elapsed" "$TMP/tty" " elapsed"
expect_no_grep "progress on a pipe: no ETA" "$TMP/tty" "ETA"
expect_same "progress on a pipe: output unchanged" "$TMP/bar.out" "$TMP/big.out"
# --stats and rejects start on a line of their own
printf 'r-1,+442079460001,07700900001,2024-03-01T09:00:00Z,5\n' >>"$TMP/big.csv"
tty_run "bar, stats" "$CDRMIN -r $GEN -k $KEY --stats -o $TMP/bar.out $TMP/big.csv"
check "progress + reject: exit 65 ($RC)" [ "$RC" -eq 65 ]
tr "$CR" '\n' <"$TMP/tty" | sed "s/^${ESC}\\[K//" >"$TMP/tty.lines"
check "progress: the summary on its own line" grep -q '^cdrmin: stats: read=20001 written=20000 rejected=1' "$TMP/tty.lines"
check "progress: the reject on its own line" grep -q "^cdrmin: $TMP/big.csv:20002: record rejected (columns)" "$TMP/tty.lines"
check "progress: no bar text before them" [ -z "$(grep 'records/s.*cdrmin: ' "$TMP/tty.lines")" ]
# --quiet; output to the terminal itself; no terminal
tty_run "quiet" "$CDRMIN -r $GEN -k $KEY -q -o $TMP/bar.out $TMP/big.zst"
check "--quiet: nothing on the terminal" [ ! -s "$TMP/tty" ]
tty_run "stdout on the terminal" "$CDRMIN -r $GEN -k $KEY fixtures/generic/cdr.csv"
expect_no_grep "output on the terminal: no progress line" "$TMP/tty" "records/s"
expect_no_grep "output on the terminal: no escape" "$TMP/tty" "$ESC"
run $CDRMIN -r $GEN -k "$KEY" -o "$TMP/bar.out" "$TMP/big.zst"
check "no terminal: nothing on stderr" [ ! -s "$TMP/err" ]
expect_same "no terminal: output" "$TMP/bar.out" "$TMP/big.out"
# --quiet silences notes (the summary after a stop, the store's), not errors or --stats
expect_exit 66 "--quiet keeps errors" $CDRMIN -r $GEN -k "$KEY" -q "$TMP/none.csv"
expect_grep "--quiet keeps errors: message" "$TMP/err" "cdrmin: error: $TMP/none.csv"
expect_exit 0 "--quiet keeps --stats" $CDRMIN -r $GEN -k "$KEY" -q --stats fixtures/generic/cdr.csv
expect_grep "--quiet keeps --stats: summary" "$TMP/err" "cdrmin: stats: read="
expect_exit 0 "store note" $CDRMIN -r rules/asterisk.rules -k "$KEY" --retain "$TMP/store" --store-key "$OTHER_KEY" "$TMP/gz/master.csv"
expect_grep "store note: without --quiet" "$TMP/err" "cdrmin: store: 10 records and 0 rejected kept"
expect_exit 0 "store note, --quiet" $CDRMIN -r rules/asterisk.rules -k "$KEY" --retain "$TMP/store" --store-key "$OTHER_KEY" -q "$TMP/gz/master.csv"
check "store note: not with --quiet" [ ! -s "$TMP/err" ]
# stopped by SIGTERM: the note and the summary it brings, not with --quiet
for q in "" -q; do
	rm -f "$TMP/fifo" "$TMP/term.out"
	mkfifo "$TMP/fifo"
	# shellcheck disable=SC2086
	$CDRMIN -r $GEN -k "$KEY" -o "$TMP/term.out" $q <"$TMP/fifo" 2>"$TMP/term.err" &
	pid=$!
	exec 7>"$TMP/fifo"
	head -n 11 "$TMP/big.csv" >&7
	wait_for lines_are 11 "$TMP/term.out"
	kill -TERM $pid
	wait $pid
	check "stopped by SIGTERM${q:+ with $q}: exit 0" [ $? -eq 0 ]
	exec 7>&-
	if [ -z "$q" ]; then
		expect_grep "stopped by SIGTERM: the note" "$TMP/term.err" "cdrmin: stopped by SIGTERM"
		expect_grep "stopped by SIGTERM: the summary" "$TMP/term.err" "cdrmin: stats: read=10 written=10"
	else
		check "stopped by SIGTERM with -q: nothing on stderr" [ ! -s "$TMP/term.err" ]
	fi
done

# ================================================== 4. --stats-json
SJ="$TMP/mon/stats.json"
mkdir -p "$TMP/mon"
# json_get FILE EXPR: a Python expression over the document d.
json_get() {
	$PY -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
json_ok() { # NAME FILE: valid JSON (python3 -m json.tool)
	if $PY -m json.tool "$2" >/dev/null 2>"$TMP/json.err"; then ok; else fail "$1: not JSON: $(head -1 "$TMP/json.err")"; fi
}
run $CDRMIN -r $GEN -k "$KEY" --stats --stats-json "$SJ" "$TMP/big.zst"
check "stats-json: exit 0" [ "$RC" -eq 0 ]
json_ok "stats-json" "$SJ"
check "stats-json: state done" [ "$(json_get "$SJ" 'd["state"]')" = done ]
check "stats-json: read = written + rejected + filtered" \
	[ "$(json_get "$SJ" 'd["read"] == d["written"] + d["rejected"] + d["filtered"] == 20000')" = True ]
check "stats-json: counts as --stats" [ "$(json_get "$SJ" '"read=%d written=%d rejected=%d filtered=%d" % (d["read"], d["written"], d["rejected"], d["filtered"])')" = "$(counts "$TMP/err")" ]
check "stats-json: bytes in (decompressed)" [ "$(json_get "$SJ" 'd["bytes_in"]')" -eq "$(head -n 20001 "$TMP/big.csv" | wc -c)" ]
check "stats-json: file bytes in and total (compressed)" \
	[ "$(json_get "$SJ" '"%d %d" % (d["file_bytes_in"], d["file_bytes_total"])')" = "$(wc -c <"$TMP/big.zst") $(wc -c <"$TMP/big.zst")" ]
# The cache's numbers agree: hits of lookups, the rate their quotient (the
# callee column's values come back only 10,000 records on, past the memo
# gate's window: few of them reach the cache as hits).
check "stats-json: cache lookups, hits, hit rate" [ "$(json_get "$SJ" '(lambda c: 0 <= c["hits"] <= c["lookups"] and c["lookups"] > 0 and abs(c["hit_rate"] - c["hits"] / c["lookups"]) < 0.001)(d["pseudonym_cache"])')" = True ]
check "stats-json: records/s, elapsed, exit code" [ "$(json_get "$SJ" 'd["records_per_s"] > 0 and d["elapsed_s"] > 0 and d["exit_code"] == 0')" = True ]
check "stats-json: rejects by reason" [ "$(json_get "$SJ" 'sorted(d["rejected_by_reason"]) == sorted(["columns", "quote", "nul", "too-long", "value", "epoch", "header", "truncated", "json", "syntax", "duplicate", "sip"])')" = True ]
check "stats-json: no temporary file left" [ "$(ls -A "$TMP/mon")" = stats.json ]
# rejects and captures
run $CDRMIN -r rules/kannel.rules -k "$KEY" --stats-json "$SJ" fixtures/kannel/access.log
json_ok "stats-json, kannel" "$SJ"
check "stats-json, kannel: rejects add up, exit 65" \
	[ "$(json_get "$SJ" 'd["rejected"] == sum(d["rejected_by_reason"].values()) > 0 and d["exit_code"] == 65 and d["read"] == d["written"] + d["rejected"] + d["filtered"]')" = True ]
run $CDRMIN -r rules/sip-calls.rules -k "$KEY" --calls --stats --stats-json "$SJ" "$TMP/gz/calls.pcap"
json_ok "stats-json, capture" "$SJ"
frames=$(sed -n 's/.* frames=\([0-9]*\) .*/\1/p' "$TMP/err")
check "stats-json, capture: packet and call counters" \
	[ "$(json_get "$SJ" '"%d %d" % (d["capture"]["frames"], d["calls"]["calls"] > 0)')" = "$frames 1" ]
check "stats-json, capture: balanced" [ "$(json_get "$SJ" 'd["read"] == d["written"] + d["rejected"] + d["filtered"]')" = True ]
# a failed run
run $CDRMIN -r $GEN -k "$KEY" --stats-json "$SJ" "$TMP/trunc.gz"
json_ok "stats-json, failed run" "$SJ"
check "stats-json, failed run: state, exit code, error" \
	[ "$(json_get "$SJ" 'd["state"] == "failed" and d["exit_code"] == 65 and "truncated" in d["error"] and d["read"] == d["written"] + d["rejected"] + d["filtered"] > 0')" = True ]
# the path: must be writable (checked before anything is read), not a file of the run
expect_exit 74 "stats-json in a missing directory" $CDRMIN -r $GEN -k "$KEY" -o "$TMP/never.out" --stats-json "$TMP/none/s.json" fixtures/generic/cdr.csv
expect_grep "stats-json in a missing directory: says so" "$TMP/err" "cdrmin: error: --stats-json $TMP/none/s.json: cannot create a file beside it"
check "stats-json in a missing directory: no output file made" [ ! -e "$TMP/never.out" ]
expect_exit 64 "stats-json is the output" $CDRMIN -r $GEN -k "$KEY" -o "$TMP/x.out" --stats-json "$TMP/x.out" fixtures/generic/cdr.csv
cp fixtures/generic/cdr.csv "$TMP/in.csv"
expect_exit 64 "stats-json is an input" $CDRMIN -r $GEN -k "$KEY" --stats-json "$TMP/in.csv" "$TMP/in.csv"
expect_exit 64 "stats-interval 0" $CDRMIN -r $GEN -k "$KEY" --stats-json "$SJ" --stats-interval 0 fixtures/generic/cdr.csv
expect_exit 64 "stats-interval without stats-json" $CDRMIN -r $GEN -k "$KEY" --stats-interval 5 fixtures/generic/cdr.csv
# A live run: rewritten every second while records trickle in; every read
# of the file while it is being replaced is whole JSON; counters add up.
rm -f "$TMP/fifo"
mkfifo "$TMP/fifo"
$CDRMIN -r $GEN -k "$KEY" -o "$TMP/live.out" --stats-json "$SJ" --stats-interval 1 <"$TMP/fifo" 2>"$TMP/live.err" &
pid=$!
exec 7>"$TMP/fifo"
head -n 51 "$TMP/big.csv" >&7
running_50() {
	[ "$(json_get "$SJ" 'd["state"] == "running" and d["read"] == 50 == d["written"]' 2>/dev/null)" = True ]
}
check "stats-json, live: 50 records seen while running" wait_for running_50
$PY - "$SJ" >"$TMP/readers" <<'EOF'
import json, os, sys, time
bad = reads = 0
inodes = set()
end = time.time() + 2.5
while time.time() < end:
    try:
        inodes.add(os.stat(sys.argv[1]).st_ino)
        d = json.load(open(sys.argv[1]))
        if d['read'] != d['written'] + d['rejected'] + d['filtered']:
            bad += 1
    except ValueError:
        bad += 1
    reads += 1
    time.sleep(0.005)
print(reads, bad, len(inodes))
EOF
read -r reads bad inodes <"$TMP/readers"
check "stats-json, live: $reads reads during rewrites, $bad not whole or not balanced" [ "$bad" -eq 0 ]
check "stats-json, live: replaced by rename while running ($inodes files seen)" [ "$inodes" -ge 2 ]
tail -n +52 "$TMP/big.csv" | head -n 100 >&7
exec 7>&-
wait $pid
check "stats-json, live: exit 0" [ $? -eq 0 ]
check "stats-json, live: final document" [ "$(json_get "$SJ" 'd["state"] == "done" and d["read"] == 150 == d["written"]')" = True ]

# ================================================== 5. SIGHUP: log rotation
OUT="$TMP/rot/out"
mkdir -p "$TMP/rot"
head -n 2001 "$TMP/big.csv" >"$TMP/rot.csv"
run $CDRMIN -r $GEN -k "$KEY" "$TMP/rot.csv"
cp "$TMP/out" "$TMP/rot.clean"
# Rotation at a known point: 1000 records, mv, HUP, 1000 more.
rm -f "$TMP/fifo"
mkfifo "$TMP/fifo"
$CDRMIN -r $GEN -k "$KEY" -o "$OUT" <"$TMP/fifo" 2>"$TMP/rot.err" &
pid=$!
exec 7>"$TMP/fifo"
head -n 1001 "$TMP/rot.csv" >&7
check "rotation: 1000 records out before the move" wait_for lines_are 1001 "$OUT"
mv "$OUT" "$OUT.1"
kill -HUP $pid
check "rotation: a new file after SIGHUP" wait_for test -f "$OUT"
tail -n +1002 "$TMP/rot.csv" >&7
exec 7>&-
wait $pid
check "rotation: exit 0" [ $? -eq 0 ]
check "rotation: the old file has the first 1000 records" lines_are 1001 "$OUT.1"
check "rotation: the new file the other 1000, no header again" lines_are 1000 "$OUT"
cat "$OUT.1" "$OUT" >"$TMP/rot.cat"
expect_same "rotation: the two files are the whole output, in order" "$TMP/rot.cat" "$TMP/rot.clean"
check "rotation: nothing on stderr" [ ! -s "$TMP/rot.err" ]

# A live stream: a record every 3 ms (about 3 s) through a FIFO, rotated
# twice while it flows. The feeder keeps the FIFO open until the rotations
# are done, so that they happen while cdrmin runs however slow the machine.
rm -f "$OUT" "$OUT".1 "$OUT".2 "$TMP/rotated"
head -n 1001 "$TMP/rot.csv" >"$TMP/live.csv"
run $CDRMIN -r $GEN -k "$KEY" "$TMP/live.csv"
cp "$TMP/out" "$TMP/live.clean"
$CDRMIN -r $GEN -k "$KEY" -o "$OUT" <"$TMP/fifo" 2>"$TMP/rot.err" &
pid=$!
$PY - "$TMP/live.csv" "$TMP/fifo" "$TMP/rotated" <<'EOF' &
import os, sys, time
with open(sys.argv[2], 'w') as out:
    for line in open(sys.argv[1]):
        out.write(line)
        out.flush()
        time.sleep(0.003)
    while not os.path.exists(sys.argv[3]):
        time.sleep(0.05)
EOF
feeder=$!
check "live rotation: records flowing" wait_for test -s "$OUT"
sleep 0.8
mv "$OUT" "$OUT.1"
kill -HUP $pid
check "live rotation: second file opened" wait_for test -f "$OUT"
sleep 0.8
mv "$OUT" "$OUT.2"
kill -HUP $pid
check "live rotation: third file opened" wait_for test -f "$OUT"
: >"$TMP/rotated"
wait $feeder
wait $pid
check "live rotation: exit 0" [ $? -eq 0 ]
cat "$OUT.1" "$OUT.2" "$OUT" >"$TMP/rot.cat"
expect_same "live rotation: three files, every record once, in order" "$TMP/rot.cat" "$TMP/live.clean"
check "live rotation: the first file has records ($(wc -l <"$OUT.1") lines)" [ "$(wc -l <"$OUT.1")" -gt 1 ]
check "live rotation: nothing on stderr" [ ! -s "$TMP/rot.err" ]

# SIGHUP without a move: the file is reopened for appending, nothing lost.
rm -f "$OUT" "$OUT.1" "$OUT.2"
$CDRMIN -r $GEN -k "$KEY" -o "$OUT" <"$TMP/fifo" 2>"$TMP/rot.err" &
pid=$!
exec 7>"$TMP/fifo"
head -n 1001 "$TMP/rot.csv" >&7
wait_for lines_are 1001 "$OUT"
kill -HUP $pid
sleep 0.5
tail -n +1002 "$TMP/rot.csv" >&7
exec 7>&-
wait $pid
check "SIGHUP, file not moved: exit 0" [ $? -eq 0 ]
expect_same "SIGHUP, file not moved: appended to, whole" "$OUT" "$TMP/rot.clean"

# Output on stdout: SIGHUP is ignored.
$CDRMIN -r $GEN -k "$KEY" >"$TMP/rot.stdout" 2>"$TMP/rot.err" <"$TMP/fifo" &
pid=$!
exec 7>"$TMP/fifo"
head -n 1001 "$TMP/rot.csv" >&7
wait_for lines_are 1001 "$TMP/rot.stdout"
kill -HUP $pid
sleep 0.5
tail -n +1002 "$TMP/rot.csv" >&7
exec 7>&-
wait $pid
check "SIGHUP with stdout output: ignored, exit 0" [ $? -eq 0 ]
expect_same "SIGHUP with stdout output: output whole" "$TMP/rot.stdout" "$TMP/rot.clean"

echo "ops: $(summary)"
[ "$FAIL" -eq 0 ]
