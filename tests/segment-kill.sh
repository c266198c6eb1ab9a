#!/bin/sh
# Crash test of the segment layer: tests/segkill.c writes "record N" frames
# to a segment, syncing every K frames and printing "durable N" after each
# sync; this kills it with SIGKILL after a random delay (fixed seed: the
# same delays and K every run), then checks the segment: every record
# reported durable reads back, in order; the file ends cleanly or with a
# torn frame right after the last good one (never a wrong frame); recovery
# quarantines the tail, and the recovered segment ends after the same
# frames. Prints "segment-kill: N passed, M failed".
#
#   SEGKILL_RUNS (100), SEGKILL_SEED, SEGKILL_VERBOSE (set: one line per
#   run), CDRMIN_LIB (build/libcdrmin.a, made when unset), CC (cc), SAN
#   (sanitizer flags the library was built with, for the link).
cd "$(dirname "$0")/.." || exit 1

RUNS=${SEGKILL_RUNS:-100}
SEED=${SEGKILL_SEED:-20261122}
CC=${CC:-cc}
WARN="-Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wwrite-strings -Wvla"

if [ -z "$CDRMIN_LIB" ]; then
	CDRMIN_LIB=build/libcdrmin.a
	make --no-print-directory -s "$CDRMIN_LIB" || exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/cdrmin-segkill.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM

# shellcheck disable=SC2046 # pkg-config output is a list of flags
# shellcheck disable=SC2086 # SAN is a list of flags
$CC -std=c17 -D_GNU_SOURCE -Iinclude -O2 -g $WARN $SAN -o "$TMP/segkill" tests/segkill.c \
	"$CDRMIN_LIB" $(pkg-config --cflags --libs libsodium libxxhash) -lm || exit 1

KEY="$TMP/store.key"
head -c 32 /dev/urandom >"$KEY" && chmod 600 "$KEY" || exit 1

# One line per run: the delay before the kill (seconds), K, and what the
# delay counts from: "launch" (one run in ten: kills inside process start
# and cm_seg_create, where nothing may be promised yet) or "created" (the
# "segment" line is out, so a loaded machine still kills inside the write
# loop). Delays from 0.1 to 40 ms, most under 10 ms: the first frames and
# syncs, then thousands of frames in.
awk -v seed="$SEED" -v runs="$RUNS" 'BEGIN {
	srand(seed)
	split("1 2 3 7 16 50 200", ks, " ")
	for (i = 1; i <= runs; i++) {
		r = rand()
		printf "%.4f %d %s\n", 0.0001 + r * r * 0.04, ks[int(rand() * 7) + 1],
			rand() < 0.1 ? "launch" : "created"
	}
}' >"$TMP/plan"

PASS=0
FAIL=0
i=0
while read -r delay every from; do
	i=$((i + 1))
	d="$TMP/run$i"
	mkdir -p "$d/q" || exit 1
	"$TMP/segkill" write "$d" "$KEY" "$every" >"$d/out" 2>"$d/err" &
	pid=$!
	if [ "$from" = created ]; then
		# Until the segment line is out, or the writer is gone.
		while ! grep -q '^segment ' "$d/out" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do
			sleep 0.001
		done
	fi
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	touch "$d/out" # a kill before the redirection leaves none
	durable=$(sed -n 's/^durable //p' "$d/out" | tail -n 1)
	id=$(sed -n 's/^segment //p' "$d/out")
	if "$TMP/segkill" check "$d" "$KEY" "$d/q" "${durable:-0}" $id >"$d/check" 2>&1; then
		PASS=$((PASS + 1))
		sed 's/^ok \([a-z-]*\).*/\1/' "$d/check" >>"$TMP/ends"
		[ -n "$SEGKILL_VERBOSE" ] && echo "run $i: ${delay}s after $from, K=$every: $(cat "$d/check")"
	else
		FAIL=$((FAIL + 1))
		echo "FAIL: run $i (kill ${delay}s after $from, sync every $every):" \
			"$(cat "$d/check" "$d/err")" >&2
	fi
	rm -rf "$d"
done <"$TMP/plan"

[ -f "$TMP/ends" ] && echo "segment-kill: ends: $(sort "$TMP/ends" | uniq -c | awk '{ printf "%s%s %s", s, $1, $2; s = ", " }')"
echo "segment-kill: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
