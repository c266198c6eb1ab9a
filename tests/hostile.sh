#!/bin/sh
# Known attacks and every input that ever crashed a fuzz target: each one a
# clean reject or a record, never a crash or a hang.
#   1. captures (tests/hostile/mkhostile.py): the SIP messages of
#      tests/hostile/sip/ (code paths of libosip2's CVE-2016-10324,
#      CVE-2016-10325, CVE-2016-10326, CVE-2017-7853, CVE-2022-41550; a
#      Content-Length of 2^32 + 32, display names ending in a lone
#      backslash, two To headers with empty tags, malformed Authorization
#      parameters, 64 KiB headers) in UDP datagrams, TCP connections and IP
#      fragments, and damaged capture files (caplen > len, snaplen over
#      262144, a truncated last packet, pcapng blocks claiming 16 MiB).
#      Through the real binary with rules/sip.rules: exit status, records,
#      rejects, the reject reason counted in --stats, a capture counter and
#      the reject message, as tests/hostile/expected says; the books balance;
#      nothing but cdrmin's own lines on stderr; no number, name, tag or
#      Call-ID of the inputs in stdout or stderr. Then once more as calls
#      (--calls --sip-ports 5060). Every run is bounded by 120 s: a hang, a
#      signal or a sanitizer report fails.
#   2. what some records hold (a rules file that keeps the fields): the
#      message after one that cannot be framed, a Content-Length of 0 with a
#      body, SDP in a part after 60 headers, folded headers, fragments.
#   3. the fuzz targets' replay binaries (tests/fuzz/replay.c, $REPLAY) on
#      the SIP messages, a 64 KiB and a 1 MiB header, the regression inputs
#      tests/hostile/fuzz_<target>/ and the seeds tests/fuzz/seeds/<target>/.
# Usage: CDRMIN=build/cdrmin REPLAY=build/replay sh tests/hostile.sh
# Prints "hostile: N passed, M failed".
cd "$(dirname "$0")/.." || exit 1
LC_ALL=C
export LC_ALL
. tests/lib.sh

HDIR=tests/hostile
PY=${PYTHON:-python3}
: "${REPLAY:=build/replay}"
LIMIT=120
HX="$TMP/hx"
RULES=rules/sip.rules

# crun NAME ARGS...: cdrmin ARGS bounded by $LIMIT s, as run; a hang, a
# crash or a sanitizer report fails on its own.
crun() {
	_n=$1
	shift
	run timeout -k 5 $LIMIT $CDRMIN "$@"
	if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
		fail "$_n: no exit within $LIMIT s (hang)"
	elif [ "$RC" -ge 128 ]; then
		fail "$_n: killed by signal $((RC - 128)) (crash)"
		sed 's/^/  | /' "$TMP/err" | tail -5 >&2
	elif grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$TMP/err"; then
		fail "$_n: sanitizer report"
		sed 's/^/  | /' "$TMP/err" | head -20 >&2
	else
		ok
	fi
}
# statv NAME: a counter of the summary (the first "NAME=N" after a space or colon).
statv() { sed -n "s/.*[ :]$1=\\([0-9]*\\).*/\\1/p" "$TMP/err" | head -1; }
# reason NAME: the count of reject reason NAME in the summary.
reason() { sed -n "/rejected by reason:/s/.* $1=\\([0-9]*\\).*/\\1/p" "$TMP/err" | head -1; }
stat_is() {
	_v=$(statv "$2")
	if [ "$_v" = "$3" ]; then ok; else fail "$1: $2=$_v, expected $3"; fi
}
balanced() {
	_r=$(statv read) _w=$(statv written) _j=$(statv rejected) _f=$(statv filtered)
	if [ -n "$_r" ] && [ -n "$_w" ] && [ -n "$_j" ] && [ -n "$_f" ] && [ "$_r" -eq $((_w + _j + _f)) ]; then ok; else
		fail "$1: read=$_r written=$_w rejected=$_j filtered=$_f"
	fi
}
# no_leak NAME: none of the inputs' numbers, names, tags, Call-IDs or branches in stdout or stderr.
no_leak() {
	# (the timing line left out: a rate may hold any digits)
	_l=$(grep -v '^cdrmin: stats: elapsed=' "$TMP/err" | cat "$TMP/out" - |
		grep -oE '7700900|2079460|hx-[a-z0-9-]*|hg-[a-z0-9-]*|good-[0-9]+|z9hG4bK|Alice|Carol|Bob' |
		sort -u | tr '\n' ' ')
	if [ -z "$_l" ]; then ok; else fail "$1: leak: $_l"; fi
}
# kept FILE FIELD...: the named fields (in the schema's order) of the records of
# FILE, ';'-joined, one line per record (no field here holds a comma or a quote).
kept() {
	_f=$1
	shift
	_cols=$(echo "$@" | tr ' ' ',')
	{
		echo "format sip"
		for _c in "$@"; do echo "$_c keep"; done
		echo "* drop"
	} >"$TMP/kept.rules"
	crun "kept $_f" -r "$TMP/kept.rules" --allow-rejects --pcap "$HX/$_f"
	tail -n +2 "$TMP/out" | tr ',' ';'
}

$PY $HDIR/mkhostile.py "$HX" || { echo "hostile: mkhostile.py failed" >&2; exit 1; }

# ---------------------------------------------------- 1. through cdrmin
n=0
grep -v '^#' $HDIR/expected >"$TMP/table"
while read -r f want nrec nrej why counter msg; do
	[ -n "$f" ] || continue
	if [ ! -s "$HX/$f" ]; then
		fail "$f: not written by mkhostile.py"
		continue
	fi
	crun "$f" -r $RULES -k "$KEY" --stats --pcap "$HX/$f"
	check "$f: exit $RC, expected $want" [ "$RC" -eq "$want" ]
	balanced "$f"
	stat_is "$f: records" written "$nrec"
	stat_is "$f: rejects" rejected "$nrej"
	if [ "$why" != - ]; then
		_v=$(reason "$why")
		check "$f: rejected by reason $why=$_v, expected $nrej" [ "$_v" = "$nrej" ]
	fi
	[ "$counter" = - ] || stat_is "$f" "${counter%=*}" "${counter#*=}"
	if [ "$msg" != - ]; then
		expect_grep "$f: the reject's message" "$TMP/err" "$msg"
		# a reject names the file, and the frame when it has one
		expect_grep "$f: the reject names the file" "$TMP/err" "cdrmin: $HX/$f"
	fi
	check "$f: CSV header on stdout" [ "$(head -1 "$TMP/out" | cut -d, -f1-3)" = "time,transport,src_ip" ]
	check "$f: only cdrmin's messages on stderr" [ -z "$(grep -v '^cdrmin: ' "$TMP/err")" ]
	no_leak "$f"
	crun "$f as calls" -r rules/sip-calls.rules -k "$KEY" --calls --sip-ports 5060 --pcap "$HX/$f"
	case $RC in 0 | 65) ok ;; *) fail "$f as calls: exit $RC, expected 0 or 65" ;; esac
	no_leak "$f as calls"
	n=$((n + 1))
done <"$TMP/table"
check "every capture of the table ran ($n)" [ "$n" -eq "$(grep -cv '^#' $HDIR/expected)" ]
check "every message of tests/hostile/sip has a row" \
	[ "$(ls $HDIR/sip/*.sip | wc -l)" -eq "$(grep -c '^sip-' $HDIR/expected)" ]

# A section header block claiming 16 MiB: libpcap refuses the file, a data error naming it.
crun "pcapng-shb-16m" -r $RULES -k "$KEY" --stats --pcap "$HX/pcapng-shb-16m.pcapng"
check "pcapng-shb-16m: exit $RC, expected 65" [ "$RC" -eq 65 ]
expect_grep "pcapng-shb-16m: the file named" "$TMP/err" "cdrmin: error: $HX/pcapng-shb-16m.pcapng: cannot read as a capture"
check "pcapng-shb-16m: only cdrmin's messages on stderr" [ -z "$(grep -v '^cdrmin: ' "$TMP/err")" ]

# ---------------------------------------------------- 2. what the records hold
check "TCP, Content-Length 2^32 + 32: the message after it is the record" \
	[ "$(kept cl-2e32-tcp.pcap method call_id)" = "OPTIONS;good-1@192.0.2.10" ]
check "TCP, 64 KiB header: the message after it is the record" \
	[ "$(kept big-header-64k-tcp.pcap call_id)" = "good-3@192.0.2.10" ]
check "65000-byte header in 45 fragments: reassembled, the record" \
	[ "$(kept big-header-frag.pcap call_id)" = "good-4@192.0.2.10" ]
check "Content-Length 0 and a body: the body is not taken" \
	[ "$(kept sip-cve-2016-10325-content-length-zero-with-body.pcap body_length)" = "0" ]
check "60 part headers: the SDP part after them is read" \
	[ "$(kept sip-cve-2016-10326-many-part-headers.pcap sdp_c_ip sdp_media_ports)" = "192.0.2.10;49170" ]
check "folded headers: P-Asserted-Identity read across its folds" \
	[ "$(kept sip-lws-fold-everywhere.pcap pai_display pai_user)" = "Bob;+447700900109" ]
check "a PAI display name ending in a lone backslash: no asserted identity" \
	[ "$(kept sip-display-lone-backslash-pai.pcap call_id pai_user)" = "hx-30@192.0.2.10;" ]
check "a fragment past 65535 bytes: dropped, the next datagram is the record" \
	[ "$(kept frag-oversize.pcap call_id)" = "good-20@192.0.2.10" ]
check "overlapping fragments with other bytes: not rebuilt, the next datagram is the record" \
	[ "$(kept frag-overlap.pcap call_id)" = "good-22@192.0.2.10" ]
check "caplen > len: that frame skipped, the frames around it records" \
	[ "$(kept caplen-gt-len.pcap call_id | tr '\n' ' ')" = "good-7@192.0.2.10 good-9@192.0.2.10 " ]

# ---------------------------------------------------- 3. the replay binaries
# replay NAME TARGET FILE...: the target's replay binary on the files, bounded.
replay() {
	_n=$1 _t=$2
	shift 2
	if [ ! -x "$REPLAY/$_t" ]; then
		fail "$_n: no replay binary $REPLAY/$_t (make replay-bins)"
		return
	fi
	timeout -k 5 $LIMIT "$REPLAY/$_t" "$@" >"$TMP/rout" 2>"$TMP/rerr"
	_rc=$?
	if [ "$_rc" -eq 0 ] && ! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$TMP/rerr"; then
		ok
	else
		fail "$_n: $_t exit $_rc on $# files"
		grep -v '^replay: ' "$TMP/rerr" | head -20 | sed 's/^/  | /' >&2
		grep '^replay: ' "$TMP/rerr" | tail -1 | sed 's/^/  | last: /' >&2
	fi
}
replay "SIP messages" fuzz_sip $HDIR/sip/*.sip "$HX/big-header-64k.sip" "$HX/big-header-1m.sip"
nreg=0
for t in fuzz_csv fuzz_rules fuzz_scrub fuzz_json fuzz_linefmt fuzz_sip fuzz_packet fuzz_calls fuzz_store; do
	files=""
	for d in $HDIR/$t tests/fuzz/seeds/$t; do
		[ -d "$d" ] && files="$files $(find "$d" -type f | sort | tr '\n' ' ')"
	done
	[ -n "$(echo $files)" ] || continue
	# shellcheck disable=SC2086
	replay "regression inputs and seeds of $t" $t $files
	nreg=$((nreg + $(echo $files | wc -w)))
done
check "regression inputs and seeds replayed ($nreg)" [ "$nreg" -gt 0 ]

echo "hostile: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
