#!/bin/sh
# Kafka through cdrmin with kcat, against librdkafka's built-in mock cluster
# (README "Kafka"). A kcat started with -X test.mock.num.brokers=1 runs a
# mock broker on a 127.0.0.1 port, which its debug log names
# ("bootstrap.servers=127.0.0.1:PORT"); other kcat processes use it as their
# broker for as long as that kcat lives. Topics are created on first use
# with 4 partitions; a mock partition keeps about its last 5 MB (older
# messages are dropped as by retention), so the runs stay below that. Then:
#   1. ordered: CDR lines produced to one partition, consumed | cdrmin |
#      produced to another topic; what is consumed there is byte for byte a
#      direct run's output
#   2. partitions: messages keyed by Call-ID (Asterisk's linkedid) land, per
#      key, in one partition; one cdrmin per partition; their outputs
#      together are the direct run's records
#   3. a consumer group of two kcat | cdrmin | kcat pipelines: the
#      partitions split between them, every record at least once
#   4. live: a consumer (kcat -u: unbuffered) that does not stop at the end of the topic; records
#      produced while the pipeline runs come out on the other side while it
#      still runs (cdrmin writes what it has when the input pauses); SIGTERM
#      to the consuming kcat ends the whole pipeline cleanly
# Not tested here (no broker in Debian): a real Kafka cluster, TLS/SASL,
# offsets committed across restarts of a real group coordinator.
# Usage: CDRMIN=build/cdrmin sh tests/kafka.sh   Prints "kafka: N passed, M failed".
cd "$(dirname "$0")/.." || exit 1
LC_ALL=C
export LC_ALL
. tests/lib.sh

install_missing kcat
if ! command -v kcat >/dev/null 2>&1; then
	fail "kcat is not installed (Debian package kcat)"
	printf 'kafka: '
	summary
	exit 1
fi

STARTED=""
stop_started() {
	for p in $STARTED; do kill "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap stop_started EXIT
trap 'exit 1' INT TERM


# The mock cluster: a consumer of a topic nobody writes, alive until the end.
kcat -b 127.0.0.1:1 -X test.mock.num.brokers=1 -d mock -q -C -t keepalive -o end \
	</dev/null >"$TMP/mock.out" 2>"$TMP/mock.err" &
MOCK=$!
STARTED="$MOCK"
BS=""
i=0
while [ $i -lt 50 ] && [ -z "$BS" ]; do
	sleep 0.1
	BS=$(sed -n 's/.*bootstrap\.servers=\(127\.0\.0\.1:[0-9][0-9]*\).*/\1/p' "$TMP/mock.err" | head -1)
	i=$((i + 1))
done
if [ -z "$BS" ]; then
	fail "the mock cluster did not say its address in 5 s"
	sed 's/^/  | /' "$TMP/mock.err" | head -5 >&2
	printf 'kafka: '
	summary
	exit 1
fi
KC="kcat -b $BS -q"
# Every kcat below is bounded in time; a hung one fails its check.
T="timeout 60"

N=10000
CDR="$TMP/cdr.csv"
awk -v n=$N -v seed=21 -f bench/gen-asterisk.awk >"$CDR"
RULES=rules/asterisk.rules
run $CDRMIN -r $RULES -k "$KEY" --no-header "$CDR"
check "the direct run exits 0" [ "$RC" -eq 0 ]
mv "$TMP/out" "$TMP/direct"
LC_ALL=C sort "$TMP/direct" >"$TMP/direct.sorted"

# --- 1. one partition: order kept ---------------------------------------------
$T $KC -P -t cdr-raw -p 0 <"$CDR"
check "produce $N CDR lines to cdr-raw" [ $? -eq 0 ]
$T $KC -C -t cdr-raw -p 0 -o beginning -e </dev/null |
	$CDRMIN -r $RULES -k "$KEY" --no-header --stats 2>"$TMP/p1.err" |
	$T $KC -P -t cdr-min -p 0
check "consume | cdrmin | produce ends" [ $? -eq 0 ]
expect_grep "cdrmin read every message" "$TMP/p1.err" "read=$N written=$N rejected=0"
$T $KC -C -t cdr-min -p 0 -o beginning -e </dev/null >"$TMP/p1.out"
expect_same "ordered: the topic cdr-min = the direct run" "$TMP/direct" "$TMP/p1.out"

# --- 2. keyed by Call-ID, one cdrmin per partition --------------------------------
# Asterisk's linkedid ties the legs of a call; the generator's uniqueid
# (1709284502.N) stands in for it: one key for every 4 records.
awk '{ match($0, /"1709284502\.[0-9]+"/); printf "call-%d\t%s\n", int(substr($0, RSTART + 12, RLENGTH - 13) / 4), $0 }' "$CDR" |
	$T $KC -P -t cdr-keyed -K '\t'
check "produce keyed messages" [ $? -eq 0 ]
$T $KC -C -t cdr-keyed -o beginning -e -f '%p %k\n' </dev/null >"$TMP/keys"
check "every keyed message is in the topic" [ "$(wc -l <"$TMP/keys")" -eq $N ]
np=$(LC_ALL=C sort -u "$TMP/keys" | awk '{ print $2 }' | uniq -d | wc -l)
check "each Call-ID key in one partition ($np split)" [ "$np" -eq 0 ]
used=$(awk '{ print $1 }' "$TMP/keys" | LC_ALL=C sort -u | wc -l)
check "the keys spread over the 4 partitions ($used used)" [ "$used" -eq 4 ]
pids=""
for p in 0 1 2 3; do
	$T $KC -C -t cdr-keyed -p $p -o beginning -e </dev/null |
		$CDRMIN -r $RULES -k "$KEY" --no-header >"$TMP/part.$p" 2>"$TMP/part.$p.err" &
	pids="$pids $!"
done
wait $pids
LC_ALL=C sort "$TMP"/part.[0-3] >"$TMP/parts.sorted"
expect_same "partitions: the four outputs together = the direct run's records" \
	"$TMP/direct.sorted" "$TMP/parts.sorted"

# --- 3. a consumer group of two pipelines ----------------------------------------
# The members join an empty topic, and the records are produced only once
# both hold a share of the partitions. Joining a topic that already holds
# the records raced: a member that came first read its partitions to the
# end before the other joined, and with kcat -e a member could leave or wait
# for the mock's 45 s rebalance timeout depending on when the second one
# came (seen: 5,000 + 0 under ASan, 10,000 + 10,000, 48 s runs). The members
# run without -e and are stopped once their outputs hold every record. The
# consuming kcat is not quiet: its "rebalanced ... assigned:" lines tell
# when the group is stable.
$T $KC -L -t cdr-group-raw >/dev/null 2>&1
check "group: the topic cdr-group-raw exists (created by a metadata request)" [ $? -eq 0 ]
pids=""
for m in 1 2; do
	{
		kcat -b "$BS" -u -G cdrmin-test -o beginning cdr-group-raw </dev/null 2>"$TMP/g$m.kcat.err" &
		echo $! >"$TMP/g$m.pid"
		wait
	} | $CDRMIN -r $RULES -k "$KEY" --no-header 2>"$TMP/g$m.err" |
		tee "$TMP/g$m.out" |
		$T $KC -P -t cdr-group-min &
	pids="$pids $!"
done
i=0
while [ $i -lt 50 ] && { [ ! -s "$TMP/g1.pid" ] || [ ! -s "$TMP/g2.pid" ]; }; do
	sleep 0.1
	i=$((i + 1))
done
STARTED="$STARTED $(cat "$TMP/g1.pid" "$TMP/g2.pid")"
# assigned M: the partitions of member M's last rebalance if that was an
# assignment, one per line; nothing while it has none.
assigned() {
	grep 'rebalanced' "$TMP/g$1.kcat.err" 2>/dev/null | tail -n 1 |
		sed -n 's/.*assigned: //p' | tr ',' '\n' | sed -n 's/.*\[\([0-9]*\)\].*/\1/p'
}
i=0
while [ $i -lt 600 ]; do
	s1=$(assigned 1 | LC_ALL=C sort | tr '\n' ' ')
	s2=$(assigned 2 | LC_ALL=C sort | tr '\n' ' ')
	[ -n "$s1" ] && [ -n "$s2" ] &&
		[ "$( (assigned 1; assigned 2) | LC_ALL=C sort -u | tr '\n' ' ')" = "0 1 2 3 " ] &&
		[ "$( (assigned 1; assigned 2) | wc -l)" -eq 4 ] && break
	sleep 0.1
	i=$((i + 1))
done
check "group: the two members share the 4 partitions (member 1: $s1, member 2: $s2)" [ $i -lt 600 ]
awk '{ match($0, /"1709284502\.[0-9]+"/); printf "call-%d\t%s\n", int(substr($0, RSTART + 12, RLENGTH - 13) / 4), $0 }' "$CDR" |
	$T $KC -P -t cdr-group-raw -K '\t'
check "group: produce keyed messages to cdr-group-raw" [ $? -eq 0 ]
LC_ALL=C sort -u "$TMP/direct.sorted" >"$TMP/direct.set"
want=$(wc -l <"$TMP/direct.set")
i=0
while [ $i -lt 600 ] &&
	[ "$(LC_ALL=C sort -u "$TMP/g1.out" "$TMP/g2.out" | wc -l)" -lt "$want" ]; do
	sleep 0.1
	i=$((i + 1))
done
# SIGKILL, not SIGTERM: a kcat that closes its group membership makes the
# mock coordinator rebalance, which hands the other member every partition
# from the start (-o beginning) or waits for its timeout. A killed consumer
# closes its output as well, which is all that cdrmin sees.
kill -KILL "$(cat "$TMP/g1.pid")" "$(cat "$TMP/g2.pid")" 2>/dev/null
wait $pids
LC_ALL=C sort "$TMP"/g1.out "$TMP"/g2.out >"$TMP/members.sorted"
LC_ALL=C sort -u "$TMP/members.sorted" >"$TMP/members.set"
g1=$(wc -l <"$TMP/g1.out")
g2=$(wc -l <"$TMP/g2.out")
# A group delivers at least once: a rebalance while the records flow hands
# partitions over from the start, and those records go through twice. So:
# every record at least once, nothing else, and both members did work.
check "group: every record at least once over the two members" [ "$(wc -l <"$TMP/members.sorted")" -ge $N ]
expect_same "group: the members wrote the direct run's records and nothing else" "$TMP/direct.set" "$TMP/members.set"
check "group: both members wrote records ($g1 + $g2)" [ "$g1" -gt 0 -a "$g2" -gt 0 ]
$T $KC -C -t cdr-group-min -o beginning -e </dev/null | LC_ALL=C sort >"$TMP/group.sorted"
check "group: the output topic holds every record the members wrote" \
	[ "$(wc -l <"$TMP/group.sorted")" -eq "$(wc -l <"$TMP/members.sorted")" ]
LC_ALL=C sort -u "$TMP/group.sorted" >"$TMP/group.set"
expect_same "group: the output topic holds the direct run's records" "$TMP/direct.set" "$TMP/group.set"
echo "kafka: consumer group split: $g1 + $g2 records ($((g1 + g2 - N)) delivered twice)" >&2

# --- 4. live: records flow while the pipeline runs ---------------------------------
head -n 500 "$CDR" >"$TMP/live1"
sed -n '501,1000p' "$CDR" >"$TMP/live2"
$CDRMIN -r $RULES -k "$KEY" --no-header "$TMP/live1" >"$TMP/live1.direct"
$CDRMIN -r $RULES -k "$KEY" --no-header "$TMP/live1" "$TMP/live2" >"$TMP/live.direct"
# The consumer runs in the background of a subshell that waits for it, so
# that its pid is known (to stop it) and its end closes cdrmin's input. tee
# shows what cdrmin has written: kcat -P (1.7.1) sends what it read only
# when more input comes or at its end, so the output topic lags a burst.
{
	$KC -C -u -t live-raw -p 0 -o beginning </dev/null 2>"$TMP/live.kcat.err" &
	echo $! >"$TMP/live.pid"
	wait
} | $CDRMIN -r $RULES -k "$KEY" --no-header --stats 2>"$TMP/live.err" |
	tee "$TMP/live.tee" |
	$KC -P -t live-min -p 0 &
LIVE=$!
i=0
while [ $i -lt 50 ] && [ ! -s "$TMP/live.pid" ]; do
	sleep 0.1
	i=$((i + 1))
done
LIVEC=$(cat "$TMP/live.pid")
STARTED="$STARTED $LIVEC"
# wait_lines N: until cdrmin has written N lines (30 s at most).
wait_lines() {
	i=0
	while [ $i -lt 300 ] && [ "$(wc -l <"$TMP/live.tee")" -lt "$1" ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
$T $KC -P -t live-raw -p 0 <"$TMP/live1"
wait_lines 500
check "live: cdrmin wrote the first 500 records while its input stays open" kill -0 $LIVEC
cp "$TMP/live.tee" "$TMP/live1.out"
expect_same "live: the first 500 records, before the end of the input" "$TMP/live1.direct" "$TMP/live1.out"
$T $KC -P -t live-raw -p 0 <"$TMP/live2"
wait_lines 1000
kill -TERM $LIVEC
# The pipeline ends by itself: the consumer's end is cdrmin's end of input.
i=0
while [ $i -lt 100 ] && kill -0 $LIVE 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
check "live: the pipeline ended within 10 s of SIGTERM to the consumer" [ $i -lt 100 ]
wait $LIVE
$T $KC -C -t live-min -p 0 -o beginning -e </dev/null >"$TMP/live.out"
expect_same "live: the output topic holds all 1000 records, in order" "$TMP/live.direct" "$TMP/live.out"
expect_grep "live: cdrmin ended with its summary" "$TMP/live.err" "read=1000 written=1000"

printf 'kafka: '
summary
