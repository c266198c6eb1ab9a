#!/bin/sh
# Sharding with GNU parallel: an archive cut into shards, each shard filtered
# by its own cdrmin on its own core, the outputs concatenated in order, gives
# byte for byte the output of one run over the whole (README "Sharding").
#   1. Asterisk Master.csv without a header line (declared columns), 200000
#      records from bench/gen-asterisk.awk plus two bad lines: parallel
#      --pipepart cuts the file at line ends, the first shard's output keeps
#      the CSV header line, the others run --no-header; the shards' summaries
#      add up to the whole's (read, written, rejected)
#   2. CSV with a header line (rules/generic.rules): --pipepart --header :
#      gives every shard the header line; the same through --pipe on stdin
#   3. JSON lines (rules/sms-json.rules) out as JSON lines and as CSV
#   4. an archive of daily files, one job per file: the same as one run over
#      the files in order; and split(1) shards
# Usage: CDRMIN=build/cdrmin sh tests/shard.sh   Prints "shard: N passed, M failed".
cd "$(dirname "$0")/.." || exit 1
LC_ALL=C
export LC_ALL
. tests/lib.sh

install_missing parallel
if ! parallel --version 2>/dev/null | grep -q 'GNU parallel'; then
	fail "GNU parallel is not installed (Debian package parallel)"
	printf 'shard: '
	summary
	exit 1
fi
# Two jobs at a time: the machine's cores, shared with the other suites.
PAR="parallel --will-cite -j 2 -k"


# sum NAME FILES...: the total of the --stats counter NAME over the files.
sum() {
	_c=$1
	shift
	cat "$@" | sed -n "s/^cdrmin: stats: read=.* $_c=\\([0-9]*\\).*/\\1/p; s/^cdrmin: stats: $_c=\\([0-9]*\\).*/\\1/p" |
		awk '{ s += $1 } END { print s + 0 }'
}

# one NAME FILE: the --stats counter NAME of one run's stderr.
one() {
	sum "$1" "$2"
}

# shards PREFIX: how many stderr files PREFIX.N the jobs left.
shards() {
	ls "$1".* 2>/dev/null | wc -l
}

# --- 1. Asterisk, no header line -------------------------------------------
AST="$TMP/ast.csv"
{
	awk -v n=100000 -v seed=7 -f bench/gen-asterisk.awk
	echo '"only","three","columns"'
	awk -v n=100000 -v seed=8 -f bench/gen-asterisk.awk
	echo '"","0207946","0207946","from-internal","unterminated'
} >"$AST"
run $CDRMIN -r rules/asterisk.rules -k "$KEY" --stats "$AST"
check "asterisk: the whole run exits 65 (two rejects)" [ "$RC" -eq 65 ]
mv "$TMP/out" "$TMP/ast.whole"
cp "$TMP/err" "$TMP/ast.whole.err"
check "asterisk: the whole run read 200002 records" [ "$(one read "$TMP/ast.whole.err")" -eq 200002 ]

# Job 1 writes the header line, the others --no-header; {#} is the job's
# sequence number, which -k keeps in the output's order.
$PAR --pipepart -a "$AST" --block 3M \
	"$CDRMIN -r rules/asterisk.rules -k $KEY --stats \$(test {#} -eq 1 || echo --no-header) 2>$TMP/ast.err.{#}" \
	>"$TMP/ast.sharded" </dev/null
expect_same "asterisk: shards concatenated = one run" "$TMP/ast.whole" "$TMP/ast.sharded"
n=$(shards "$TMP/ast.err")
check "asterisk: cut into more shards than cores ($n)" [ "$n" -ge 8 ]
for c in read written rejected filtered; do
	w=$(one $c "$TMP/ast.whole.err")
	s=$(sum $c "$TMP"/ast.err.*)
	check "asterisk: the shards' $c adds up ($s, whole $w)" [ "$s" -eq "$w" ]
done
check "asterisk: one header line in the sharded output" \
	[ "$(grep -c '^src,dst,' "$TMP/ast.sharded")" -eq 1 ]
check "asterisk: the header line first" [ "$(head -c 8 "$TMP/ast.sharded")" = "src,dst," ]

# The same with GNU split's line-aligned pieces, one job per piece.
mkdir "$TMP/split"
split -n l/5 -d "$AST" "$TMP/split/ast."
ls "$TMP"/split/ast.* | $PAR \
	"$CDRMIN -r rules/asterisk.rules -k $KEY \$(test {#} -eq 1 || echo --no-header) {} 2>/dev/null" \
	>"$TMP/ast.split"
expect_same "asterisk: split -n l/5 pieces concatenated = one run" "$TMP/ast.whole" "$TMP/ast.split"

# --- 2. CSV with a header line ---------------------------------------------
GENCSV="$TMP/gen.csv"
awk -v n=100000 'BEGIN {
	srand(3)
	print "record_id,caller,callee,start_time,duration,caller_ip,status,notes"
	for (i = 0; i < n; i++) {
		a = int(1000 * rand() * rand()); b = int(1000 * rand())
		printf "r-%06d,+44207946%04d,07700900%03d,2024-%02d-%02dT%02d:%02d:00Z,%d,192.0.2.%d,%s,\"call back 020 7946 %04d, mail u%d@example.com\"\n",
			i, a, b, 1 + i % 12, 1 + i % 28, i % 24, i % 60, i % 4000, a % 256,
			(i % 3) ? "answered" : "busy", b, a
	}
}' >"$GENCSV"
run $CDRMIN -r rules/generic.rules -k "$KEY" "$GENCSV"
check "generic: the whole run exits 0" [ "$RC" -eq 0 ]
mv "$TMP/out" "$TMP/gen.whole"
$PAR --pipepart -a "$GENCSV" --header : --block 1M \
	"$CDRMIN -r rules/generic.rules -k $KEY \$(test {#} -eq 1 || echo --no-header) 2>$TMP/gen.err.{#}" \
	>"$TMP/gen.sharded" </dev/null
expect_same "generic: --pipepart --header : shards = one run" "$TMP/gen.whole" "$TMP/gen.sharded"
n=$(shards "$TMP/gen.err")
check "generic: several shards ($n)" [ "$n" -ge 4 ]
check "generic: no shard wrote to stderr" [ -z "$(cat "$TMP"/gen.err.*)" ]
# Streaming from stdin: --pipe reads the header once and gives it to each block.
$PAR --pipe --header : --block 1M \
	"$CDRMIN -r rules/generic.rules -k $KEY \$(test {#} -eq 1 || echo --no-header)" \
	<"$GENCSV" >"$TMP/gen.pipe" 2>"$TMP/gen.pipe.err"
expect_same "generic: --pipe --header : from stdin = one run" "$TMP/gen.whole" "$TMP/gen.pipe"

# --- 3. JSON lines -----------------------------------------------------------
SMS="$TMP/sms.jsonl"
awk -v n=100000 'BEGIN {
	srand(5)
	for (i = 0; i < n; i++) {
		a = int(1000 * rand() * rand()); b = int(1000 * rand())
		printf "{\"time\":\"2024-%02d-%02dT%02d:%02d:07Z\",\"direction\":\"%s\",\"from\":\"%s\",\"to\":[\"+447700900%03d\",\"0207946%04d\"],\"text\":\"Your code is %06d, call 020 7946 %04d\",\"parts\":1,\"smsc\":\"smpp1\",\"status\":\"delivered\",\"message_id\":\"m-%d\",\"client\":{\"ip\":\"198.51.100.%d\",\"account\":\"acct-%d\"}}\n",
			1 + i % 12, 1 + i % 28, i % 24, i % 60, (i % 2) ? "mt" : "mo",
			(i % 5) ? sprintf("+44207946%04d", a) : "MyBank", b, a, i * 7 % 1000000, b, i, a % 256, a % 10
	}
}' >"$SMS"
for fmt in jsonl csv; do
	run $CDRMIN -r rules/sms-json.rules -k "$KEY" --output $fmt "$SMS"
	check "sms $fmt: the whole run exits 0" [ "$RC" -eq 0 ]
	mv "$TMP/out" "$TMP/sms.whole.$fmt"
	$PAR --pipepart -a "$SMS" --block 2M \
		"$CDRMIN -r rules/sms-json.rules -k $KEY --output $fmt \$(test {#} -eq 1 || echo --no-header)" \
		>"$TMP/sms.sharded.$fmt" </dev/null 2>"$TMP/sms.err"
	expect_same "sms: JSON lines in, $fmt out: shards = one run" "$TMP/sms.whole.$fmt" "$TMP/sms.sharded.$fmt"
done
check "sms: the JSON output has one line per record" [ "$(wc -l <"$TMP/sms.whole.jsonl")" -eq 100000 ]

# --- 4. an archive of files, one job per file ----------------------------------
mkdir "$TMP/archive"
for d in 01 02 03 04 05 06; do
	awk -v n=5000 -v seed=$d -f bench/gen-asterisk.awk >"$TMP/archive/2024-03-$d.csv"
done
run $CDRMIN -r rules/asterisk.rules -k "$KEY" "$TMP"/archive/*.csv
mv "$TMP/out" "$TMP/arch.whole"
ls "$TMP"/archive/*.csv | $PAR \
	"$CDRMIN -r rules/asterisk.rules -k $KEY \$(test {#} -eq 1 || echo --no-header) {}" \
	>"$TMP/arch.sharded" 2>"$TMP/arch.err"
expect_same "archive: one job per daily file = one run over the files" "$TMP/arch.whole" "$TMP/arch.sharded"
# Each file to its own output beside it ({.}.min.csv), as across hosts with
# --return: concatenated in order, the same.
ls "$TMP"/archive/*.csv | $PAR "$CDRMIN -r rules/asterisk.rules -k $KEY --no-header -o {.}.min.csv {}" 2>"$TMP/arch.err"
{
	head -1 "$TMP/arch.whole"
	cat "$TMP"/archive/*.min.csv
} >"$TMP/arch.files"
expect_same "archive: per-file outputs concatenated = one run" "$TMP/arch.whole" "$TMP/arch.files"

printf 'shard: '
summary
