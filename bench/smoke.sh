#!/bin/sh
# bench-smoke (make test): the benchmark's generator and tools, in seconds.
# The generator is deterministic by seed; every format it writes is read by
# cdrmin with its preset with zero rejects and the record count the
# generator reported; the subscribers' popularity is Zipf; the numbers and
# addresses are of the synthetic scheme; the runner, linecopy and the Python
# peer do what the harness relies on.
# Needs CDRMIN and BENCH_BIN (the directory of gen, runner, linecopy).
. tests/lib.sh
: "${BENCH_BIN:=build/bench-bin}"
GEN="$BENCH_BIN/gen"
RUNNER="$BENCH_BIN/runner"
LINECOPY="$BENCH_BIN/linecopy"

rules_of() {
	case $1 in
	kamailio-json) echo rules/kamailio-acc-json.rules ;;
	*) echo "rules/$1.rules" ;;
	esac
}

# gen_field FILE NAME: a value (records=, bytes=) of gen's summary line in FILE.
gen_field() { sed -n "s/.* $2=\\([0-9]*\\).*/\\1/p" "$1"; }

# --- the generator is deterministic by seed ------------------------------------
for f in asterisk freeswitch kamailio-json kannel sip; do
	"$GEN" "$f" -n 300 --seed 7 -o "$TMP/a" 2>/dev/null
	"$GEN" "$f" -n 300 --seed 7 >"$TMP/b" 2>/dev/null
	"$GEN" "$f" -n 300 --seed 8 -o "$TMP/c" 2>/dev/null
	if [ -s "$TMP/a" ]; then ok; else fail "gen $f: empty output"; fi
	a=$(cksum <"$TMP/a") b=$(cksum <"$TMP/b") c=$(cksum <"$TMP/c")
	if [ "$a" = "$b" ]; then ok; else fail "gen $f: seed 7 twice gave $a and $b"; fi
	if [ "$a" != "$c" ]; then ok; else fail "gen $f: seeds 7 and 8 gave the same bytes"; fi
done

# -s stops at the first record that reaches the size; the summary is true.
"$GEN" asterisk -s 64K -o "$TMP/s.csv" 2>"$TMP/s.meta"
size=$(wc -c <"$TMP/s.csv")
last=$(tail -n 1 "$TMP/s.csv" | wc -c)
if [ "$size" -ge 65536 ] && [ $((size - last)) -lt 65536 ]; then ok; else
	fail "gen -s 64K: $size bytes, last record $last bytes"
fi
if [ "$(gen_field "$TMP/s.meta" bytes)" = "$size" ] &&
	[ "$(gen_field "$TMP/s.meta" records)" = "$(wc -l <"$TMP/s.csv" | tr -d ' ')" ]; then ok; else
	fail "gen -s 64K: summary '$(cat "$TMP/s.meta")' for $size bytes"
fi
expect_exit 64 "gen: unknown format" "$GEN" nosuchformat -n 1
expect_exit 64 "gen: -s and -n together" "$GEN" asterisk -n 1 -s 1K
expect_exit 64 "gen: -s 0" "$GEN" asterisk -s 0
expect_exit 64 "gen: -n 0" "$GEN" asterisk -n 0
expect_exit 64 "gen: --zipf not a number" "$GEN" asterisk --zipf one

# --- cdrmin reads every format with its preset, zero rejects ---------------------
for f in asterisk freeswitch kamailio-json kannel sip; do
	n=2000
	[ "$f" = sip ] && n=300 # dialogs of 7 messages
	"$GEN" "$f" -n $n --seed 3 -o "$TMP/in.$f" 2>"$TMP/in.$f.meta"
	want=$(gen_field "$TMP/in.$f.meta" records)
	if [ "$f" != sip ] || [ "$want" = 2100 ]; then ok; else fail "gen sip -n 300: $want messages, expected 2100"; fi
	if [ "$f" = sip ]; then
		run "$CDRMIN" -r "$(rules_of $f)" -k "$KEY" --stats --pcap "$TMP/in.$f"
	else
		run "$CDRMIN" -r "$(rules_of $f)" -k "$KEY" --stats "$TMP/in.$f"
	fi
	if [ "$RC" -eq 0 ]; then ok; else
		fail "cdrmin on gen $f: exit $RC"
		head -3 "$TMP/err" >&2
	fi
	r=$(stat_value read) w=$(stat_value written) j=$(stat_value rejected)
	if [ "$r" = "$want" ] && [ "$w" = "$want" ] && [ "$j" = 0 ]; then ok; else
		fail "cdrmin on gen $f: read=$r written=$w rejected=$j, generated $want"
	fi
	lines=$(wc -l <"$TMP/out" | tr -d ' ')
	if [ "$lines" = $((want + 1)) ]; then ok; else fail "cdrmin on gen $f: $lines output lines for $want records"; fi
done

# --- Zipf: the most frequent number far above the median one -----------------
# 20000 Asterisk records over 1,000,000 subscribers with s = 1: the top caller
# is expected 20000 / H(1e6) = 1390 times, the second half that, the median
# number once.
"$GEN" asterisk -n 20000 --seed 5 -o "$TMP/z.csv" 2>/dev/null
zipf_counts() {
	awk -F'","' '{ n = $2; gsub(/[^0-9]/, "", n); c[substr(n, length(n) - 8)]++ }
		END { for (k in c) print c[k] }' "$1" | sort -rn >"$TMP/counts"
}
zipf_counts "$TMP/z.csv"
top=$(sed -n 1p "$TMP/counts") second=$(sed -n 2p "$TMP/counts")
distinct=$(wc -l <"$TMP/counts" | tr -d ' ')
median=$(sed -n "$(((distinct + 1) / 2))p" "$TMP/counts")
if [ "$top" -ge $((100 * median)) ]; then ok; else fail "zipf: top $top, median $median"; fi
if [ "$top" -ge 1180 ] && [ "$top" -le 1600 ]; then ok; else fail "zipf: top caller $top times, expected about 1390"; fi
if [ $((top * 10)) -ge $((second * 16)) ] && [ $((top * 10)) -le $((second * 25)) ]; then ok; else
	fail "zipf: top $top, second $second (expected a ratio near 2)"
fi
if [ "$distinct" -ge 5000 ]; then ok; else fail "zipf: only $distinct distinct callers"; fi
# --zipf 0: uniform, no number stands out
"$GEN" asterisk -n 20000 --seed 5 --zipf 0 -o "$TMP/u.csv" 2>/dev/null
zipf_counts "$TMP/u.csv"
top=$(sed -n 1p "$TMP/counts")
if [ "$top" -le 6 ]; then ok; else fail "zipf 0: top caller $top times"; fi

# --- the synthetic scheme: UK numbers in the spare 04 range in four forms,
# North American ones with a 0 or 1 central office code, documentation addresses
awk -F'","' '$2 !~ /^(\+444|00444|04|\+44 4)[0-9 ]+$/ || $3 !~ /^(\+444|00444|04)[0-9]+$/ { bad++ }
	END { exit bad > 0 }' "$TMP/z.csv" && ok || fail "asterisk: a number outside the synthetic scheme"
for form in '"+444' '"00444' '"04' '"+44 4'; do
	expect_grep "asterisk: the form $form" "$TMP/z.csv" "$form"
done
awk -F'","' '$2 !~ /^(\+1|1)?[0-9][0-9][0-9]-?[01][0-9][0-9]-?[0-9][0-9][0-9][0-9]$/ { bad++ }
	END { exit bad > 0 }' \
	"$TMP/in.freeswitch" && ok || fail "freeswitch: a number outside the synthetic scheme"
tr -c '0-9a-f.:' '\n' <"$TMP/in.kamailio-json" | grep -E '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$|^2001:' |
	grep -Ev '^(192\.0\.2|198\.51\.100|203\.0\.113)\.[0-9]+$|^2001:db8::' >"$TMP/badip" || true
if [ ! -s "$TMP/badip" ]; then ok; else fail "kamailio-json: addresses outside the documentation ranges"; fi

# --- the runner --------------------------------------------------------------------
line=$("$RUNNER" -n 3 -- true)
case $line in "runs=3 median_s="*" status=0") ok ;; *) fail "runner true: '$line'" ;; esac
if line=$("$RUNNER" -c 'exit 3'); then fail "runner: exit 3 taken as success"; else ok; fi
case $line in *" status=3") ok ;; *) fail "runner exit 3: '$line'" ;; esac
line=$("$RUNNER" -- sh -c 'kill -9 $$') || true
case $line in *" status=137") ok ;; *) fail "runner SIGKILL: '$line'" ;; esac
# peak RSS of a process holding a 64 MiB string, alone and inside a pipeline
rss() { echo "$1" | sed 's/.*maxrss_kb=\([0-9]*\).*/\1/'; }
line=$("$RUNNER" -- awk 'BEGIN { s = "x"; while (length(s) < 67108864) s = s s; print length(s) }')
if [ "$(rss "$line")" -ge 65536 ]; then ok; else fail "runner rss: '$line'"; fi
line=$("$RUNNER" -c "awk 'BEGIN { s = \"x\"; while (length(s) < 67108864) s = s s; print length(s) }' | cat")
if [ "$(rss "$line")" -ge 65536 ]; then ok; else fail "runner rss of a pipeline: '$line'"; fi
line=$("$RUNNER" -- true)
if [ "$(rss "$line")" -lt 20000 ]; then ok; else fail "runner rss of true: '$line'"; fi
"$RUNNER" -i "$TMP/z.csv" -o "$TMP/copy" -- cat >/dev/null
expect_same "runner -i/-o" "$TMP/z.csv" "$TMP/copy"
expect_exit 64 "runner without a command" "$RUNNER" -n 2

# --- linecopy: output = input ---------------------------------------------------------
"$LINECOPY" -c "$TMP/z.csv" >"$TMP/copy" 2>"$TMP/lc.err"
expect_same "linecopy" "$TMP/z.csv" "$TMP/copy"
expect_grep "linecopy -c" "$TMP/lc.err" "lines=20000"
{ awk 'BEGIN { printf "%1500000s\nshort\n", "x" }'; printf 'no newline at the end'; } >"$TMP/long"
"$LINECOPY" -c <"$TMP/long" >"$TMP/copy" 2>"$TMP/lc.err"
expect_same "linecopy: a 1.5 MB line and no final LF" "$TMP/long" "$TMP/copy"
expect_grep "linecopy -c, long lines" "$TMP/lc.err" "lines=3"

# --- the Python peer: one output line per record, the numbers replaced ------------------
for f in asterisk freeswitch kamailio-json kannel; do
	python3 bench/peer.py "$f" "$KEY" "$TMP/in.$f" >"$TMP/peer" 2>"$TMP/peer.err"
	if [ $? -eq 0 ] && [ "$(wc -l <"$TMP/peer")" -eq "$(wc -l <"$TMP/in.$f")" ]; then ok; else
		fail "peer.py $f: $(wc -l <"$TMP/peer") lines for $(wc -l <"$TMP/in.$f")"
		head -3 "$TMP/peer.err" >&2
	fi
done
python3 bench/peer.py asterisk "$KEY" "$TMP/in.asterisk" | awk -F, '$2 !~ /^[0-9a-f]+$/ || length($2) != 32 { bad++ }
	END { exit bad > 0 }' && ok || fail "peer.py asterisk: column 2 is not a 128-bit hex token"

summary
