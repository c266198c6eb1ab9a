#!/bin/sh
# The throughput harness behind `make bench` (see README, *Benchmark*).
#
# Generates each case's input with bench/gen (BENCH_MB MiB, seed BENCH_SEED,
# kept in BENCH_DIR and reused while the generator and the arguments are the
# same), checks that cdrmin reads every record of it with zero rejects, then
# runs cdrmin, the baselines (cat, linecopy) and the peers (Miller, Python,
# awk, tshark) BENCH_RUNS times each under bench/runner, and writes
# BENCH_OUT/results.md and BENCH_OUT/throughput.png.
#
# Environment (the Makefile sets them): CDRMIN GEN RUNNER LINECOPY BENCH_MB
# BENCH_RUNS BENCH_JOBS BENCH_SEED BENCH_DIR BENCH_OUT.
set -eu

: "${CDRMIN:=build/cdrmin}" "${GEN:=build/bench-bin/gen}" "${RUNNER:=build/bench-bin/runner}"
: "${LINECOPY:=build/bench-bin/linecopy}" "${BENCH_MB:=1024}" "${BENCH_RUNS:=3}"
: "${BENCH_JOBS:=1 2}" "${BENCH_SEED:=1}" "${BENCH_DIR:=build/bench-data}" "${BENCH_OUT:=bench}"

CASES="asterisk freeswitch kamailio-json kannel sip"
SMALL_MB=$((BENCH_MB / 10))
[ "$SMALL_MB" -ge 1 ] || SMALL_MB=1
TSV="$BENCH_DIR/results.tsv"
PAIRS="$BENCH_DIR/pairs.tsv"
KEY="$BENCH_DIR/bench.key"
AWK=$(command -v awk)
AWK_NAME=$(basename "$(readlink -f "$AWK")")

mkdir -p "$BENCH_DIR" "$BENCH_OUT"
[ -f "$KEY" ] || "$CDRMIN" keygen "$KEY" >/dev/null 2>&1
: >"$TSV"
: >"$PAIRS"

say() { echo "bench: $*" >&2; }

rules_of() {
	case $1 in
	kamailio-json) echo rules/kamailio-acc-json.rules ;;
	*) echo "rules/$1.rules" ;;
	esac
}

# input CASE SIZE: the path of a generated file of SIZE ("20M" for -s 20M,
# "n3000" for -n 3000); generates it when missing or when the generator is
# newer (its .meta holds gen's summary line).
input() {
	_ext=log
	case $1 in asterisk | freeswitch) _ext=csv ;; kamailio-json) _ext=jsonl ;; sip) _ext=pcap ;; esac
	_f="$BENCH_DIR/$1-$2-seed$BENCH_SEED.$_ext"
	case $2 in n*) _size="-n ${2#n}" ;; *) _size="-s $2" ;; esac
	if [ ! -f "$_f" ] || [ ! -f "$_f.meta" ] || [ -n "$(find "$GEN" -newer "$_f")" ]; then
		say "generating $_f"
		# shellcheck disable=SC2086
		"$GEN" "$1" $_size --seed "$BENCH_SEED" -o "$_f" 2>"$_f.meta" || {
			cat "$_f.meta" >&2
			exit 1
		}
	fi
	echo "$_f"
}

meta() { sed -n "s/.* $2=\\([0-9]*\\).*/\\1/p" "$1.meta"; }

# cdrmin_cmd CASE FILE [OPTIONS]: the cdrmin command line for a case.
cdrmin_cmd() {
	_c=$1 _f=$2
	shift 2
	if [ "$_c" = sip ]; then
		echo "$CDRMIN -r $(rules_of "$_c") -k $KEY $* --pcap $_f"
	else
		echo "$CDRMIN -r $(rules_of "$_c") -k $KEY $* $_f"
	fi
}

# check CASE FILE: cdrmin reads every generated record, rejects none; prints
# the cache hit rate.
check() {
	_out="$BENCH_DIR/check.err"
	# shellcheck disable=SC2046,SC2091
	if ! $(cdrmin_cmd "$1" "$2" --stats) >/dev/null 2>"$_out"; then
		say "cdrmin failed on $2:"
		head -5 "$_out" >&2
		exit 1
	fi
	_n=$(meta "$2" records)
	_read=$(sed -n 's/.* read=\([0-9]*\).*/\1/p' "$_out")
	_written=$(sed -n 's/.* written=\([0-9]*\).*/\1/p' "$_out")
	_rejected=$(sed -n 's/.* rejected=\([0-9]*\) .*/\1/p' "$_out" | head -1)
	if [ "$_read" != "$_n" ] || [ "$_written" != "$_n" ] || [ "$_rejected" != 0 ]; then
		say "$2: generated $_n records, cdrmin read $_read, wrote $_written, rejected $_rejected"
		exit 1
	fi
	sed -n 's/.* hit-rate=\([0-9.]*%\).*/\1/p' "$_out"
}

# row LABEL GROUP RUNNER-ARGS...: one program on the file $F of case $C.
# MODE=check: one run (on a small file) whose output is checked: a line per
# record (cdrmin: and its header line), or for a copy of a pcap its bytes;
# a peer that loses records is not timed. MODE=time: BENCH_RUNS runs, one
# row of the table.
row() {
	_label=$1 _group=$2
	shift 2
	if [ "$MODE" = check ]; then
		if ! _line=$("$RUNNER" -o "$BENCH_DIR/check.out" "$@"); then
			say "$C: $_label failed on $F ($_line)"
			exit 1
		fi
		_n=$(meta "$F" records)
		case $C:$_group in
		sip:baseline) _want="$(meta "$F" bytes) bytes" _got="$(wc -c <"$BENCH_DIR/check.out") bytes" ;;
		*:cdrmin) _want="$((_n + 1)) lines" _got="$(wc -l <"$BENCH_DIR/check.out") lines" ;;
		*) _want="$_n lines" _got="$(wc -l <"$BENCH_DIR/check.out") lines" ;;
		esac
		if [ "$_got" != "$_want" ]; then
			say "$C: $_label wrote $_got for $F, expected $_want"
			exit 1
		fi
		return 0
	fi
	say "$C: $_label"
	if ! _line=$("$RUNNER" -n "$BENCH_RUNS" "$@"); then
		say "$C: $_label failed ($_line)"
		exit 1
	fi
	_s=$(echo "$_line" | sed 's/.*median_s=\([0-9.]*\).*/\1/')
	_rss=$(echo "$_line" | sed 's/.*maxrss_kb=\([0-9]*\).*/\1/')
	_min=$(echo "$_line" | sed 's/.*min_s=\([0-9.]*\).*/\1/')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$C" "$_label" "$_group" "$(meta "$F" records)" \
		"$(meta "$F" bytes)" "$_s" "$_rss" "$_min" >>"$TSV"
}

# secs CMD...: one run of the cdrmin command CMD under the runner, its wall time.
secs() {
	if ! _line=$("$RUNNER" -n 1 -- "$@"); then
		say "$C: $* failed ($_line)"
		exit 1
	fi
	echo "$_line" | sed 's/.*median_s=\([0-9.]*\).*/\1/'
}

# pairs: for each thread count J above 1, BENCH_RUNS pairs of runs on $F,
# -j 1 then -j J, back to back. A pair's two runs see the same load, so the
# ratio of each pair is a fairer speed-up than the ratio of two medians
# taken minutes apart on a busy machine (which the table rows are).
pairs() {
	for j in $JOBS; do
		[ "$j" -gt 1 ] || continue
		say "$C: -j 1 and -j $j in $BENCH_RUNS pairs"
		_k=0
		while [ "$_k" -lt "$BENCH_RUNS" ]; do
			# shellcheck disable=SC2046
			_a=$(secs $(cdrmin_cmd "$C" "$F" -j 1))
			# shellcheck disable=SC2046
			_b=$(secs $(cdrmin_cmd "$C" "$F" -j "$j"))
			printf '%s\t%s\t%s\t%s\n' "$C" "$j" "$_a" "$_b" >>"$PAIRS"
			_k=$((_k + 1))
		done
	done
}

# programs: the rows of case $C on file $F.
programs() {
	# shellcheck disable=SC2046
	row cdrmin cdrmin -- $(cdrmin_cmd "$C" "$F")
	if [ "$C" != kannel ]; then
		for j in $JOBS; do
			# shellcheck disable=SC2046
			row "cdrmin -j $j" cdrmin -- $(cdrmin_cmd "$C" "$F" -j "$j")
		done
	fi
	row "cat | cdrmin | cat" cdrmin -c "cat '$F' | $(cdrmin_cmd "$C" -) | cat"
	row cat baseline -i "$F" -- cat
	row "cat | cat | cat" baseline -c "cat '$F' | cat | cat"
	case $C in
	asterisk | freeswitch)
		row linecopy baseline -- "$LINECOPY" "$F"
		row "mlr sha256" peer -- mlr --icsv --ocsv --implicit-csv-header \
			--headerless-csv-output put '$2 = sha256($2); $3 = sha256($3)' "$F"
		row "python peer.py" peer -- python3 bench/peer.py "$C" "$KEY" "$F"
		row "$AWK_NAME truncate" peer -- "$AWK" -F, -v OFS=, \
			'{ $2 = substr($2, 1, 6) "\""; $3 = substr($3, 1, 6) "\""; print }' "$F"
		;;
	kamailio-json)
		row linecopy baseline -- "$LINECOPY" "$F"
		# Miller 6.6's --prepipe loses lines (read |0: file already closed): sed in front.
		row "sed | mlr sha256" peer -c "sed 's/^[^{]*//' '$F' | mlr --ijsonl --ojsonl put \
'\$src_user = sha256(\$src_user); \$dst_ouser = sha256(\$dst_ouser); \$dst_user = sha256(\$dst_user)'"
		row "python peer.py" peer -- python3 bench/peer.py "$C" "$KEY" "$F"
		row "$AWK_NAME truncate" peer -- "$AWK" -F'"' -v OFS='"' \
			'{ for (i = 2; i < NF; i++) if ($i == "src_user" || $i == "dst_ouser" || $i == "dst_user") $(i + 2) = substr($(i + 2), 1, 5); print }' "$F"
		;;
	kannel)
		row linecopy baseline -- "$LINECOPY" "$F"
		row "mlr sha256" peer -- mlr --inidx --ifs ' ' --onidx --ofs ' ' \
			put '$11 = sha256($11); $12 = sha256($12)' "$F"
		row "python peer.py" peer -- python3 bench/peer.py "$C" "$KEY" "$F"
		row "$AWK_NAME truncate" peer -- "$AWK" \
			'{ for (i = 5; i <= NF; i++) if ($i ~ /^\[(from|to):/) $i = substr($i, 1, 10) "]"; print }' "$F"
		;;
	sip)
		row "tshark -T fields" peer -- tshark -n -r "$F" -T fields -E separator=, \
			-e frame.time_epoch -e ip.src -e ip.dst -e sip.Method -e sip.Status-Code \
			-e sip.r-uri.user -e sip.from.user -e sip.to.user -e sip.contact.user -e sip.pai.user \
			-e sip.Call-ID -e sdp.connection_info.address -e sdp.media.port
		;;
	esac
}

if "$CDRMIN" --help 2>&1 | grep -Eq -- '(^|[ ,])(-j|--jobs)([ ,=]|$)'; then
	JOBS=$BENCH_JOBS
	JOBS_NOTE="thread counts: -j $(echo "$BENCH_JOBS" | sed 's/ /, -j /g') on the CSV, JSON and SIP cases"
else
	JOBS=
	JOBS_NOTE="thread counts: skipped, this cdrmin has no -j (its --help lists none)"
fi
say "$JOBS_NOTE"

# Every program's output is checked on a small file first, then timed.
for C in $CASES; do
	F=$(input "$C" n2000)
	MODE="check"
	programs
done
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
HITS=""
for C in $CASES; do
	F=$(input "$C" "${BENCH_MB}M")
	say "$C: $(cat "$F.meta")"
	HITS="$HITS $C=$(check "$C" "$F")"
	MODE="time"
	programs
	[ "$C" = kannel ] || pairs
done

# Peak RSS as the input grows tenfold: the Asterisk case at BENCH_MB / 10.
C=asterisk-small F=$(input asterisk "${SMALL_MB}M")
check asterisk "$F" >/dev/null
# shellcheck disable=SC2046
row cdrmin cdrmin -- $(cdrmin_cmd asterisk "$F")

# Archives: the Asterisk file compressed (gzip -6, zstd -3), read by cdrmin
# as they are (its main thread decompresses: README *Threads*), beside the
# decompressor alone. Records and MB are of the decompressed data.
A=$(input asterisk "${BENCH_MB}M")
for z in gz zst; do
	F="$A.$z"
	if [ ! -f "$F" ] || [ "$A" -nt "$F" ]; then
		say "compressing $F"
		case $z in
		gz) gzip -6 -c "$A" >"$F.tmp" ;;
		zst) zstd -q -3 -c "$A" >"$F.tmp" ;;
		esac
		mv "$F.tmp" "$F"
	fi
	cp "$A.meta" "$F.meta"
	C="asterisk.$z"
	check asterisk "$F" >/dev/null
	MODE="time"
	# shellcheck disable=SC2046
	row cdrmin cdrmin -- $(cdrmin_cmd asterisk "$F")
	for j in $JOBS; do
		# shellcheck disable=SC2046
		row "cdrmin -j $j" cdrmin -- $(cdrmin_cmd asterisk "$F" -j "$j")
	done
	case $z in
	gz) row "zcat" baseline -- zcat "$F" ;;
	zst) row "zstdcat" baseline -- zstdcat "$F" ;;
	esac
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- results.md ---------------------------------------------------------------
MD="$BENCH_OUT/results.md"
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src include ':(exclude)src/*.1' 2>/dev/null || COMMIT="$COMMIT (with uncommitted changes in src/ or include/)"
{
	echo "# cdrmin throughput"
	echo
	echo "Written by \`make bench\` (bench/bench.sh); generated inputs of $BENCH_MB MiB per case (seed $BENCH_SEED),"
	echo "median of $BENCH_RUNS runs, warm page cache, output to /dev/null."
	echo
	echo "| machine | |"
	echo "| --- | --- |"
	echo "| CPUs (nproc) | $(nproc) |"
	echo "| CPU | $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1) |"
	echo "| kernel | $(uname -sr) |"
	echo "| compiler | $(${CC:-cc} --version 2>/dev/null | head -1) |"
	echo "| date | $(date -u '+%Y-%m-%d %H:%M UTC') |"
	echo "| commit | $COMMIT |"
	echo "| cdrmin | $("$CDRMIN" --version 2>&1 | head -1) |"
	echo "| load average before, after | $LOAD_BEFORE; $LOAD_AFTER |"
	echo "| peers | $(mlr --version 2>/dev/null | head -1); Python $(python3 -c 'import sys; print(sys.version.split()[0])'); $("$AWK" -W version 2>/dev/null | head -1 || echo "$AWK_NAME"); $(tshark --version 2>/dev/null | head -1) |"
	echo
	echo "$JOBS_NOTE."
	echo
	echo "Rates are of the median time; best is the fastest run (the least disturbed by other load)."
	echo "Time vs cdrmin: the row's median time over cdrmin's on the same file (below 1: faster)."
	echo "MB are 10^6 bytes of input. Peak RSS of a pipeline is its largest process."
	echo "cdrmin's pseudonym cache hit rates:$HITS."
} >"$MD"
"$AWK" -F'\t' '
function fmt(x) { return x >= 100 ? sprintf("%.0f", x) : x >= 10 ? sprintf("%.1f", x) : sprintf("%.2f", x) }
function group(n,   s, t) {
	s = sprintf("%d", n); t = ""
	while (length(s) > 3) { t = "," substr(s, length(s) - 2) t; s = substr(s, 1, length(s) - 3) }
	return s t
}
function cell(s) { gsub(/\|/, "\\|", s); return s }
$1 != "asterisk-small" {
	c = $1; if (!(c in seen)) { seen[c] = 1; order[++n] = c }
	rows[c] = rows[c] "\n" $0
	if ($2 == "cdrmin") base[c] = $6
	if ($2 == "cat | cdrmin | cat") pipe[c] = $6
}
END {
	for (i = 1; i <= n; i++) {
		c = order[i]
		split(substr(rows[c], 2), r, "\n")
		split(r[1], f0, "\t")
		printf "\n## %s: %s records, %.1f MB\n\n", c, group(f0[4]), f0[5] / 1e6
		print "| program | median s | best s | records/s | MB/s | ns/record | peak RSS MB | time vs cdrmin |"
		print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		for (k = 1; k in r; k++) {
			split(r[k], f, "\t")
			t = f[6] > 0 ? f[6] : 1e-6
			printf "| %s | %.3f | %.3f | %s | %s | %.0f | %.1f | %s |\n", cell(f[2]), f[6], f[8], group(int(f[4] / t)),
				fmt(f[5] / 1e6 / t), t * 1e9 / f[4], f[7] / 1024, (c in base) ? fmt(f[6] / base[c]) : ""
		}
	}
	print "\n## Pipes and memory\n"
	print "| case | file s | `cat \\| cdrmin \\| cat` s | pipe / file |"
	print "| --- | ---: | ---: | ---: |"
	for (i = 1; i <= n; i++) {
		c = order[i]
		if ((c in base) && (c in pipe))
			printf "| %s | %.3f | %.3f | %.2f |\n", c, base[c], pipe[c], pipe[c] / base[c]
	}
}' "$TSV" >>"$MD"
"$AWK" -F'\t' -v big="$BENCH_MB" -v small="$SMALL_MB" '
$2 == "cdrmin" && $1 == "asterisk" { b = $7; bs = $5; bt = $6; br = $4 }
$2 == "cdrmin" && $1 == "asterisk-small" { s = $7; ss = $5; st = $6; sr = $4 }
END {
	printf "\nPeak RSS of cdrmin as the input grows tenfold (the Asterisk case, %s and %s MiB asked):\n\n", small, big
	print "| input | records | median s | records/s | peak RSS MB |"
	print "| ---: | ---: | ---: | ---: | ---: |"
	printf "| %.1f MB | %d | %.3f | %.0f | %.1f |\n", ss / 1e6, sr, st, sr / (st > 0 ? st : 1e-6), s / 1024
	printf "| %.1f MB | %d | %.3f | %.0f | %.1f |\n", bs / 1e6, br, bt, br / (bt > 0 ? bt : 1e-6), b / 1024
	printf "\nPeak RSS ratio %.2f for %.1f times the input.\n", b / s, bs / ss
}' "$TSV" >>"$MD"
"$AWK" -F'\t' '
function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	k = $1 SUBSEP $2
	if (!(k in n)) order[++nk] = k
	i = ++n[k]
	one[k, i] = $3; many[k, i] = $4; ratio[k, i] = $4 > 0 ? $3 / $4 : 0
}
END {
	if (!nk) exit
	print "\n## Threads, in pairs\n"
	print "Each pair runs `-j 1` then `-j N` on the same file, back to back; the speed-up is the median of the"
	print "pairs'"'"' ratios (a pair'"'"'s two runs see the same load), the range its lowest and highest.\n"
	print "| case | N | pairs | `-j 1` median s | `-j N` median s | speed-up, median of pairs | range |"
	print "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	for (q = 1; q <= nk; q++) {
		k = order[q]; split(k, kk, SUBSEP); m = n[k]
		for (i = 1; i <= m; i++) { a[i] = one[k, i]; b[i] = many[k, i]; r[i] = ratio[k, i] }
		lo = hi = r[1]
		for (i = 2; i <= m; i++) { if (r[i] < lo) lo = r[i]; if (r[i] > hi) hi = r[i] }
		printf "| %s | %s | %d | %.3f | %.3f | %.2fx | %.2fx to %.2fx |\n", kk[1], kk[2], m, median(a, m),
			median(b, m), median(r, m), lo, hi
	}
}' "$PAIRS" >>"$MD"
say "wrote $MD"

# --- throughput.png ---------------------------------------------------------------
# One cluster per case, one bar per program (records/s, log scale); a program
# that does not run on a case has no bar there.
# Peers are named by tool (Miller with or without sed in front is one series).
DAT="$BENCH_DIR/plot.dat"
"$AWK" -F'\t' '
$1 != "asterisk-small" {
	p = $2
	if (p ~ /mlr/) p = "Miller (sha256)"
	else if (p ~ /python/) p = "Python (blake2b)"
	else if (p ~ /truncate/) p = "awk (truncate)"
	else if (p ~ /tshark/) p = "tshark (fields)"
	if (!($1 in cs)) { cs[$1] = 1; corder[++nc] = $1 }
	if (!(p in ps)) { ps[p] = 1; porder[++np] = p }
	v[$1, p] = $4 / ($6 > 0 ? $6 : 1e-6)
}
END {
	# cdrmin in purples, the baselines in greys, each peer its own colour
	split("#4a148c #7b1fa2 #9c27b0 #ba68c8 #ce93d8 #e1bee7", purple, " "); split("#424242 #757575 #9e9e9e #e0e0e0", grey, " ")
	peer["Miller (sha256)"] = "#1e88e5"; peer["Python (blake2b)"] = "#43a047"
	peer["awk (truncate)"] = "#fb8c00"; peer["tshark (fields)"] = "#e53935"
	for (j = 1; j <= np; j++) {
		p = porder[j]
		col = (p in peer) ? peer[p] : (p ~ /cdrmin/) ? purple[npu++ % 6 + 1] : grey[ngr++ % 4 + 1]
		printf("%s%s", (j > 1 ? " " : ""), col) > colors
	}
	printf "\n" >colors
	printf "case"
	for (j = 1; j <= np; j++) printf "\t\"%s\"", porder[j]
	printf "\n"
	for (i = 1; i <= nc; i++) {
		printf "%s", corder[i]
		for (j = 1; j <= np; j++) printf "\t%s", ((corder[i], porder[j]) in v) ? sprintf("%.0f", v[corder[i], porder[j]]) : "-"
		printf "\n"
	}
}' colors="$DAT.colors" "$TSV" >"$DAT"
NCOL=$(head -1 "$DAT" | "$AWK" -F'\t' '{ print NF }')
gnuplot <<EOF
set terminal pngcairo size 1400,700 font "sans,10"
set output "$BENCH_OUT/throughput.png"
set title "cdrmin throughput beside baselines and peers ($BENCH_MB MiB per case, median of $BENCH_RUNS, $(nproc) CPUs)"
set datafile separator "\t"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [1e3:*]
set ylabel "records/s (log scale)"
set grid ytics
set key outside right top
colors = "$(cat "$DAT.colors")"
plot for [i=2:$NCOL] "$DAT" using i:xtic(1) title columnheader(i) lc rgb word(colors, i - 1)
EOF
say "wrote $BENCH_OUT/throughput.png"
