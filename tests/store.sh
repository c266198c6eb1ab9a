#!/bin/sh
# End-to-end runs of the retained store (--retain, cdrmin store ...):
#   1. writing: the analytics output is the same with and without --retain,
#      the store summary and `store verify` count every record read (per
#      class and day in the legal zone), rejects go to the quarantine, key
#      and rules refusals;
#   2. durability: a writing run with --fsync-every 1 --flush-ms 0 killed
#      with SIGKILL at 100 points (fixed seed); every record whose line came
#      out is in the store, exactly the records expected are there, the next
#      open recovers the unclosed segments, torn tails go to DIR/torn;
#   3. tamper: bit flips, frames swapped, repeated, deleted, taken from another
#      segment, truncation, a substituted key file: verify exits 65 naming the
#      segment and the frame, and the other segments still verify;
#   4. retention: days in the legal zone, year-end, month clamping, purge of
#      exactly the expired segments, legal holds, a shortened period;
#   5. re-identification: find and export return exactly the records
#      expected (computed independently from the output and the input),
#      every query is audited, the audit log holds no original;
#   6. the leak test of tests/e2e.sh with --retain on, and no plaintext in the
#      store's files.
# Prints "store: N passed, M failed"; exits non-zero on a failure.
#
#   CDRMIN (build/cdrmin), STORE_SEED (the kill plan's seed), STORE_KILL_RUNS
#   (100), STORE_VERBOSE (set: one line per kill run).
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh

AST=rules/asterisk.rules
T0=$(date +%s)
SKEY="$TMP/store.key"
SKEY2="$TMP/store2.key"
$CDRMIN keygen "$SKEY" 2>/dev/null
$CDRMIN keygen "$SKEY2" 2>/dev/null
if [ ! -s "$SKEY" ] || [ ! -s "$SKEY2" ]; then
	echo "store: cannot make store keys with $CDRMIN keygen" >&2
	exit 1
fi
EMPTY="$TMP/empty.csv"
: >"$EMPTY"
COLS=accountcode,src,dst,dcontext,clid,channel,dstchannel,lastapp,lastdata,start,answer,end,duration,billsec,disposition,amaflags,uniqueid,userfield
# canon.rules: every Asterisk column kept, so that an input record comes out
# as the store keeps its original (fields written back as CSV, quoted only
# when needed); start.rules: the start column alone.
{
	echo "columns $COLS"
	echo "header no"
	echo "$COLS" | tr ',' '\n' | sed 's/$/ keep/'
	echo '* drop'
} >"$TMP/canon.rules"
printf 'columns %s\nheader no\nstart keep\n* drop\n' "$COLS" >"$TMP/start.rules"

# canon FILE: the file's records as the store keeps them, one a line.
canon() { $CDRMIN -r "$TMP/canon.rules" --no-header "$1" 2>/dev/null; }

# vparse FILE: V_SEGS V_RECS V_DAMAGED V_UNCLOSED from the last line of a verify.
vparse() {
	set -- $(sed -n 's/^store .*: \([0-9]*\) segments, \([0-9]*\) records, \([0-9]*\) damaged, \([0-9]*\) not closed$/\1 \2 \3 \4/p' "$1" | tail -n 1)
	V_SEGS=${1:--1} V_RECS=${2:--1} V_DAMAGED=${3:--1} V_UNCLOSED=${4:--1}
}
# vdays FILE: "CLASS DAY RECORDS REJECTED" for each class and day a verify listed.
vdays() {
	sed -n 's/^\([a-z0-9_-]*\) \([0-9-]*\): \([0-9]*\) records, \([0-9]*\) rejected$/\1 \2 \3 \4/p' "$1"
}
# verify DIR [KEY]: `store verify` into $TMP/v.out, status in VRC, totals parsed.
verify() {
	$CDRMIN store verify "$1" --store-key "${2:-$SKEY}" >"$TMP/v.out" 2>&1 </dev/null
	VRC=$?
	vparse "$TMP/v.out"
}
# ssum FILE: the store summary line of a writing run's stderr as "RECORDS REJECTED DURABLE SEGMENTS RECOVERED".
ssum() {
	sed -n 's/^cdrmin: store: \([0-9]*\) records and \([0-9]*\) rejected kept, \([0-9]*\) durable, \([0-9]*\) segments written, \([0-9]*\) recovered at open$/\1 \2 \3 \4 \5/p' "$1"
}
# check NAME 'CONDITION': ok when the shell condition (evaluated) holds.
check() {
	if eval "$2"; then ok; else fail "$1"; fi
}
# tokre TOKEN: an ERE matching TOKEN as a whole token (not inside a longer one).
tokre() { printf '(^|[^a-z0-9])%s([^a-z0-9]|$)' "$(printf '%s' "$1" | sed 's/\./\\./g')"; }

# ===================================================================== 1. writing
awk -v preset=asterisk -v n=600 -v seed=11 -v digits=/dev/null -v strings=/dev/null \
	-f tests/leakforms.awk -f tests/leakgen.awk >"$TMP/w.leak"
cat fixtures/asterisk/master.csv "$TMP/w.leak" >"$TMP/w.csv"
run $CDRMIN -r $AST -k "$KEY" --stats "$TMP/w.csv"
cp "$TMP/out" "$TMP/w.plain"
expect_exit 0 "writing: run with --retain" $CDRMIN -r $AST -k "$KEY" --stats \
	--retain "$TMP/w.st" --store-key "$SKEY" "$TMP/w.csv"
expect_same "writing: stdout identical with --retain" "$TMP/w.plain" "$TMP/out"
cp "$TMP/err" "$TMP/w.err"
read_n=$(stat_value read)
set -- $(ssum "$TMP/w.err")
if [ "$read_n" = 610 ] && [ "$#" -eq 5 ] && [ $(($1 + $2)) -eq "$read_n" ] && [ "$2" -eq 0 ] &&
	[ "$3" -eq "$read_n" ] && [ "$5" -eq 0 ]; then ok; else
	fail "writing: summary counts every record read (read=$read_n, store: $*)"
fi
w_segs=${4:-0}
verify "$TMP/w.st"
if [ "$VRC" -eq 0 ] && [ "$V_RECS" -eq 610 ] && [ "$V_DAMAGED" -eq 0 ] && [ "$V_UNCLOSED" -eq 0 ] &&
	[ "$V_SEGS" -eq "$w_segs" ]; then ok; else
	fail "writing: verify totals (exit $VRC, $V_SEGS segments ($w_segs written), $V_RECS records, $V_DAMAGED damaged, $V_UNCLOSED not closed)"
fi
# Per class and day: the day of each record's start in Europe/London
# (Asterisk times without an offset are UTC), counted from the input.
vdays "$TMP/v.out" | awk '{ n[$1 " " $2] += $3; r += $4 } END { for (k in n) print k, n[k]; if (r) print "rejected", r }' |
	sort >"$TMP/w.days"
$CDRMIN -r "$TMP/start.rules" --no-header "$TMP/w.csv" 2>/dev/null | sort | uniq -c >"$TMP/w.starts"
while read -r cnt day time; do
	echo "$(TZ=Europe/London date -d "$day $time UTC" +%F) $cnt"
done <"$TMP/w.starts" | awk '{ n[$1] += $2 } END { for (d in n) print "traffic", d, n[d] }' | sort >"$TMP/w.want"
expect_same "writing: verify lists every class and day with its count" "$TMP/w.want" "$TMP/w.days"
if [ "$(awk '{ s += $3 } END { print s }' "$TMP/w.days")" = 610 ] &&
	grep -q '^traffic 2024-04-01 ' "$TMP/w.days"; then ok; else
	fail "writing: day lines sum to the total, a record of 2024-03-31 23:xx UTC on 2024-04-01 in London"
fi

# Rejects go to the quarantine (class quarantine, the day read), the run exits 65.
{
	sed -n 1,3p fixtures/asterisk/master.csv
	printf '"","02079460999","3"\n'
	sed -n 4,5p fixtures/asterisk/master.csv
	printf '"","07700900888","+442079460777","x\000y","","","","","","2024-03-01 10:00:00","","","1","1","A","D","u",""\n'
	sed -n 6p fixtures/asterisk/master.csv
	printf '"","0113496099"x,"02079460555","from-internal","","","","","","2024-03-01 10:00:00","","","1","1","A","D","u",""\n'
} >"$TMP/q.csv"
day_before=$(TZ=Europe/London date +%F)
expect_exit 65 "quarantine: exit 65 with rejects" $CDRMIN -r $AST -k "$KEY" --stats \
	--retain "$TMP/q.st" --store-key "$SKEY" "$TMP/q.csv"
day_after=$(TZ=Europe/London date +%F)
set -- $(ssum "$TMP/err")
if [ "$(stat_value read)" = 9 ] && [ "${1:-}" = 6 ] && [ "${2:-}" = 3 ] && [ "${3:-}" = 9 ]; then ok; else
	fail "quarantine: summary (read=$(stat_value read), store: $*)"
fi
verify "$TMP/q.st"
vdays "$TMP/v.out" >"$TMP/q.days"
if [ "$VRC" -eq 0 ] && [ "$V_RECS" -eq 9 ] &&
	{ grep -qx "quarantine $day_before 0 3" "$TMP/q.days" || grep -qx "quarantine $day_after 0 3" "$TMP/q.days"; } &&
	[ "$(awk '$1 == "traffic" { s += $3 } END { print s + 0 }' "$TMP/q.days")" = 6 ]; then ok; else
	fail "quarantine: verify shows 3 rejected in class quarantine, today ($(tr '\n' ';' <"$TMP/q.days"))"
fi

# Keys and rules.
expect_exit 77 "the pseudonym key as the store key" $CDRMIN -r $AST -k "$KEY" \
	--retain "$TMP/k.st" --store-key "$KEY" fixtures/asterisk/master.csv
expect_grep "same key message" "$TMP/err" "must not be the pseudonym key"
cp "$KEY" "$TMP/copy.key" && chmod 600 "$TMP/copy.key"
expect_exit 77 "a copy of the pseudonym key as the store key" $CDRMIN -r $AST -k "$KEY" \
	--retain "$TMP/k.st" --store-key "$TMP/copy.key" fixtures/asterisk/master.csv
if [ ! -e "$TMP/k.st" ] || [ -z "$(ls -A "$TMP/k.st")" ]; then ok; else fail "refused runs left a store behind"; fi
(cd "$TMP/q.st" && find . -type f | sort && cat policy) >"$TMP/q.before"
expect_exit 77 "a store of another store key" $CDRMIN -r $AST -k "$KEY" \
	--retain "$TMP/q.st" --store-key "$SKEY2" fixtures/asterisk/master.csv
expect_grep "other store key message" "$TMP/err" "a wrong key"
(cd "$TMP/q.st" && find . -type f | sort && cat policy) >"$TMP/q.after"
expect_same "a refused key changes nothing in the store" "$TMP/q.before" "$TMP/q.after"
printf 'columns a,b\na keep\nb keep\n* drop\n' >"$TMP/noret.rules"
printf '1,2\n' >"$TMP/ab.csv"
expect_exit 64 "--retain without retention lines" $CDRMIN -r "$TMP/noret.rules" \
	--retain "$TMP/n.st" --store-key "$SKEY" "$TMP/ab.csv"
expect_grep "--retain without retention lines: message" "$TMP/err" "retain-records"
printf 'columns a,b\na keep\nb keep\nretain traffic 1y\n* drop\n' >"$TMP/noretrec.rules"
expect_exit 64 "--retain with retain but no retain-records" $CDRMIN -r "$TMP/noretrec.rules" \
	--retain "$TMP/n.st" --store-key "$SKEY" "$TMP/ab.csv"
expect_exit 64 "--retain without --store-key" $CDRMIN -r $AST -k "$KEY" --retain "$TMP/n.st" \
	fixtures/asterisk/master.csv
if [ ! -e "$TMP/n.st" ]; then ok; else fail "refused runs made a store"; fi
T1=$(date +%s)

# ================================================================= 2. durability
# A writing run with --fsync-every 1 --flush-ms 0 is killed with SIGKILL
# after a random delay (fixed seed). The store puts and syncs a record
# before its output line is written, so after the kill every line in OUT has
# its original in the store. 100 kill runs in 10 chains of 10: the runs of a
# chain share a store directory (so that kills also land in the recovery of
# the earlier runs' unclosed segments, and recovered segments must stay
# sound under later crashes); each chain starts a fresh directory, which
# keeps the checks after each kill (verify, finds: they read the whole
# store) proportional to a chain and the test under its time budget. Each
# run resumes the input after the last line the previous run wrote (as an
# operator would), so a chain's store must hold exactly the concatenation of
# the runs' stored prefixes: the record stored but not yet written when the
# kill came is stored again by the next run, never lost.
# After each kill: verify (no damage); the run's stored records are its
# output lines, or one more; a find of a token every record holds (a service
# number in lastdata) returns exactly the records expected, as a multiset;
# the last line's and a random line's caller token find their originals.
# After every second kill, a writing run on an empty input recovers the
# unclosed segments (its summary counts them), verify then finds none not
# closed and the same records; every fourth kill, a torn tail is appended to
# an unclosed segment first (what a power loss leaves): verify names it,
# recovery moves exactly those bytes to DIR/torn.
KRUNS=${STORE_KILL_RUNS:-100}
KCHAIN=10
SEED=${STORE_SEED:-20261122}
K="$TMP/kill"
mkdir -p "$K"
awk -v n=200000 -v seed="$SEED" 'BEGIN {
	srand(seed)
	for (i = 0; i < n; i++) {
		a = int(rand() * 10000); b = int(rand() * 10000); d = 1 + int(i / 600) % 28; h = int(i / 25) % 24
		printf "\"\",\"0207946%04d\",\"+44113496%04d\",\"from-internal\",\"\"\"Caller %d\"\" <0207946%04d>\",\"PJSIP/a-%08x\",\"PJSIP/t-%08x\",\"Dial\",\"PJSIP/01632960999@trunk,30,tT\",\"2024-05-%02d %02d:%02d:%02d\",\"\",\"2024-05-%02d %02d:%02d:%02d\",%d,0,\"ANSWERED\",\"DOCUMENTATION\",\"k%d\",\"\"\n",
			a, b, i, a, i, i, d, h, i % 60, (i * 7) % 60, d, h, (i + 1) % 60, (i * 7) % 60, i % 900, i
	}
}' >"$K/in.csv"
canon "$K/in.csv" >"$K/in.canon"
check "kill: input canonicalized one record a line" '[ "$(wc -l <"$K/in.canon")" -eq 200000 ]'
head -n 1 "$K/in.csv" >"$K/one.csv"
CTOK=$($CDRMIN -r $AST -k "$KEY" --no-header "$K/one.csv" 2>/dev/null | sed -n 's/.*PJSIP\/\([a-z0-9]*\.[a-z0-9]*\)@trunk.*/\1/p')
check "kill: the service number's token" '[ -n "$CTOK" ]'
# The plan: one line per run: what the delay counts from ("launch": one run
# in four, kills in process start, store open and recovery, the first
# segment; "output": after the first line is out, kills among the records,
# 0 to 250 ms in, most under 50 ms), the delay, and a sample fraction.
awk -v seed="$SEED" -v runs="$KRUNS" 'BEGIN {
	srand(seed + 1)
	for (i = 1; i <= runs; i++) {
		r = rand()
		if (rand() < 0.25) printf "launch %.4f %.4f\n", 0.0002 + r * 0.03, rand()
		else printf "output %.4f %.4f\n", r * r * 0.25, rand()
	}
}' >"$K/plan"
CHUNK=20000
i=0
kfail=0
restart=""
while read -r from delay frac; do
	i=$((i + 1))
	j=$(((i - 1) % KCHAIN))
	if [ "$j" -eq 0 ] || [ -n "$restart" ]; then
		# A new chain (or, after a failed run, a fresh store: one fault, one failure).
		D="$K/st$i"
		off=$((((i - 1) / KCHAIN) * CHUNK + j * 2000))
		prev=0
		restart=""
		: >"$K/expect"
	fi
	why=""
	sed -n "$((off + 1)),$((off + CHUNK))p;$((off + CHUNK))q" "$K/in.csv" >"$K/run.csv"
	$CDRMIN -r $AST -k "$KEY" --retain "$D" --store-key "$SKEY" --fsync-every 1 --flush-ms 0 \
		"$K/run.csv" >"$K/run.out" 2>"$K/run.err" </dev/null &
	pid=$!
	if [ "$from" = output ]; then
		while [ ! -s "$K/run.out" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.001; done
	fi
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	if [ "$rc" -eq 0 ]; then
		set -- $(ssum "$K/run.err")
		[ "${3:-x}" = "${1:-y}" ] || why="$why; completed run: not all durable ($*)"
		outcome=completed
	elif [ "$rc" -eq 137 ]; then
		outcome=killed
	else
		why="$why; run exit $rc: $(grep -v '^cdrmin: stats' "$K/run.err" | head -2 | tr '\n' ' ')"
		outcome=failed
	fi
	L=$(wc -l <"$K/run.out")
	if [ "$L" -gt 0 ] && head -n 1 "$K/run.out" | grep -q '^src,dst,'; then L=$((L - 1)); fi
	if [ -f "$D/STORE" ]; then
		verify "$D"
		# A SIGKILL inside a write leaves a torn last frame, or a segment file
		# cut inside its header when the kill came as it was created: verify
		# names it (exit 65), and the next writing run recovers it (the
		# header-less one holds no data and is removed).
		ntorn=$(grep -cE "^DAMAGED: segment [0-9a-f]*: (frame [0-9]*: torn|header truncated)" "$TMP/v.out")
		if [ "$VRC" -eq 65 ] && [ "$ntorn" -gt 0 ] && [ "$ntorn" -eq "$V_DAMAGED" ]; then
			VRC=0 V_DAMAGED=0 V_UNCLOSED=$((V_UNCLOSED + ntorn))
		fi
	else
		VRC=0 V_SEGS=0 V_RECS=0 V_DAMAGED=0 V_UNCLOSED=0
		[ ! -d "$D/seg" ] || [ -z "$(find "$D/seg" -name '*.seg')" ] || why="$why; segments without a STORE file"
	fi
	[ "$VRC" -eq 0 ] && [ "$V_DAMAGED" -eq 0 ] || why="$why; verify exit $VRC: $(grep DAMAGED "$TMP/v.out" | head -2 | tr '\n' ' ')"
	delta=$((V_RECS - prev))
	if [ "$delta" -lt "$L" ]; then
		why="$why; LOST: $L lines out, $delta records stored"
	elif [ "$delta" -gt $((L + 1)) ]; then
		why="$why; $delta records stored for $L lines out (more than one ahead)"
	fi
	if [ "$delta" -gt 0 ]; then
		sed -n "$((off + 1)),$((off + delta))p" "$K/in.canon" >>"$K/expect"
	fi
	if [ "$V_RECS" -gt 0 ]; then
		$CDRMIN store find "$D" "$CTOK" --store-key "$SKEY" -k "$KEY" 2>/dev/null </dev/null | sort >"$K/dump"
		sort "$K/expect" >"$K/expect.sorted"
		cmp -s "$K/dump" "$K/expect.sorted" ||
			why="$why; the store does not hold exactly the records expected ($(wc -l <"$K/dump") found, $(wc -l <"$K/expect") expected)"
	fi
	for s in "$L" $(awk -v f="$frac" -v l="$L" 'BEGIN { if (l > 1) print 1 + int(f * (l - 1)) }'); do
		[ "$s" -gt 0 ] || continue
		tok=$(sed -n "$((s + 1))p" "$K/run.out" | cut -d, -f1)
		$CDRMIN store find "$D" "$tok" --store-key "$SKEY" -k "$KEY" >"$K/found" 2>/dev/null </dev/null
		sed -n "$((off + s))p" "$K/in.canon" >"$K/want"
		grep -qxF -f "$K/want" "$K/found" || why="$why; line $s (caller $tok): original not found"
	done
	rec=-
	torn=-
	if [ $((j % 2)) -eq 1 ]; then
		U=$V_UNCLOSED
		recs=$V_RECS
		tid=""
		if [ $((j % 4)) -eq 1 ] && [ "$U" -gt 0 ]; then
			# U counts the segments the kill itself left torn too; those have
			# no "not closed" line and already end in a torn frame, so a run
			# whose only unclosed segment is torn gets no second tail.
			set -- $(sed -n 's/^segment \([0-9a-f]*\) (\([a-z0-9_-]*\) \([0-9-]*\)): not closed.*/\1 \2 \3/p' "$TMP/v.out" | head -n 1)
			tid=${1:-}
		fi
		if [ -n "$tid" ]; then
			if [ $((i % 8)) -eq 2 ]; then printf '\000\002' >"$K/tail"; else
				{ printf '\000\000\002\130'; awk -v n=$((i * 7 % 590)) 'BEGIN { for (k = 0; k < n; k++) printf "%c", 65 + k % 26 }'; } >"$K/tail"
			fi
			cat "$K/tail" >>"$D/seg/$2/$3/$tid.seg"
			verify "$D"
			[ "$VRC" -eq 65 ] && grep -q "DAMAGED: segment $tid: frame [0-9]*: torn" "$TMP/v.out" ||
				why="$why; torn tail on $tid: verify exit $VRC: $(grep -i "$tid" "$TMP/v.out" | head -1)"
		fi
		run $CDRMIN -r $AST -k "$KEY" --retain "$D" --store-key "$SKEY" --stats "$EMPTY"
		set -- $(ssum "$TMP/err")
		rec=${5:-x}
		[ "$RC" -eq 0 ] && [ "$rec" = "$U" ] && [ "${1:-x}" = 0 ] ||
			why="$why; recovery run: exit $RC, recovered $rec of $U unclosed: $(grep error "$TMP/err" | head -1)"
		verify "$D"
		[ "$VRC" -eq 0 ] && [ "$V_UNCLOSED" -eq 0 ] && [ "$V_RECS" -eq "$recs" ] ||
			why="$why; after recovery: verify exit $VRC, $V_UNCLOSED not closed, $V_RECS records ($recs before)"
		if [ -n "$tid" ]; then
			torn=$tid
			cmp -s "$K/tail" "$D/torn/$tid.torn" || why="$why; torn tail of $tid not in $D/torn"
		fi
	fi
	if [ -z "$why" ]; then ok; else
		fail "kill run $i ($outcome ${delay}s after $from):${why#;}"
		kfail=$((kfail + 1))
		restart=1
	fi
	echo "$i $from $delay $outcome $L $delta $rec $torn" >>"$K/log"
	[ -n "$STORE_VERBOSE" ] && echo "kill run $i: $outcome ${delay}s after $from: $L lines, $delta stored, recovered $rec, torn $torn" >&2
	off=$((off + L))
	prev=$V_RECS
done <"$K/plan"
# The kills landed at many points: before any output, and among the records
# (at least 20 distinct counts: a loaded machine narrows the spread; the
# strace section below places its kills deterministically).
awk '{ if ($5 == 0) z++; else { p++; if ($5 > mx) mx = $5; seen[$5] = 1 } if ($6 > $5) ahead++; if ($4 == "killed") k++ }
	END { for (x in seen) d++
		printf "store: kill: %d runs, %d killed, %d before any output, %d among the records (%d distinct counts, up to %d lines), %d with a record stored ahead of its line\n", NR, k, z, p, d, mx, ahead }' \
	"$K/log" >"$K/dist"
cat "$K/dist"
k_runs=$(wc -l <"$K/log")
k_killed=$(awk '$4 == "killed"' "$K/log" | wc -l)
k_zero=$(awk '$5 == 0' "$K/log" | wc -l)
k_distinct=$(awk '$5 > 0 { print $5 }' "$K/log" | sort -u | wc -l)
# (the bounds scale with STORE_KILL_RUNS: 100 runs want 90 killed, 5
# before output, 20 distinct counts)
k_want_d=$((KRUNS / 5))
if [ "$k_runs" -ge "$KRUNS" ] && [ "$k_killed" -ge $((KRUNS * 9 / 10)) ] &&
	[ "$k_zero" -ge $(((KRUNS + 19) / 20)) ] && [ "$k_distinct" -ge "$k_want_d" ]; then ok; else
	fail "kill: too few kill points ($k_runs runs, $k_killed killed, $k_zero before output, $k_distinct distinct)"
fi
k_torn=$(find "$K" -path '*/torn/*.torn' | wc -l)
check "kill: torn tails quarantined in DIR/torn ($k_torn)" '[ "$k_torn" -ge 5 ]'
# Deterministic kill points (when strace can inject signals): SIGKILL at
# the Nth call of a system call. (a) In a first run on a new store: in the
# creation of the store and of the first segment (key file, segment file,
# its lock, its header), and in the first frames; the next run must open
# the store and verify must find it sound, with every record whose line was
# out. (b) In the recovery of a crashed run's unclosed segment with a torn
# tail: the next open completes the recovery, nothing is lost, the torn
# tail lands in DIR/torn whole.
if command -v strace >/dev/null 2>&1 && strace -o /dev/null true 2>/dev/null &&
	[ "$CDRMIN" = "${CDRMIN#* }" ]; then
	# kill_at DIR CALL N INPUT: the writing run killed at the Nth CALL.
	kill_at() {
		strace -f -o /dev/null -e trace="$2" -e inject="$2":signal=KILL:when="$3" \
			$CDRMIN -r $AST -k "$KEY" --retain "$1" --store-key "$SKEY" --fsync-every 1 --flush-ms 0 \
			"$4" >"$K/sx.out" 2>/dev/null </dev/null
	}
	head -n 3 fixtures/asterisk/master.csv >"$K/m3.csv"
	sx_n=0
	for point in flock:1 write:1 write:2 write:3 write:4 write:5 write:6 fsync:1 fsync:2 fsync:3 fsync:4 \
		fsync:5 openat:1 link:1 rename:1; do
		rm -rf "$K/sx"
		kill_at "$K/sx" "${point%:*}" "${point#*:}" "$K/m3.csv"
		L=$(grep -vc '^src,dst,' "$K/sx.out")
		run $CDRMIN -r $AST -k "$KEY" --retain "$K/sx" --store-key "$SKEY" --stats "$EMPTY"
		rrc=$RC
		verify "$K/sx"
		sx_n=$((sx_n + 1))
		if [ "$rrc" -eq 0 ] && [ "$VRC" -eq 0 ] && [ "$V_UNCLOSED" -eq 0 ] && [ "$V_RECS" -ge "$L" ]; then ok; else
			fail "kill at $point of a first run: the next run exits $rrc ($(grep error "$TMP/err" | head -1)); verify exit $VRC, $V_RECS records for $L lines out, $V_UNCLOSED not closed: $(grep DAMAGED "$TMP/v.out" | head -1)"
		fi
	done
	# (b) A store with a closed segment and a crashed run's unclosed one with a torn tail.
	rm -rf "$K/base"
	run $CDRMIN -r $AST -k "$KEY" --retain "$K/base" --store-key "$SKEY" "$K/m3.csv"
	kill_at "$K/base" fsync 12 fixtures/asterisk/master.csv
	verify "$K/base"
	set -- $(sed -n 's/^segment \([0-9a-f]*\) (traffic \([0-9-]*\)): not closed.*/\1 \2/p' "$TMP/v.out" | head -n 1)
	bid=${1:-none}
	base_recs=$V_RECS
	printf '\000\000\001\000torn' >"$K/base.tail"
	[ -f "$K/base/seg/traffic/${2:-x}/$bid.seg" ] && cat "$K/base.tail" >>"$K/base/seg/traffic/$2/$bid.seg"
	verify "$K/base"
	check "strace: the crashed run left a torn segment" \
		'[ "$VRC" -eq 65 ] && grep -q "DAMAGED: segment $bid: frame [0-9]*: torn" "$TMP/v.out" && [ "$base_recs" -ge 10 ]'
	for point in write:1 write:2 write:3 write:4 fsync:1 fsync:2 fsync:3 fsync:4 link:1 link:2 rename:1 \
		ftruncate:1 unlink:1 unlink:2 openat:3 openat:6 openat:9; do
		rm -rf "$K/sx"
		cp -a "$K/base" "$K/sx"
		kill_at "$K/sx" "${point%:*}" "${point#*:}" "$EMPTY"
		run $CDRMIN -r $AST -k "$KEY" --retain "$K/sx" --store-key "$SKEY" "$EMPTY"
		rrc=$RC
		verify "$K/sx"
		sx_n=$((sx_n + 1))
		if [ "$rrc" -eq 0 ] && [ "$VRC" -eq 0 ] && [ "$V_UNCLOSED" -eq 0 ] && [ "$V_RECS" -eq "$base_recs" ] &&
			cmp -s "$K/base.tail" "$K/sx/torn/$bid.torn"; then ok; else
			fail "kill at $point in recovery: next run exit $rrc, verify exit $VRC, $V_RECS records ($base_recs before), $V_UNCLOSED not closed, torn tail $(ls "$K/sx/torn" 2>/dev/null)"
		fi
	done
	echo "store: kill: $sx_n deterministic kill points (strace)"
	rm -rf "$K/sx" "$K/base"
else
	echo "store: kill: strace unavailable, deterministic kill points skipped"
fi
T2=$(date +%s)

# ==================================================================== 3. tamper
# Two runs of the Asterisk sample into one store: two segments per day
# (2024-03-01 with 8 records, 2024-04-01 and 2024-04-02 with 1 each).
# Segment A is one of the two of 2024-03-01, B the other.
TS="$TMP/t.st"
run $CDRMIN -r $AST -k "$KEY" --retain "$TS" --store-key "$SKEY" fixtures/asterisk/master.csv
run $CDRMIN -r $AST -k "$KEY" --retain "$TS" --store-key "$SKEY" fixtures/asterisk/master.csv
verify "$TS"
check "tamper: the pristine store verifies" '[ "$VRC" -eq 0 ] && [ "$V_SEGS" -eq 6 ] && [ "$V_RECS" -eq 20 ]'
SEGDIR="$TS/seg/traffic/2024-03-01"
ls "$SEGDIR" | sed -n 's/\.seg$//p' >"$TMP/ids"
A=$(sed -n 1p "$TMP/ids")
B=$(sed -n 2p "$TMP/ids")
OTHER=$(ls "$TS/seg/traffic/2024-04-01/" | sed -n 's/\.seg$//p' | head -n 1)
SA="$SEGDIR/$A.seg"
cp -a "$TS" "$TMP/t.orig"
ORIG_A="$TMP/t.orig/seg/traffic/2024-03-01/$A.seg"
ORIG_B="$TMP/t.orig/seg/traffic/2024-03-01/$B.seg"
# frames FILE: "N OFFSET LENGTH" of each frame (the header is 156 bytes,
# then a 4-byte big-endian length and that many bytes of ciphertext).
frames() {
	_size=$(stat -c %s "$1")
	_off=156
	_n=0
	while [ "$_off" -lt "$_size" ]; do
		_len=$(od -An -tu1 -j "$_off" -N 4 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
		_n=$((_n + 1))
		echo "$_n $_off $_len"
		_off=$((_off + 4 + _len))
	done
}
frames "$ORIG_A" >"$TMP/a.frames"
frames "$ORIG_B" >"$TMP/b.frames"
# frame FILE FRAMES N: frame N's bytes (its length and ciphertext).
frame() {
	set -- "$1" $(sed -n "${3}p" "$2")
	tail -c +$(($3 + 1)) "$1" | head -c $(($4 + 4))
}
# flip FILE OFFSET: flips bit 2 of that byte.
flip() {
	_b=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
	printf "\\$(printf %o $((_b ^ 4)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
check "tamper: segment A has 8 frames and FINAL" \
	'[ "$(wc -l <"$TMP/a.frames")" -eq 9 ] && [ "$(sed -n 9p "$TMP/a.frames" | cut -d" " -f3)" -eq 17 ]'
# rebuild N...: segment A made of the original's header and the frames listed
# (a number, or "b:N" for segment B's frame N).
rebuild() {
	{
		head -c 156 "$ORIG_A"
		for _f in "$@"; do
			case $_f in
			b:*) frame "$ORIG_B" "$TMP/b.frames" "${_f#b:}" ;;
			*) frame "$ORIG_A" "$TMP/a.frames" "$_f" ;;
			esac
		done
	} >"$SA"
}
# tamper NAME GOOD EDIT MESSAGE: on a fresh copy of the store, after EDIT
# (shell code), verify exits 65 and says "DAMAGED: segment A: MESSAGE" (and
# nothing else is damaged), counts the GOOD records of A read before the
# fault, and the five other segments still verify with all their records.
tamper() {
	rm -rf "$TS" && cp -a "$TMP/t.orig" "$TS"
	eval "$3"
	verify "$TS"
	if [ "$VRC" -eq 65 ] && grep -qF "DAMAGED: segment $A: $4" "$TMP/v.out" &&
		[ "$(grep -c DAMAGED "$TMP/v.out")" -eq 1 ] && [ "$V_DAMAGED" -eq 1 ] && [ "$V_SEGS" -eq 5 ] &&
		[ "$V_RECS" -eq $((12 + $2)) ] && grep -qx 'traffic 2024-04-01: 2 records, 0 rejected' "$TMP/v.out" &&
		grep -qx 'traffic 2024-04-02: 2 records, 0 rejected' "$TMP/v.out" &&
		grep -qx "traffic 2024-03-01: $((8 + $2)) records, 0 rejected" "$TMP/v.out"; then ok; else
		fail "tamper: $1: verify exit $VRC, $V_SEGS segments, $V_RECS records, $V_DAMAGED damaged (want 'segment $A: $4', $((12 + $2)) records)"
		sed 's/^/  | /' "$TMP/v.out" | head -5 >&2
	fi
}
fo() { sed -n "${1}p" "$TMP/a.frames" | cut -d' ' -f2; } # frame N's offset
fl() { sed -n "${1}p" "$TMP/a.frames" | cut -d' ' -f3; } # frame N's length
tamper "bit flip in frame 3" 2 "flip \"\$SA\" $(($(fo 3) + 4 + 40))" "frame 3: does not authenticate"
tamper "bit flip in frame 1's tag byte" 0 "flip \"\$SA\" $(($(fo 1) + 4))" "frame 1: does not authenticate"
tamper "bit flip in frame 8's MAC" 7 "flip \"\$SA\" $(($(fo 8) + 4 + $(fl 8) - 1))" "frame 8: does not authenticate"
tamper "bit flip in frame 5's length" 4 "flip \"\$SA\" $(($(fo 5) + 2))" "frame 5: "
tamper "bit flip in FINAL" 8 "flip \"\$SA\" $(($(fo 9) + 10))" "frame 9: does not authenticate"
tamper "frames 2 and 3 swapped" 1 "rebuild 1 3 2 4 5 6 7 8 9" "frame 2: does not authenticate"
tamper "frame 2 repeated" 2 "rebuild 1 2 2 3 4 5 6 7 8 9" "frame 3: does not authenticate"
tamper "frame 3 deleted" 2 "rebuild 1 2 4 5 6 7 8 9" "frame 3: does not authenticate"
tamper "the last data frame deleted" 7 "rebuild 1 2 3 4 5 6 7 9" "frame 8: does not authenticate"
tamper "frame 4 from segment B" 3 "rebuild 1 2 3 b:4 5 6 7 8 9" "frame 4: does not authenticate"
tamper "B's frames under A's header" 0 "rebuild b:1 b:2 b:3 b:4 b:5 b:6 b:7 b:8 b:9" "frame 1: does not authenticate"
tamper "FINAL repeated" 8 "rebuild 1 2 3 4 5 6 7 8 9 9" "frame 10: data after the FINAL frame"
tamper "a frame appended after FINAL" 8 "rebuild 1 2 3 4 5 6 7 8 9 8" "frame 10: data after the FINAL frame"
tamper "closed segment truncated inside frame 6" 5 "truncate -s $(($(fo 6) + 100)) \"\$SA\"" "frame 6: torn"
tamper "closed segment truncated inside frame 1's length" 0 "truncate -s $(($(fo 1) + 2)) \"\$SA\"" "frame 1: "
tamper "closed segment truncated inside FINAL" 8 "truncate -s $(($(fo 9) + 10)) \"\$SA\"" "frame 9: torn"
tamper "key file replaced by segment B's" 0 "cp \"\$SEGDIR/\$B.key\" \"\$SEGDIR/\$A.key\"" "$A.key does not unwrap"
tamper "key file replaced by another day's" 0 "cp \"\$TS/seg/traffic/2024-04-01/\$OTHER.key\" \"\$SEGDIR/\$A.key\"" "$A.key does not unwrap"
tamper "bit flip in the key file" 0 "flip \"\$SEGDIR/\$A.key\" 50" "$A.key does not unwrap"
tamper "bit flip in the header" 0 "flip \"\$SA\" 70" "header does not authenticate"
tamper "header truncated" 0 "truncate -s 100 \"\$SA\"" "header truncated"
# A closed segment cut at a frame boundary (FINAL and frame 8 gone) reads as
# a crash would leave it (segment.h: only FINAL proves the end); verify must
# at least name it rather than call the store clean.
rm -rf "$TS" && cp -a "$TMP/t.orig" "$TS"
truncate -s "$(fo 8)" "$SA"
verify "$TS"
check "tamper: a cut at a frame boundary is named" \
	'grep -q "segment $A (traffic 2024-03-01): not closed" "$TMP/v.out" && [ "$V_RECS" -eq 19 ]'
T3=$(date +%s)

# ================================================================= 4. retention
R="$TMP/ret"
mkdir -p "$R"
ret_rules() { # FILE CLASS SMS-PERIOD
	cat >"$1" <<EOF
format csv
columns id,who,time
numbering country=44 trunk=0 international=00
id keep
who phone pseudonym keep=cc
time keep
skip id skipme
* drop
retention zone Europe/Athens
retain sms $3
retain traffic 7y year-end
retain-records $2 of time
EOF
}
ret_rules "$R/sms.rules" sms 24m
ret_rules "$R/traffic.rules" traffic 24m
# sms: days around 2024-02-28/29 (24m), a record late on 2019-12-31 UTC
# (2020-01-01 in Athens, UTC+2), the last second of a day and the first of
# the next, one in summer time (UTC+3), one filtered out by skip (stored
# all the same: every record read is kept).
cat >"$R/sms.csv" <<'EOF'
s1,02079460001,2019-12-31T23:30:00Z
s2,02079460002,2024-02-26T12:00:00Z
s3,02079460003,2024-02-27T12:00:00Z
s4,02079460004,2024-02-28T12:00:00Z
s5,02079460005,2024-02-29T12:00:00Z
s6,02079460006,2024-02-29T21:59:59Z
s7,02079460007,2024-02-29T22:00:00Z
s8,02079460008,2024-03-01T12:00:00Z
s9,02079460009,2024-06-30T21:30:00Z
skipme,02079460010,2024-03-02T12:00:00Z
EOF
cat >"$R/traffic.csv" <<'EOF'
t1,02079460011,2019-12-31T21:30:00Z
t2,02079460012,2019-12-31T23:30:00Z
t3,02079460013,2021-06-01T12:00:00Z
EOF
RS="$R/st"
run $CDRMIN -r "$R/sms.rules" -k "$KEY" --stats --retain "$RS" --store-key "$SKEY" "$R/sms.csv"
set -- $(ssum "$TMP/err")
if [ "$RC" -eq 0 ] && grep -q 'read=10 written=9 rejected=0 filtered=1' "$TMP/err" && [ "${1:-}" = 10 ]; then ok; else
	fail "retention: a filtered record is stored too (exit $RC, store: $*)"
fi
# A second run on one of the days: two segments of sms 2024-02-29.
printf 's5b,02079460015,2024-02-29T08:00:00Z\n' >"$R/sms2.csv"
run $CDRMIN -r "$R/sms.rules" -k "$KEY" --retain "$RS" --store-key "$SKEY" "$R/sms2.csv"
run $CDRMIN -r "$R/traffic.rules" -k "$KEY" --retain "$RS" --store-key "$SKEY" "$R/traffic.csv"
verify "$RS"
vdays "$TMP/v.out" >"$R/days"
cat >"$R/days.want" <<'EOF'
sms 2020-01-01 1 0
sms 2024-02-26 1 0
sms 2024-02-27 1 0
sms 2024-02-28 1 0
sms 2024-02-29 3 0
sms 2024-03-01 2 0
sms 2024-03-02 1 0
sms 2024-07-01 1 0
traffic 2019-12-31 1 0
traffic 2020-01-01 1 0
traffic 2021-06-01 1 0
EOF
expect_same "retention: days in Europe/Athens (2019-12-31T23:30Z on 2020-01-01, 2024-02-29T22:00Z on 03-01, summer time)" "$R/days.want" "$R/days"
check "retention: verify totals" '[ "$VRC" -eq 0 ] && [ "$V_SEGS" -eq 12 ] && [ "$V_RECS" -eq 14 ]'
check "retention: the policy of the last run" 'grep -qx "retain sms 24m" "$RS/policy"'
check "retention: the policy's zone" 'grep -qx "zone Europe/Athens" "$RS/policy"'
# purge_at NAME DAY [STORE]: purge of a copy of the store ($R/p) on DAY;
# "CLASS DAY" of each segment destroyed in $R/destroyed and kept in $R/kept.
purge_at() {
	rm -rf "$R/p"
	cp -a "${3:-$RS}" "$R/p"
	$CDRMIN store purge "$R/p" --now "$2" >"$R/purge.out" 2>&1 </dev/null
	PRC=$?
	sed -n 's/^destroyed \([a-z]*\) \([0-9-]*\) [0-9a-f]*$/\1 \2/p' "$R/purge.out" | sort >"$R/destroyed"
	sed -n 's/^kept \([a-z]*\) \([0-9-]*\) [0-9a-f]*: .*/\1 \2/p' "$R/purge.out" | sort >"$R/kept"
	if [ "$PRC" -eq 0 ]; then ok; else fail "purge ($1) on $2: exit $PRC: $(head -1 "$R/purge.out")"; fi
}
# want CLASS:DAY...: the "CLASS DAY" lines, sorted.
want() { for _w in "$@"; do echo "${_w%%:*} ${_w#*:}"; done | sort; }
purge_at "year-end" 2027-12-31
grep '^traffic' "$R/destroyed" >"$R/d"
want traffic:2019-12-31 >"$R/w"
expect_same "retention: 7y year-end on 2027-12-31: 2019-12-31 destroyed, 2020-01-01 (Athens) kept" "$R/w" "$R/d"
purge_at "year-end" 2028-01-01
grep '^traffic' "$R/destroyed" >"$R/d"
want traffic:2019-12-31 traffic:2020-01-01 >"$R/w"
expect_same "retention: 7y year-end on 2028-01-01: 2020-01-01 destroyed, 2021 kept" "$R/w" "$R/d"
purge_at "24m" 2026-02-27
want sms:2020-01-01 sms:2024-02-26 sms:2024-02-27 >"$R/w"
expect_same "retention: 24m on 2026-02-27: 2024-02-28 and 2024-02-29 kept" "$R/w" "$R/destroyed"
check "retention: 2024-02-29 + 24m is 2026-02-28" \
	'grep -q "^kept sms 2024-02-29 [0-9a-f]*: retained until 2026-02-28\$" "$R/purge.out"'
purge_at "24m" 2026-02-28
want sms:2020-01-01 sms:2024-02-26 sms:2024-02-27 sms:2024-02-28 sms:2024-02-29 sms:2024-02-29 >"$R/w"
expect_same "retention: 24m on 2026-02-28: both segments of 2024-02-29 destroyed" "$R/w" "$R/destroyed"
want sms:2024-03-01 sms:2024-03-02 sms:2024-07-01 traffic:2019-12-31 traffic:2020-01-01 traffic:2021-06-01 >"$R/w"
expect_same "retention: 24m on 2026-02-28: exactly the others kept" "$R/w" "$R/kept"
verify "$R/p"
vdays "$TMP/v.out" >"$R/pdays"
printf 'sms 2024-03-01 2 0\nsms 2024-03-02 1 0\nsms 2024-07-01 1 0\ntraffic 2019-12-31 1 0\ntraffic 2020-01-01 1 0\ntraffic 2021-06-01 1 0\n' >"$R/w"
expect_same "retention: verify after the purge lists exactly the remaining segments" "$R/w" "$R/pdays"
check "retention: verify after the purge is clean" '[ "$VRC" -eq 0 ] && [ "$V_SEGS" -eq 6 ] && [ "$V_RECS" -eq 7 ]'
check "retention: the destroyed days are gone" \
	'[ ! -e "$R/p/seg/sms/2024-02-29" ] && [ ! -e "$R/p/seg/sms/2024-02-26" ] && [ -z "$(find "$R/p/seg" -name "*.key" | xargs -r grep -l . | sed -n "/2024-02-2[6-9]/p")" ]'
cp -a "$R/p" "$R/p2"
$CDRMIN store purge "$R/p2" --now 2026-02-28 >"$R/purge2.out" 2>&1
check "retention: a second purge destroys nothing" '[ "$?" -eq 0 ] && ! grep -q "^destroyed" "$R/purge2.out"'
rm -rf "$R/p2"
# Legal holds.
cp -a "$RS" "$R/h"
expect_exit 0 "hold: a class" $CDRMIN store hold "$R/h" sms
purge_at "class hold" 2030-01-01 "$R/h"
want traffic:2019-12-31 traffic:2020-01-01 traffic:2021-06-01 >"$R/w"
expect_same "hold: a class hold blocks every purge of the class" "$R/w" "$R/destroyed"
check "hold: purge says why" 'grep -q "^kept sms 2024-02-26 [0-9a-f]*: under a legal hold\$" "$R/purge.out"'
expect_exit 0 "release: the class" $CDRMIN store release "$R/h" sms
expect_exit 0 "hold: a range" $CDRMIN store hold "$R/h" sms 2024-02-28 2024-02-29
purge_at "range hold" 2026-03-10 "$R/h"
want sms:2020-01-01 sms:2024-02-26 sms:2024-02-27 sms:2024-03-01 sms:2024-03-02 >"$R/w"
expect_same "hold: a range blocks only its days" "$R/w" "$R/destroyed"
expect_exit 66 "release: a range only as it was placed" $CDRMIN store release "$R/h" sms 2024-02-28 2024-03-01
expect_exit 0 "release: the range" $CDRMIN store release "$R/h" sms 2024-02-28 2024-02-29
purge_at "released" 2026-03-10 "$R/h"
want sms:2020-01-01 sms:2024-02-26 sms:2024-02-27 sms:2024-02-28 sms:2024-02-29 sms:2024-02-29 sms:2024-03-01 sms:2024-03-02 >"$R/w"
expect_same "release: lifts the hold" "$R/w" "$R/destroyed"
expect_exit 64 "hold: a range ending before it begins" $CDRMIN store hold "$R/h" sms 2024-03-01 2024-02-01
expect_exit 64 "hold: not a day" $CDRMIN store hold "$R/h" sms 2024-02-30 2024-03-01
expect_exit 64 "hold: a bad class" $CDRMIN store hold "$R/h" 'SMS!'
# Shortening the period: a writing run with "retain sms 1m" rewrites the
# policy; the next purge applies it.
purge_at "before shortening" 2024-06-01
want sms:2020-01-01 >"$R/w"
expect_same "shorten: under 24m, only 2020-01-01 expired on 2024-06-01" "$R/w" "$R/destroyed"
ret_rules "$R/short.rules" sms 1m
printf 's10,02079460020,2024-05-20T12:00:00Z\n' >"$R/short.csv"
run $CDRMIN -r "$R/short.rules" -k "$KEY" --retain "$RS" --store-key "$SKEY" "$R/short.csv"
check "shorten: the policy rewritten" 'grep -qx "retain sms 1m" "$RS/policy" && ! grep -q "retain sms 24m" "$RS/policy"'
purge_at "after shortening" 2024-06-01
want sms:2020-01-01 sms:2024-02-26 sms:2024-02-27 sms:2024-02-28 sms:2024-02-29 sms:2024-02-29 \
	sms:2024-03-01 sms:2024-03-02 >"$R/w"
expect_same "shorten: takes effect at the next purge" "$R/w" "$R/destroyed"
check "shorten: the new run's day kept until 2024-06-20" \
	'grep -q "^kept sms 2024-05-20 [0-9a-f]*: retained until 2024-06-20\$" "$R/purge.out"'
# The quarantine: kept unless its class is declared, then purged as declared.
printf 's11,02079460021\n' >"$R/bad.csv"
run $CDRMIN -r "$R/sms.rules" -k "$KEY" --retain "$R/qs" --store-key "$SKEY" "$R/bad.csv"
later=$(TZ=Europe/Athens date -d '+61 days' +%F)
purge_at "quarantine undeclared" "$later" "$R/qs"
check "quarantine: kept when its class is not declared" \
	'grep -q "^kept quarantine [0-9-]* [0-9a-f]*: class not in the policy\$" "$R/purge.out"'
sed 's/^retain traffic.*/retain traffic 7y year-end\nretain quarantine 60d/' "$R/sms.rules" >"$R/q.rules"
run $CDRMIN -r "$R/q.rules" -k "$KEY" --retain "$R/qs" --store-key "$SKEY" "$EMPTY"
purge_at "quarantine 60d" "$later" "$R/qs"
check "quarantine: purged as its declared class says" 'grep -q "^destroyed quarantine " "$R/purge.out"'
purge_at "quarantine 60d, today" "$(TZ=Europe/Athens date +%F)" "$R/qs"
check "quarantine: not before its end" 'grep -q "^kept quarantine " "$R/purge.out"'
T4=$(date +%s)

# ========================================================= 5. re-identification
# Generated records (March 2024) and a subscriber, +44 1632 960123 (a range
# the generator does not use), written in many forms, in src, dst, the
# caller id and the dial string, over four months (four epochs), with near
# misses (another number, a local number, bare digits: local under the
# preset's numbering).
F="$TMP/reid"
mkdir -p "$F"
awk -v preset=asterisk -v n=300 -v seed=5 -v digits="$F/digits" -v strings=/dev/null \
	-f tests/leakforms.awk -f tests/leakgen.awk >"$F/leak.csv"
sub_rec() { # SRC DST CLID LASTDATA START USERFIELD
	printf '"","%s","%s","from-internal","%s","PJSIP/x-1","PJSIP/y-2","Dial","%s","%s","","%s",10,5,"ANSWERED","DOCUMENTATION","u","%s"\n' \
		"$1" "$2" "$3" "$4" "$5" "$5" "$6"
}
{
	sub_rec "+44 1632 960123" "02079461111" '""Sub"" <+441632960123>' "PJSIP/02079461111@trunk,30,tT" "2024-03-05 10:00:00" SUB
	sub_rec "01632960123" "+441134962222" '""Sub"" <01632960123>' "PJSIP/+441134962222@trunk,30,tT" "2024-04-10 10:00:00" SUB
	sub_rec "02079463333" "0044 1632 960123" '""X"" <02079463333>' "PJSIP/00441632960123@trunk,30,tT" "2024-05-15 10:00:00" SUB
	sub_rec "02079464444" "02079465555" '""Fwd"" <01632 960 123>' "PJSIP/02079465555@trunk,30,tT" "2024-04-11 10:00:00" SUB
	sub_rec "02079466666" "07700900777" '""Y"" <02079466666>' "PJSIP/+44-1632-960123@trunk,30,tT" "2024-06-01 10:00:00" SUB
	sub_rec "(01632) 960 123" "02079467777" '""Sub"" <tel:+441632960123>' "PJSIP/02079467777@trunk,30,tT" "2024-03-20 10:00:00" SUB
	sub_rec "01632960124" "02079468888" '""Near"" <01632960124>' "PJSIP/02079468888@trunk,30,tT" "2024-03-05 10:00:00" NEAR
	sub_rec "960123" "02079469999" '""Local"" <960123>' "PJSIP/960123@trunk,30,tT" "2024-04-10 10:00:00" NEAR
	sub_rec "+441632960125" "441632960123" '""Bare"" <441632960123>' "PJSIP/441632960123,30" "2024-05-15 10:00:00" NEAR
} >"$F/sub.csv"
printf '%s\n' 441632960123 01632960123 00441632960123 441632960124 01632960124 441632960125 \
	2079461111 1134962222 2079463333 2079464444 2079465555 2079466666 7700900777 2079467777 \
	2079468888 2079469999 >>"$F/digits"
cat "$F/leak.csv" "$F/sub.csv" >"$F/in.csv"
FS="$F/st"
run $CDRMIN -r $AST -k "$KEY" --retain "$FS" --store-key "$SKEY" "$F/in.csv"
check "reid: writing run" '[ "$RC" -eq 0 ]'
tail -n +2 "$TMP/out" >"$F/out"
canon "$F/in.csv" >"$F/canon"
check "reid: one record a line" '[ "$(wc -l <"$F/canon")" -eq 309 ] && [ "$(wc -l <"$F/out")" -eq 309 ]'
$CDRMIN -r "$TMP/start.rules" --no-header "$F/in.csv" 2>/dev/null | cut -c1-10 >"$F/days"
CDRMIN_OPERATOR=auditor-7
export CDRMIN_OPERATOR
audit_n() { if [ -f "$FS/audit.log" ]; then wc -l <"$FS/audit.log"; else echo 0; fi; }
QUERIES=0
# expect_lines TOKEN [FROM TO]: the inputs (as stored) whose output line
# holds TOKEN as a whole token, with a start day from FROM to TO, sorted.
expect_lines() {
	grep -n -E "$(tokre "$1")" "$F/out" | cut -d: -f1 >"$F/ln"
	awk -v from="${2:-0000}" -v to="${3:-9999}" 'FILENAME == ARGV[1] { want[$1] = 1; next }
		FILENAME == ARGV[2] { day[FNR] = $0; next }
		(FNR in want) && day[FNR] >= from && day[FNR] <= to' "$F/ln" "$F/days" "$F/canon" | sort
}
# find_check NAME TOKEN [FROM TO]: find returns exactly the expected
# originals; one audit line more, with the operator, the token and the count.
find_check() {
	_n=$1 _t=$2
	shift 2
	_a0=$(audit_n)
	if [ $# -eq 2 ]; then
		run $CDRMIN store find "$FS" "$_t" --store-key "$SKEY" -k "$KEY" --from "$1" --to "$2"
	else
		run $CDRMIN store find "$FS" "$_t" --store-key "$SKEY" -k "$KEY"
	fi
	QUERIES=$((QUERIES + 1))
	sort "$TMP/out" >"$F/got"
	_tk=${_t#*/}
	expect_lines "$_tk" "$@" >"$F/want"
	_c=$(wc -l <"$F/want")
	if [ "$RC" -eq 0 ] && cmp -s "$F/want" "$F/got" && [ "$_c" -gt 0 ]; then ok; else
		fail "find $_n: exit $RC, $(wc -l <"$F/got") records, $_c expected"
		diff "$F/want" "$F/got" | head -4 | sed 's/^/  | /' >&2
	fi
	_line=$(tail -n 1 "$FS/audit.log" 2>/dev/null)
	_rng=""
	[ $# -eq 2 ] && _rng=" from=$1 to=$2"
	if [ "$(audit_n)" -eq $((_a0 + 1)) ] &&
		echo "$_line" | grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z operator=auditor-7 find query=$_tk$_rng records=$_c\$"; then ok; else
		fail "find $_n: audit line ($(audit_n) lines, $_a0 before): $_line"
	fi
}
# The most frequent caller token, with and without its kept prefix.
cut -d, -f1 "$F/out" | sort | uniq -c | sort -k1,1nr -k2 | awk '{ print $2 }' >"$F/callers"
TOP=$(head -n 1 "$F/callers")
find_check "the most frequent caller" "$TOP"
find_check "the most frequent caller, prefix taken off" "${TOP#*/}"
# The most frequent token of the dial strings (scrubbed: no prefix).
DT=$(sed -n 's/.*PJSIP\/\([a-z0-9]*\.[a-z0-9]*\)@trunk.*/\1/p' "$F/out" | sort | uniq -c | sort -k1,1nr -k2 | awk 'NR == 1 { print $2 }')
find_check "a dial-string token" "$DT"
# --from/--to: a caller with records on several days, its first day, then the later ones.
while read -r c; do
	grep -n -E "$(tokre "${c#*/}")" "$F/out" | cut -d: -f1 >"$F/ln"
	awk 'NR == FNR { want[$1] = 1; next } FNR in want' "$F/ln" "$F/days" | sort -u >"$F/cdays"
	[ "$(wc -l <"$F/cdays")" -ge 2 ] && break
done <"$F/callers"
D1=$(sed -n 1p "$F/cdays")
D2=$(sed -n 2p "$F/cdays")
find_check "--from/--to one day" "$c" "$D1" "$D1"
find_check "--from/--to the later days" "$c" "$D2" 2024-12-31
# The subscriber's April token (record 2): the April records only, other
# months having other tokens.
NLEAK=$(wc -l <"$F/leak.csv")
APR=$(sed -n "$((NLEAK + 2))p" "$F/out" | cut -d, -f1)
find_check "the subscriber's April token" "$APR"
check "reid: the April token finds the 2 April records" '[ "$(grep -c ",SUB\$" "$F/got")" -eq 2 ] && [ "$(wc -l <"$F/got")" -eq 2 ]'
# Refused: a token of another key, a pseudonym key that does not load.
$CDRMIN -r $AST -k "$OTHER_KEY" --no-header fixtures/asterisk/master.csv 2>/dev/null | head -n 1 | cut -d, -f1 >"$F/otok"
a0=$(audit_n)
expect_exit 64 "find: a token of another key" $CDRMIN store find "$FS" "$(cat "$F/otok")" --store-key "$SKEY" -k "$KEY"
expect_grep "find: another key's token: message" "$TMP/err" "not a token of this key"
check "find: nothing printed for another key's token" '[ ! -s "$TMP/out" ]'
expect_exit 77 "find: a pseudonym key file that does not exist" $CDRMIN store find "$FS" "$TOP" --store-key "$SKEY" -k "$TMP/none.key"
cp "$KEY" "$TMP/open.key" && chmod 644 "$TMP/open.key"
expect_exit 77 "export: a pseudonym key readable by others" $CDRMIN store export "$FS" --number 01632960123 -r $AST --store-key "$SKEY" -k "$TMP/open.key"
check "refused queries print no record" '[ ! -s "$TMP/out" ]'
check "refused queries are not audited as answered" '[ "$(audit_n)" -eq "$a0" ]'
# The wrong store key: no answer of "0 records" for a store that holds them.
run $CDRMIN store find "$FS" "$TOP" --store-key "$SKEY2" -k "$KEY"
if [ "$RC" -ne 0 ]; then ok; else fail "find with the wrong store key: exit 0 and $(wc -l <"$TMP/out") records (an empty answer for a store that holds them)"; fi
run $CDRMIN store export "$FS" --number 01632960123 -r $AST --store-key "$SKEY2" -k "$KEY"
if [ "$RC" -ne 0 ]; then ok; else fail "export with the wrong store key: exit 0 and $(wc -l <"$TMP/out") records"; fi
a0=$(audit_n)
verify "$FS" "$SKEY2"
check "verify with the wrong store key fails" '[ "$VRC" -ne 0 ]'
# export: every record of the subscriber, whatever form the query is written in, across months.
grep ',SUB$' "$F/canon" | sort >"$F/sub.want"
check "reid: the subscriber has 6 records" '[ "$(wc -l <"$F/sub.want")" -eq 6 ]'
printf 'numbering country=44 trunk=0 international=00\ncolumns n\nn phone pseudonym\n* drop\n' >"$F/q.rules"
printf '+441632960123\n' >"$F/q.csv"
QTOK=$($CDRMIN -r "$F/q.rules" -k "$KEY" --no-header "$F/q.csv" 2>/dev/null)
for form in "+441632960123" "01632960123" "0044 1632 960123" "+44 (0)1632 960123" "tel:+44-1632-960123" "(01632) 960123"; do
	a0=$(audit_n)
	run $CDRMIN store export "$FS" --number "$form" -r $AST --store-key "$SKEY" -k "$KEY"
	QUERIES=$((QUERIES + 1))
	sort "$TMP/out" >"$F/got"
	if [ "$RC" -eq 0 ] && cmp -s "$F/sub.want" "$F/got"; then ok; else
		fail "export --number '$form': exit $RC, $(wc -l <"$F/got") records, 6 expected"
		diff "$F/sub.want" "$F/got" | head -4 | sed 's/^/  | /' >&2
	fi
	line=$(tail -n 1 "$FS/audit.log")
	if [ "$(audit_n)" -eq $((a0 + 1)) ] && [ -n "$QTOK" ] &&
		echo "$line" | grep -qE "^[0-9T:Z-]+ operator=auditor-7 export query=$QTOK records=6\$"; then ok; else
		fail "export '$form': audit line: $line (the number's token outside any epoch: $QTOK)"
	fi
done
run $CDRMIN store export "$FS" --number 01632960999 -r $AST --store-key "$SKEY" -k "$KEY"
QUERIES=$((QUERIES + 1))
check "export: a number not in the store: nothing" '[ "$RC" -eq 0 ] && [ ! -s "$TMP/out" ]'
check "export: audited with records=0" 'tail -n 1 "$FS/audit.log" | grep -q "export query=[a-z0-9]*\.[a-z0-9]* records=0\$"'
# Generated callers: export by the form the record wrote (any script, any
# separators) returns what find returns for its token (one month: one epoch).
k=0
n=0
while [ "$k" -lt 40 ] && [ "$n" -lt 8 ]; do
	k=$((k + 1))
	src=$(sed -n "${k}p" "$F/canon" | cut -d, -f2)
	case $src in 1[0-9][0-9]) continue ;; esac
	n=$((n + 1))
	tok=$(sed -n "${k}p" "$F/out" | cut -d, -f1)
	run $CDRMIN store export "$FS" --number "$src" -r $AST --store-key "$SKEY" -k "$KEY"
	QUERIES=$((QUERIES + 1))
	sort "$TMP/out" >"$F/got"
	expect_lines "${tok#*/}" >"$F/want"
	if [ "$RC" -eq 0 ] && [ -s "$F/want" ] && cmp -s "$F/want" "$F/got"; then ok; else
		fail "export --number of record $k's caller, as written ($(printf '%s' "$src" | od -An -c | tr -s ' ' | head -c 80)): exit $RC, $(wc -l <"$F/got") records, $(wc -l <"$F/want") expected"
	fi
done
# An operator name cannot add a line or a field to the audit log.
a0=$(audit_n)
CDRMIN_OPERATOR='eve x
2024-01-01T00:00:00Z operator=mallory' $CDRMIN store find "$FS" "$TOP" --store-key "$SKEY" -k "$KEY" >/dev/null 2>&1
QUERIES=$((QUERIES + 1))
check "audit: an operator name with blanks and a line break stays one word on one line" \
	'[ "$(audit_n)" -eq $((a0 + 1)) ] && tail -n 1 "$FS/audit.log" | grep -q "operator=eve_x_2024-01-01T00:00:00Z_operator=mallory find "'
# The audit log: one line per find and export, each with an operator, a
# token, a count; never an original (scanned with the leak test below).
check "audit: a line for every query ($QUERIES)" '[ "$(audit_n)" -ge "$QUERIES" ]'
check "audit: every line has an operator, a query token and a count" \
	'! grep -vE "^[0-9T:Z-]+ operator=[!-~]+ (find|export) query=[a-z0-9]{4}\.[a-z2-7]{26}( from=[0-9]{4}-[0-9]{2}-[0-9]{2})?( to=[0-9]{4}-[0-9]{2}-[0-9]{2})? records=[0-9]+\$" "$FS/audit.log"'
T5=$(date +%s)

# =================================================================== 6. leaks
# The leak test of tests/e2e.sh with --retain on: no 7-digit window of any
# number, no address and no e-mail in stdout or stderr, while the store holds
# every original; and nothing of them in the store's files either (frames,
# keys and torn tails are ciphertext; the policy, holds and audit log hold
# no original).
# store_clean NAME SECRETS STRINGS DIR...: no 7-digit window of a secret and
# no string in the bytes of any file of the stores; in their text files
# (STORE, policy, holds, audit.log) none either with every script's digits
# read as ASCII and the separators taken out.
store_clean() {
	_n=$1 _s=$2 _str=$3
	shift 3
	find "$@" -type f -exec cat {} + | LC_ALL=C tr -c '0-9' '\n' | grep -E '^[0-9]{7,}$' >"$TMP/s.runs"
	if leak_windows "$_s" "$TMP/s.runs" >"$TMP/s.found"; then ok; else fail "$_n: a number in the store's files: $(head -2 "$TMP/s.found")"; fi
	if [ -s "$_str" ] && find "$@" -type f -exec grep -alF -f "$_str" {} + >"$TMP/s.found"; then
		fail "$_n: an address or e-mail in $(head -2 "$TMP/s.found")"
	else ok; fi
	find "$@" -type f \( -name audit.log -o -name policy -o -name holds -o -name STORE \) -exec cat {} + >"$TMP/s.text"
	LC_ALL=C awk "$LEAK_ASCII" "$TMP/s.text" >"$TMP/s.ascii"
	LC_ALL=C awk "$LEAK_JOINED" "$TMP/s.ascii" >"$TMP/s.joined"
	if leak_windows "$_s" "$TMP/s.ascii" >"$TMP/s.found" && leak_windows "$_s" "$TMP/s.joined" >>"$TMP/s.found"; then ok; else
		fail "$_n: a number in the store's text files: $(head -2 "$TMP/s.found")"
	fi
}
leak_retain() { # NAME RULES PRESET
	rm -f "$TMP/digits" "$TMP/strings"
	awk -v preset="$3" -v n=600 -v seed=7 -v digits="$TMP/digits" -v strings="$TMP/strings" \
		-f tests/leakforms.awk -f tests/leakgen.awk >"$TMP/leak.csv"
	: >>"$TMP/strings"
	LS="$TMP/leak.st.$1"
	run $CDRMIN -r "$2" -k "$KEY" --stats --retain "$LS" --store-key "$SKEY" "$TMP/leak.csv"
	cat "$TMP/out" "$TMP/err" >"$TMP/leak.all"
	cp "$TMP/out" "$TMP/leak.out"
	LC_ALL=C awk "$LEAK_ASCII" "$TMP/leak.all" >"$TMP/leak.ascii"
	LC_ALL=C awk "$LEAK_JOINED" "$TMP/leak.ascii" >"$TMP/leak.joined"
	if leak_windows "$TMP/digits" "$TMP/leak.ascii" >"$TMP/leak.found" && [ "$RC" -eq 0 ]; then ok; else
		fail "leak test $1 with --retain (exit $RC): $(head -3 "$TMP/leak.found")"
	fi
	if leak_windows "$TMP/digits" "$TMP/leak.joined" >"$TMP/leak.found"; then ok; else
		fail "leak test $1 with --retain, separators taken out: $(head -3 "$TMP/leak.found")"
	fi
	if [ -s "$TMP/strings" ] && grep -qF -f "$TMP/strings" "$TMP/leak.all"; then
		fail "leak test $1 with --retain: an address or e-mail: $(grep -oF -f "$TMP/strings" "$TMP/leak.all" | head -3)"
	else ok; fi
	if LC_ALL=C grep -qE '<1[0-9][0-9]>|/1[0-9][0-9][,&]' "$TMP/leak.ascii"; then
		fail "leak test $1 with --retain: an extension"
	else ok; fi
	check "leak test $1: every record written" 'grep -q "read=600 written=600 rejected=0" "$TMP/err"'
	check "leak test $1: the store summary" 'grep -q "^cdrmin: store: 600 records and 0 rejected kept, 600 durable" "$TMP/err"'
	# The store holds every original: 600 records, and they come back.
	verify "$LS"
	check "leak test $1: the store holds all 600" '[ "$VRC" -eq 0 ] && [ "$V_RECS" -eq 600 ]'
	tok=$(sed -n 2p "$TMP/leak.out" | cut -d, -f1)
	$CDRMIN store find "$LS" "$tok" --store-key "$SKEY" -k "$KEY" >"$TMP/leak.orig" 2>/dev/null
	LC_ALL=C awk "$LEAK_ASCII" "$TMP/leak.orig" >"$TMP/leak.orig.ascii"
	LC_ALL=C awk "$LEAK_JOINED" "$TMP/leak.orig.ascii" >>"$TMP/leak.orig.ascii"
	if ! leak_windows "$TMP/digits" "$TMP/leak.orig.ascii" >/dev/null; then ok; else
		fail "leak test $1: find returns no original number (the scan of the store would prove nothing)"
	fi
	for num in $(sed -n '1p;4p;7p' "$TMP/digits"); do
		$CDRMIN store export "$LS" --number "+$num" -r "$2" --store-key "$SKEY" -k "$KEY" >/dev/null 2>&1
	done
	$CDRMIN store hold "$LS" traffic 2024-03-01 2024-03-02 >/dev/null 2>&1
	check "leak test $1: four queries audited" '[ "$(wc -l <"$LS/audit.log")" -eq 4 ]'
	store_clean "leak test $1: the store" "$TMP/digits" "$TMP/strings" "$LS"
}
leak_retain asterisk $AST asterisk
# generic.rules with retention lines: JSON-free CSV with a header, e-mail
# addresses and IP addresses in the originals.
grep -v '^\*' rules/generic.rules >"$TMP/generic-retain.rules"
printf 'retain traffic 7y year-end\nretain-records traffic of start_time\n* drop\n' >>"$TMP/generic-retain.rules"
leak_retain generic "$TMP/generic-retain.rules" generic
# The other stores of this run: re-identification (its audit log), quarantine, kill runs.
store_clean "reid store" "$F/digits" /dev/null "$FS"
printf '%s\n' 2079460999 7700900888 2079460777 113496099 2079460555 >"$TMP/q.digits"
store_clean "quarantine store" "$TMP/q.digits" /dev/null "$TMP/q.st"
awk -F'"' '{ print $4; print $6 }' "$K/in.csv" | sed 's/^+//' | sort -u >"$K/digits"
echo 01632960999 >>"$K/digits"
store_clean "kill stores" "$K/digits" /dev/null "$K"/st*
T6=$(date +%s)

echo "store: times: writing $((T1 - T0))s, kill $((T2 - T1))s, tamper $((T3 - T2))s, retention $((T4 - T3))s, re-identification $((T5 - T4))s, leaks $((T6 - T5))s, total $((T6 - T0))s"
echo "store: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
