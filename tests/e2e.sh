#!/bin/sh
# End-to-end runs of the binary: command line, exit codes, key and rules
# checks, CSV edge cases, the leak test, determinism, I/O errors. Then the
# golden runs (tests/golden.sh). Prints "N passed, N failed".
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh

AST=rules/asterisk.rules
GEN=rules/generic.rules

# ---------------------------------------------------------------- command line
expect_exit 0 "help" $CDRMIN --help
for opt in --rules --key --output-file --output --no-header --stats --allow-rejects --cache-size --max-record --flush-ms keygen check; do
	expect_grep "help lists $opt" "$TMP/out" "$opt"
done
expect_exit 0 "version" $CDRMIN --version
expect_grep "version text" "$TMP/out" "cdrmin "
expect_exit 64 "no rules" $CDRMIN fixtures/asterisk/master.csv
expect_exit 64 "unknown option" $CDRMIN -r $AST --bogus
expect_exit 64 "bad cache size" $CDRMIN -r $AST --cache-size lots
expect_exit 64 "keygen without file" $CDRMIN keygen

# ------------------------------------------------------------------------ keys
expect_exit 0 "keygen" $CDRMIN keygen "$TMP/new.key"
if [ "$(stat -c %a "$TMP/new.key")" = 600 ]; then ok; else fail "keygen mode is $(stat -c %a "$TMP/new.key")"; fi
if [ "$(stat -c %s "$TMP/new.key")" = 32 ]; then ok; else fail "keygen length"; fi
expect_exit 77 "keygen refuses to overwrite" $CDRMIN keygen "$TMP/new.key"
expect_grep "keygen overwrite message" "$TMP/err" "refusing to overwrite"
$CDRMIN keygen "$TMP/new2.key" 2>/dev/null
expect_differ "two keygens differ" "$TMP/new.key" "$TMP/new2.key"

expect_exit 77 "no key" $CDRMIN -r $AST fixtures/asterisk/master.csv
expect_grep "no key message" "$TMP/err" "CDRMIN_KEY_FILE"
cp "$KEY" "$TMP/open.key" && chmod 644 "$TMP/open.key"
expect_exit 77 "key readable by others" $CDRMIN -r $AST -k "$TMP/open.key" fixtures/asterisk/master.csv
expect_grep "key mode message" "$TMP/err" "group or others"
chmod 620 "$TMP/open.key"
expect_exit 77 "key writable by group" $CDRMIN -r $AST -k "$TMP/open.key" fixtures/asterisk/master.csv
head -c 31 "$KEY" >"$TMP/short.key" && chmod 600 "$TMP/short.key"
expect_exit 77 "short key" $CDRMIN -r $AST -k "$TMP/short.key" fixtures/asterisk/master.csv
expect_grep "short key message" "$TMP/err" "wrong length"
mkdir -p "$TMP/dir.key" && chmod 700 "$TMP/dir.key"
expect_exit 77 "key is a directory" $CDRMIN -r $AST -k "$TMP/dir.key" fixtures/asterisk/master.csv
expect_grep "directory key message" "$TMP/err" "not a regular file"
expect_exit 77 "key missing" $CDRMIN -r $AST -k "$TMP/none.key" fixtures/asterisk/master.csv
run env CDRMIN_KEY_FILE="$KEY" $CDRMIN -r $AST fixtures/asterisk/master.csv
if [ "$RC" -eq 0 ] && cmp -s "$TMP/out" fixtures/asterisk/master.out; then ok; else fail "key from CDRMIN_KEY_FILE (exit $RC)"; fi
# Rules that need no key run without one.
printf 'columns a,b\nb time floor=day\n* drop\n' >"$TMP/nokey.rules"
printf '1,2024-01-02 03:04:05\n' >"$TMP/nokey.csv"
expect_exit 0 "no key needed" $CDRMIN -r "$TMP/nokey.rules" "$TMP/nokey.csv"
expect_grep "no key output" "$TMP/out" "2024-01-02 00:00:00"

# ----------------------------------------------------------------------- rules
# rules_error NAME "RULES TEXT" "file:line:col prefix" "message part"
rules_error() {
	printf '%b' "$2" >"$TMP/bad.rules"
	expect_exit 78 "rules: $1" $CDRMIN check "$TMP/bad.rules"
	expect_grep "rules: $1 position" "$TMP/err" "$TMP/bad.rules:$3"
	expect_grep "rules: $1 message" "$TMP/err" "$4"
	expect_exit 78 "rules: $1 (run)" $CDRMIN -r "$TMP/bad.rules" -k "$KEY" fixtures/asterisk/master.csv
}
rules_error "no default" 'columns a,b\na keep\n' "3:1:" "deny by default"
rules_error "default keep" 'columns a,b\na keep\n* keep\n' "3:3:" "drop or redact"
rules_error "unknown action" 'columns a,b\na frobnicate\n* drop\n' "2:3:" "unknown action"
rules_error "unknown field" 'columns a,b\nc keep\n* drop\n' "2:1:" "unknown field 'c'"
rules_error "kept and protected" 'columns a,b\na phone pseudonym\na keep\n* drop\n' "3:1:" "already has a rule at line 2"
rules_error "missing mode" 'columns a,b\na phone\n* drop\n' "2:" "pseudonym or truncate"
rules_error "missing parameter" 'columns a,b\na time\n* drop\n' "2:3:" "floor="
rules_error "bad parameter" 'columns a,b\na phone pseudonym keep=xx\n* drop\n' "2:" "keep="
rules_error "unknown parameter" 'columns a,b\na ip truncate v5=3\n* drop\n' "2:15:" "unexpected 'v5='"
rules_error "unkeyed hash" 'columns a,b\na sha256\n* drop\n' "2:3:" "unkeyed hash"
rules_error "short pseudonym" 'columns a,b\na pseudonym bits=64\n* drop\n' "2:" "bits="
rules_error "bad country" 'numbering country=999x\ncolumns a\n* drop\n' "1:" "country="
rules_error "epoch field" 'columns a,b\nepoch month of c\n* drop\n' "2:16:" "unknown epoch field"
rules_error "unterminated quote" 'columns a,b\na redact text="x\n* drop\n' "2:" "unterminated quote"
rules_error "no columns" 'header no\n* drop\n' "3:1:" "no columns"
rules_error "bounds" 'columns a\na bucket bounds=5,3\n* drop\n' "2:" "increasing"
expect_exit 78 "rules file missing" $CDRMIN check "$TMP/none.rules"
expect_exit 0 "check preset" $CDRMIN check $AST
expect_grep "check shows src" "$TMP/out" "phone number normalized to E.164, pseudonym (kind phone), country code kept"
expect_grep "check shows dropped" "$TMP/out" "dropped"
expect_grep "check shows output columns" "$TMP/out" "output columns (15): src,dst,dcontext,clid"
# A quoted field name may be a directive word.
printf 'columns format,b\n"format" keep\n* drop\n' >"$TMP/q.rules"
expect_exit 0 "quoted field name" $CDRMIN check "$TMP/q.rules"

# ----------------------------------------------------------------- exit codes
expect_exit 66 "missing input" $CDRMIN -r $AST -k "$KEY" "$TMP/none.csv"
expect_grep "missing input names file" "$TMP/err" "$TMP/none.csv"
expect_exit 66 "directory input" $CDRMIN -r $AST -k "$KEY" "$TMP"
if [ -w /dev/full ]; then
	expect_exit 74 "full disk" $CDRMIN -r $AST -k "$KEY" -o /dev/full fixtures/asterisk/master.csv
	expect_grep "full disk message" "$TMP/err" "write error on /dev/full"
fi
# A closed pipe is an error, not a silent death. The output (about 12 MB)
# must be far larger than the pipe (cdrmin grows it to 1 MiB) so that
# head is gone before cdrmin is done.
cp fixtures/asterisk/master.csv "$TMP/big.csv"
i=0
while [ $i -lt 12 ]; do cat "$TMP/big.csv" "$TMP/big.csv" >"$TMP/big2.csv"; mv "$TMP/big2.csv" "$TMP/big.csv"; i=$((i + 1)); done
( $CDRMIN -r $AST -k "$KEY" --allow-rejects "$TMP/big.csv" 2>"$TMP/pipe.err"; echo $? >"$TMP/pipe.rc" ) | head -n 1 >/dev/null
if [ "$(cat "$TMP/pipe.rc")" = 74 ] && grep -q "write error on stdout" "$TMP/pipe.err"; then ok; else fail "broken pipe: exit $(cat "$TMP/pipe.rc")"; fi

# ----------------------------------------------------------- CSV edge cases
printf 'columns a,b,c\na keep\nb keep\nc keep\n* drop\n' >"$TMP/abc.rules"
printf '1,"x,y",3\n4,"say ""hi""",6\n7,"multi\nline",9\n10,11,12' >"$TMP/lf.csv"
# CRLF record ends; the line break inside the quoted field is data and stays LF.
printf '1,"x,y",3\r\n4,"say ""hi""",6\r\n7,"multi\nline",9\r\n10,11,12' >"$TMP/crlf.csv"
run $CDRMIN -r "$TMP/abc.rules" "$TMP/lf.csv"; cp "$TMP/out" "$TMP/lf.out"
run $CDRMIN -r "$TMP/abc.rules" "$TMP/crlf.csv"; cp "$TMP/out" "$TMP/crlf.out"
expect_same "CRLF and LF give identical output" "$TMP/lf.out" "$TMP/crlf.out"
expect_grep "quoted comma survives" "$TMP/lf.out" '1,"x,y",3'
expect_grep "doubled quotes" "$TMP/lf.out" '4,"say ""hi""",6'
expect_grep "last line without newline" "$TMP/lf.out" '10,11,12'
if [ "$(wc -l <"$TMP/lf.out")" -eq 6 ]; then ok; else fail "newline inside quotes: $(wc -l <"$TMP/lf.out") lines"; fi
# A record of 900,000 bytes (under the default --max-record, 1 MiB) takes
# several reads (128 KiB at a time): read from a file, and from a pipe with
# one thread and two, it comes out whole, between its neighbours.
{ printf '1,2,3\n4,"'; head -c 900000 /dev/zero | tr '\0' y; printf ',z",6\n7,8,9\n'; } >"$TMP/big1.csv"
{ echo a,b,c; cat "$TMP/big1.csv"; } >"$TMP/big1.want"
run $CDRMIN -r "$TMP/abc.rules" "$TMP/big1.csv"
expect_same "a record of 900 kB, from a file" "$TMP/out" "$TMP/big1.want"
for j in 1 2; do
	cat "$TMP/big1.csv" | $CDRMIN -r "$TMP/abc.rules" -j $j >"$TMP/out" 2>"$TMP/err"
	expect_same "a record of 900 kB, from a pipe, -j $j" "$TMP/out" "$TMP/big1.want"
done
printf 'a,b,c\n1,2,3\n' >"$TMP/hdr.csv"
run $CDRMIN -r "$TMP/abc.rules" --no-header "$TMP/lf.csv"
if head -1 "$TMP/out" | grep -q '^1,'; then ok; else fail "--no-header"; fi
printf 'caf\303\251,\342\202\254,\360\237\223\236\n' >"$TMP/utf8.csv"
run $CDRMIN -r "$TMP/abc.rules" --no-header "$TMP/utf8.csv"
expect_same "UTF-8 passes untouched" "$TMP/out" "$TMP/utf8.csv"

# rejects: wrong columns, unterminated quote, NUL, too long; the run goes on.
printf '1,2,3\n1,2\n1,2,3,4\n5,6,7\n' >"$TMP/cols.csv"
run $CDRMIN -r "$TMP/abc.rules" --stats "$TMP/cols.csv"
if [ "$RC" -eq 65 ]; then ok; else fail "rejects give exit 65 (got $RC)"; fi
expect_grep "columns reject names line 2" "$TMP/err" "$TMP/cols.csv:2: record rejected (columns): wrong number of columns (2, expected 3)"
expect_grep "columns reject names line 3" "$TMP/err" "$TMP/cols.csv:3: record rejected (columns)"
expect_grep "run goes on" "$TMP/out" "5,6,7"
expect_grep "stats line" "$TMP/err" "read=4 written=2 rejected=2 filtered=0"
expect_grep "stats by reason" "$TMP/err" "columns=2"
expect_exit 0 "allow rejects" $CDRMIN -r "$TMP/abc.rules" --allow-rejects "$TMP/cols.csv"
printf '1,2,3\n4,5,6\0007\n8,9,10\n' >"$TMP/nul.csv"
run $CDRMIN -r "$TMP/abc.rules" --stats "$TMP/nul.csv"
expect_grep "NUL reject" "$TMP/err" "$TMP/nul.csv:2: record rejected (nul)"
expect_no_grep "NUL record not written" "$TMP/out" "4,5"
expect_grep "after NUL" "$TMP/out" "8,9,10"
printf '1,2,3\n4,"5,6\n' >"$TMP/quote.csv"
run $CDRMIN -r "$TMP/abc.rules" --stats "$TMP/quote.csv"
expect_grep "unterminated quote reject" "$TMP/err" "$TMP/quote.csv:2: record rejected (quote)"
printf '1,"2"x,3\n4,5,6\n' >"$TMP/after.csv"
run $CDRMIN -r "$TMP/abc.rules" --stats "$TMP/after.csv"
expect_grep "text after closing quote" "$TMP/err" "$TMP/after.csv:1: record rejected (quote)"
expect_grep "after quote reject, run goes on" "$TMP/out" "4,5,6"
{ printf '1,2,3\n4,'; head -c 3000 /dev/zero | tr '\0' 'x'; printf ',6\n7,8,9\n'; } >"$TMP/long.csv"
run $CDRMIN -r "$TMP/abc.rules" --stats --max-record 1K "$TMP/long.csv"
expect_grep "too long reject" "$TMP/err" "$TMP/long.csv:2: record rejected (too-long)"
expect_grep "after too long" "$TMP/out" "7,8,9"
expect_grep "too long counts" "$TMP/err" "read=3 written=2 rejected=1"
# Nothing of a rejected record's content is printed.
printf '1,2,3\n4,02079460999,6,7\n' >"$TMP/secret.csv"
run $CDRMIN -r "$TMP/abc.rules" "$TMP/secret.csv"
expect_no_grep "reject shows no content" "$TMP/err" "02079460999"

# value rejects and filters
printf 'columns a,b,c\na keep\nb time floor=hour\nc ip truncate\nonly a x,y\n* drop\n' >"$TMP/val.rules"
printf 'x,2024-01-01 10:20:30,192.0.2.7\ny,not-a-time,192.0.2.8\nz,2024-01-01 10:20:30,192.0.2.9\nx,2024-01-01 10:20:30,300.1.1.1\n' >"$TMP/val.csv"
run $CDRMIN -r "$TMP/val.rules" --stats "$TMP/val.csv"
expect_grep "value reject names field" "$TMP/err" "$TMP/val.csv:2: record rejected (value): field 'b'"
expect_grep "filtered counted" "$TMP/err" "read=4 written=1 rejected=2 filtered=1"
expect_grep "truncated ip" "$TMP/out" "x,2024-01-01 10:00:00,192.0.2.0"
expect_no_grep "invalid time not shown" "$TMP/err" "not-a-time"

# header mode: columns from the header line; a second file's header must match.
run $CDRMIN -r $GEN -k "$KEY" fixtures/generic/cdr.csv fixtures/generic/cdr.csv
if [ "$RC" -eq 0 ] && [ "$(grep -c '^caller,' "$TMP/out")" -eq 1 ]; then ok; else fail "two header files: one header out (exit $RC)"; fi
printf 'caller,callee,other\n1,2,3\n' >"$TMP/h2.csv"
expect_exit 78 "header lacks a named column" $CDRMIN -r $GEN -k "$KEY" "$TMP/h2.csv"
expect_grep "header mismatch message" "$TMP/err" "unknown field 'start_time'"
{ head -1 fixtures/generic/cdr.csv; printf 'x\r\ny\r\n'; } | sed 's/record_id/id/' >"$TMP/h3.csv"
run $CDRMIN -r $GEN -k "$KEY" --stats fixtures/generic/cdr.csv "$TMP/h3.csv" fixtures/generic/cdr.csv
if [ "$RC" -eq 65 ]; then ok; else fail "second header differs: exit $RC, expected 65"; fi
expect_grep "header differs: its records rejected" "$TMP/err" "$TMP/h3.csv:2: record rejected (header)"
expect_grep "header differs: the run goes on" "$TMP/err" "read=10 written=8 rejected=2 filtered=0"
# A data line is never taken for a header: rules must name a header column.
printf 'header yes\n* redact\n' >"$TMP/hy.rules"
printf '"+442079460123","02079460999"\n"+442079460124","x"\n' >"$TMP/nohdr.csv"
expect_exit 78 "header mode needs a named column" $CDRMIN -r "$TMP/hy.rules" "$TMP/nohdr.csv"
expect_no_grep "header mode: no data as names" "$TMP/out" "2079460"
# The output may not be an input: it would be truncated before it is read.
cp fixtures/asterisk/master.csv "$TMP/same.csv"
expect_exit 64 "output is an input" $CDRMIN -r $AST -k "$KEY" -o "$TMP/same.csv" "$TMP/same.csv"
expect_same "input untouched" fixtures/asterisk/master.csv "$TMP/same.csv"
# Nor the key or the rules: a lost key makes every pseudonym made under it unjoinable.
cp "$KEY" "$TMP/out.key"
expect_exit 64 "output is the key file" $CDRMIN -r $AST -k "$TMP/out.key" -o "$TMP/out.key" fixtures/asterisk/master.csv
expect_same "key untouched" "$KEY" "$TMP/out.key"
cp $AST "$TMP/out.rules"
expect_exit 64 "output is the rules file" $CDRMIN -r "$TMP/out.rules" -k "$KEY" -o "$TMP/out.rules" fixtures/asterisk/master.csv
# A phone number in a time column is no time: rejected, not floored with its digits.
printf 'columns a\na time floor=hour\n* drop\n' >"$TMP/tf.rules"
printf '02079460123\n1709296496\n' >"$TMP/tf.csv"
run $CDRMIN -r "$TMP/tf.rules" --allow-rejects --no-header "$TMP/tf.csv"
if [ "$(cat "$TMP/out")" = 1709294400 ]; then ok; else fail "number in a time column: $(cat "$TMP/out")"; fi
# A byte order mark before the header is not part of the first column's name.
printf '\357\273\277' >"$TMP/bom.csv"; cat fixtures/generic/cdr.csv >>"$TMP/bom.csv"
run $CDRMIN -r $GEN -k "$KEY" "$TMP/bom.csv"
expect_same "BOM skipped" fixtures/generic/cdr.out "$TMP/out"

# ------------------------------------------------------------- leak test
# For each preset: records with numbers in many written forms (tests/leakgen.awk),
# in number columns, caller ids, dial strings and free text, with addresses
# and e-mail addresses; no 7-digit window of any number, no address and no
# e-mail may appear in stdout or stderr. Digits of any script in the output
# are read as ASCII first, and a second search deletes every byte that is
# not an ASCII letter, digit or ',' (the CSV field separator: fields are
# not joined), so that a number left in groups ("0207 946 0123", with any
# separators, visible or not) is found too, whatever cdrmin takes for a
# separator. In the Asterisk presets, extensions (100-199) called in the
# record may not be left in its caller id or dial string (<101>,
# PJSIP/101,30, PJSIP/101&...).
leak_test() { # NAME RULES PRESET
	awk -v preset="$3" -v n=600 -v seed=7 -v digits="$TMP/digits" -v strings="$TMP/strings" \
		-f tests/leakforms.awk -f tests/leakgen.awk >"$TMP/leak.csv"
	: >>"$TMP/strings"
	run $CDRMIN -r "$2" -k "$KEY" --stats "$TMP/leak.csv"
	cat "$TMP/out" "$TMP/err" >"$TMP/leak.all"
	LC_ALL=C awk "$LEAK_ASCII" "$TMP/leak.all" >"$TMP/leak.ascii"
	LC_ALL=C awk "$LEAK_JOINED" "$TMP/leak.ascii" >"$TMP/leak.joined"
	leak_windows "$TMP/digits" "$TMP/leak.ascii" >"$TMP/leak.found"
	if [ $? -eq 0 ] && [ "$RC" -eq 0 ]; then ok; else
		fail "leak test $1 (exit $RC): $(head -3 "$TMP/leak.found")"
		grep -n "$(sed -n 's/leak: //p' "$TMP/leak.found" | head -1)" "$TMP/leak.ascii" | head -2 >&2
	fi
	if leak_windows "$TMP/digits" "$TMP/leak.joined" >"$TMP/leak.found"; then ok; else
		fail "leak test $1, separators taken out: $(head -3 "$TMP/leak.found")"
		grep -n "$(sed -n 's/leak: //p' "$TMP/leak.found" | head -1)" "$TMP/leak.joined" | head -2 >&2
	fi
	if [ -s "$TMP/strings" ] && grep -qF -f "$TMP/strings" "$TMP/leak.all"; then
		fail "leak test $1: an address or e-mail: $(grep -oF -f "$TMP/strings" "$TMP/leak.all" | head -3)"
	else ok; fi
	if LC_ALL=C grep -qE '<1[0-9][0-9]>|/1[0-9][0-9][,&]' "$TMP/leak.ascii"; then
		fail "leak test $1: an extension: $(LC_ALL=C grep -oE '<1[0-9][0-9]>|/1[0-9][0-9][,&]' "$TMP/leak.ascii" | head -3 | tr '\n' ' ')"
	else ok; fi
	case $3 in asterisk | newcdr)
		# the generator did write them: the check above is not vacuous
		if [ "$(grep -cE '<1[0-9][0-9]>' "$TMP/leak.csv")" -ge 50 ] &&
		   [ "$(grep -cE 'PJSIP/1[0-9][0-9]&' "$TMP/leak.csv")" -ge 20 ]; then ok; else
			fail "leak test $1: too few extensions in the input"
		fi ;;
	esac
	if grep -q "read=600 written=600 rejected=0" "$TMP/err"; then ok; else fail "leak test $1: every record written"; fi
	rm -f "$TMP/digits" "$TMP/strings"
}
leak_test asterisk $AST asterisk
leak_test asterisk-newcdr rules/asterisk-newcdr.rules newcdr
leak_test freeswitch rules/freeswitch.rules freeswitch
leak_test generic $GEN generic
awk -v preset=asterisk -v n=600 -v seed=7 -v digits=/dev/null -v strings=/dev/null \
	-f tests/leakforms.awk -f tests/leakgen.awk >"$TMP/leak.csv"

# ------------------------------------------------------------- determinism
run $CDRMIN -r $AST -k "$KEY" fixtures/asterisk/master.csv; cp "$TMP/out" "$TMP/d1"
run $CDRMIN -r $AST -k "$KEY" fixtures/asterisk/master.csv; cp "$TMP/out" "$TMP/d2"
expect_same "same input twice" "$TMP/d1" "$TMP/d2"
run $CDRMIN -r $AST -k "$KEY" --cache-size 0 fixtures/asterisk/master.csv
expect_same "cache off gives the same output" "$TMP/d1" "$TMP/out"
run $CDRMIN -r $AST -k "$KEY" --cache-size 2 "$TMP/leak.csv"; cp "$TMP/out" "$TMP/c2"
run $CDRMIN -r $AST -k "$KEY" --cache-size 0 "$TMP/leak.csv"
expect_same "tiny cache gives the same output" "$TMP/c2" "$TMP/out"
head -n 300 "$TMP/leak.csv" >"$TMP/part1"; tail -n +301 "$TMP/leak.csv" >"$TMP/part2"
run $CDRMIN -r $AST -k "$KEY" "$TMP/leak.csv"; cp "$TMP/out" "$TMP/whole"
run $CDRMIN -r $AST -k "$KEY" "$TMP/part1" "$TMP/part2"
expect_same "split in two files" "$TMP/whole" "$TMP/out"
cat "$TMP/part1" "$TMP/part2" | $CDRMIN -r $AST -k "$KEY" >"$TMP/piped" 2>/dev/null
expect_same "stdin gives the same" "$TMP/whole" "$TMP/piped"
run $CDRMIN -r $AST -k "$OTHER_KEY" fixtures/asterisk/master.csv
expect_differ "other key, other pseudonyms" "$TMP/d1" "$TMP/out"
# caller and callee join; formats join; epochs separate.
printf 'columns a,b,t\nnumbering country=44 trunk=0 international=00\nepoch month of t\na phone pseudonym\nb phone pseudonym\nt keep\n* drop\n' >"$TMP/join.rules"
printf '"+44 20 7946 0123",02079460123,2024-03-01 10:00:00\n00442079460123,"+44-20-7946-0123",2024-03-31 23:59:59\n+442079460123,x,2024-04-01 00:00:00\n' >"$TMP/join.csv"
run $CDRMIN -r "$TMP/join.rules" -k "$KEY" --no-header "$TMP/join.csv"
a1=$(sed -n 1p "$TMP/out" | cut -d, -f1); b1=$(sed -n 1p "$TMP/out" | cut -d, -f2)
a2=$(sed -n 2p "$TMP/out" | cut -d, -f1); b2=$(sed -n 2p "$TMP/out" | cut -d, -f2)
a3=$(sed -n 3p "$TMP/out" | cut -d, -f1)
if [ -n "$a1" ] && [ "$a1" = "$b1" ] && [ "$a1" = "$a2" ] && [ "$a1" = "$b2" ]; then ok; else fail "formats and columns join ($a1 $b1 $a2 $b2)"; fi
if [ -n "$a3" ] && [ "$a3" != "$a1" ]; then ok; else fail "another month, another pseudonym"; fi
printf 'columns a,b\na phone pseudonym\nb pseudonym kind=imsi\n* drop\n' >"$TMP/kind.rules"
printf '262011234567890,262011234567890\n' >"$TMP/kind.csv"
run $CDRMIN -r "$TMP/kind.rules" -k "$KEY" --no-header "$TMP/kind.csv"
if [ "$(cut -d, -f1 "$TMP/out" | cut -d. -f2)" != "$(cut -d, -f2 "$TMP/out" | cut -d. -f2)" ]; then ok; else fail "phone and imsi domains"; fi

# ------------------------------------------------------------- mobile CDRs
# rules/mobile.rules: the leak test over MSISDNs, IMSIs, IMEIs, cell ids, UE
# addresses, exact coordinates and geohashes; places leave no finer than the
# preset says; IMSI and phone domains apart; subscribers join with Asterisk.
MOB=rules/mobile.rules
leak_test mobile $MOB mobile
# $TMP/out holds the leak run's output: every place at 2 decimals, and no
# geohash (the same position on a second grid would narrow the first).
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; if ("geohash" in col) { print "geohash column"; exit 1 } next }
	NF != 23 || $col["latitude"] !~ /^-?[0-9]+\.[0-9][0-9]$/ || $col["longitude"] !~ /^-?[0-9]+\.[0-9][0-9]$/ {
		print "line " NR ": " $col["latitude"] "," $col["longitude"]; exit 1 }
	END { if (NR != 601) { print NR " lines"; exit 1 } }' "$TMP/out" >"$TMP/places"
if [ $? -eq 0 ]; then ok; else fail "mobile: places coarser than configured: $(cat "$TMP/places")"; fi
# The same digits as an MSISDN and as an IMSI: unrelated tokens.
{ head -1 fixtures/mobile/cdr.csv
	echo "r1,MOC,2024-03-01T09:15:02+00:00,2024-03-01T09:17:44+00:00,162,234991000000123,,,234991000000123,,234,99,4012,20481,51.507351,-0.127758,gcpvj0dup40,,,,,LONMSC01,,,TS11"
} >"$TMP/same-digits.csv"
run $CDRMIN -r $MOB -k "$KEY" --no-header "$TMP/same-digits.csv"
ph=$(cut -d, -f6 "$TMP/out"); im=$(cut -d, -f9 "$TMP/out")
if [ "$RC" -eq 0 ] && [ -n "${ph#*/}" ] && [ -n "$im" ] && [ "${ph#*/}" != "$im" ]; then ok; else
	fail "mobile: MSISDN and IMSI of the same digits ($ph, $im, exit $RC)"; fi
# One subscriber in a fixed and a mobile CDR, one month, one key: one token.
# Asterisk line 7 is "07700 900456" calling "020-7946-0123" on 2024-03-01; mobile
# line 6 is the same call from the handset's network: 447700900456 dialing 02079460123.
run $CDRMIN -r $AST -k "$KEY" fixtures/asterisk/master.csv; cp "$TMP/out" "$TMP/ast.out"
run $CDRMIN -r $MOB -k "$KEY" fixtures/mobile/cdr.csv; cp "$TMP/out" "$TMP/mob.out"
a_mob=$(sed -n 7p "$TMP/ast.out" | cut -d, -f1); m_mob=$(sed -n 6p "$TMP/mob.out" | cut -d, -f6)
a_fix=$(sed -n 7p "$TMP/ast.out" | cut -d, -f2); m_fix=$(sed -n 6p "$TMP/mob.out" | cut -d, -f7)
if [ -n "$a_mob" ] && [ "$a_mob" = "$m_mob" ] && [ "${a_mob%%/*}" = "+44" ]; then ok; else
	fail "mobile: subscriber joins with asterisk ($a_mob, $m_mob)"; fi
if [ -n "$a_fix" ] && [ "$a_fix" = "$m_fix" ]; then ok; else
	fail "mobile: dialed number joins with asterisk ($a_fix, $m_fix)"; fi
# Epochs are UTC months: 2024-04-01T00:30:00+01:00 (line 13) is still March.
if [ "$(sed -n 13p "$TMP/mob.out" | cut -d, -f6)" = "$m_mob" ]; then ok; else fail "mobile: epoch in UTC"; fi
# Under another key the subscriber's token differs.
run $CDRMIN -r $MOB -k "$OTHER_KEY" fixtures/mobile/cdr.csv
if [ "$(sed -n 6p "$TMP/out" | cut -d, -f6)" != "$m_mob" ]; then ok; else fail "mobile: other key, other token"; fi

# ------------------------------------------------------- live pipe, signals
# tests/trickle.c feeds records one at a time through a pipe and measures when
# each comes out: each must be out before the next is sent, within the bound.
: "${TRICKLE:=build/trickle}"
printf 'columns a,b,t\na keep\nt time floor=hour\n* drop\n' >"$TMP/live.rules"
BOUND=100
case "$CDRMIN" in *valgrind*) BOUND=3000 ;; esac
live() { # NAME EXPECTED-STATUS TRICKLE-OPTIONS... (cdrmin options after --)
	_n=$1 _x=$2
	shift 2
	"$TRICKLE" -b $BOUND -x "$_x" "$@" >"$TMP/live.out" 2>"$TMP/live.err" </dev/null
	if [ $? -eq 0 ]; then ok; else
		fail "live pipe: $_n: $(cat "$TMP/live.out")"
		sed 's/^/  | /' "$TMP/live.err" | head -5 >&2
	fi
}
live "one record at a time" 0 -n 20 -p 50 -- $CDRMIN -r "$TMP/live.rules" --stats
expect_grep "live pipe: all counted" "$TMP/live.err" "read=20 written=20 rejected=0"
live "a steady stream" 0 -n 300 -i 2 -- $CDRMIN -r "$TMP/live.rules"
live "--flush-ms 0" 0 -n 10 -p 20 -- $CDRMIN -r "$TMP/live.rules" --flush-ms 0
live "--flush-ms 1000" 0 -n 10 -p 20 -- $CDRMIN -r "$TMP/live.rules" --flush-ms 1000
live "SIGTERM" 0 -n 8 -p 20 -s -- $CDRMIN -r "$TMP/live.rules"
expect_grep "SIGTERM: stopped" "$TMP/live.err" "cdrmin: stopped by SIGTERM"
expect_grep "SIGTERM: summary" "$TMP/live.err" "read=8 written=8 rejected=0 filtered=0"
live "SIGINT" 0 -n 5 -p 20 -s -k 2 -- $CDRMIN -r "$TMP/live.rules"
expect_grep "SIGINT: summary" "$TMP/live.err" "read=5 written=5 rejected=0 filtered=0"
live "SIGTERM in a record" 65 -n 4 -p 20 -s -c -- $CDRMIN -r "$TMP/live.rules"
expect_grep "cut record rejected" "$TMP/live.err" "stdin:5: record rejected (truncated)"
expect_grep "cut record counted" "$TMP/live.err" "read=5 written=4 rejected=1 filtered=0"
expect_exit 64 "--flush-ms checked" $CDRMIN -r "$TMP/live.rules" --flush-ms soon
# Input that is never idle (blank lines keep coming): only the --flush-ms timer
# writes the record, within its bound, and a longer bound does hold it back.
live "input never idle" 0 -n 5 -p 10 -f -b $((BOUND * 3)) -- $CDRMIN -r "$TMP/live.rules" --flush-ms 100
"$TRICKLE" -n 2 -p 10 -f -b 500 -- $CDRMIN -r "$TMP/live.rules" --flush-ms 1000 >"$TMP/live.out" 2>&1 </dev/null
# The first record is held back; the second too unless a loaded machine
# delayed the trickle's second send by about the bound itself.
if grep -q "0 missing" "$TMP/live.out" && grep -qE "[12] over 500 ms" "$TMP/live.out"; then ok; else
	fail "--flush-ms 1000 holds records back: $(head -1 "$TMP/live.out")"; fi
# Records are decoded one ahead of the record being filtered, whose memo
# entries are asked for early (README *Design*); output and rejects still
# come in input order. --flush-ms 0 writes each record at once; stdout and
# stderr go to one file; a blank line and two rejects in between. CSV and
# JSON lines (one decoder storage each, two of them in turn).
printf 'columns a,b,c\na keep\nb keep\nc keep\n* drop\n' >"$TMP/order-csv.rules"
printf '1,2,3\n4,5\n6,7,8\n\n10,11,12\n13,"1"4,15\n16,17,18\n' >"$TMP/order.csv"
printf 'format jsonl\na keep\nb keep\nc keep\n* drop\n' >"$TMP/order-jsonl.rules"
{
	printf '{"a":"1","b":"2","c":"3"}\n{"a":"4",\n{"a":"6","b":"7","c":"8"}\n\n'
	printf '{"a":"10","b":"11","c":"12"}\n{"a":"13"}x\n{"a":"16","b":"17","c":"18"}\n'
} >"$TMP/order.jsonl"
for fmt in csv jsonl; do
	[ $fmt = csv ] && why1=columns why2=quote || why1=json why2=json
	cat >"$TMP/order.want" <<EOF_ORDER
a,b,c
1,2,3
cdrmin: SRC:2: record rejected ($why1)
6,7,8
10,11,12
cdrmin: SRC:6: record rejected ($why2)
16,17,18
cdrmin: 2 records rejected (exit 65; --allow-rejects to accept)
EOF_ORDER
	for src in file stdin; do
		if [ $src = file ]; then
			$CDRMIN -r "$TMP/order-$fmt.rules" --flush-ms 0 "$TMP/order.$fmt" >"$TMP/order.out" 2>&1 </dev/null
		else
			$CDRMIN -r "$TMP/order-$fmt.rules" --flush-ms 0 <"$TMP/order.$fmt" >"$TMP/order.out" 2>&1
		fi
		sed -e "s|$TMP/order.$fmt|SRC|; s|stdin|SRC|" \
			-e 's/^\(cdrmin: SRC:[0-9]*: record rejected ([a-z]*)\).*/\1/' \
			-e '/^==[0-9]*==/d' "$TMP/order.out" >"$TMP/order.got"
		expect_same "records and rejects in input order ($fmt, $src)" "$TMP/order.want" "$TMP/order.got"
	done
done
# A stop during a bulk run: every record read is written and counted, exit 0.
awk -v n=200000 -v seed=3 -f bench/gen-asterisk.awk >"$TMP/bulk.csv"
$CDRMIN -r $AST -k "$KEY" --stats "$TMP/bulk.csv" >"$TMP/bulk.out" 2>"$TMP/bulk.err" </dev/null &
pid=$!
# Signal once output has started (the handlers are in place by then; under
# valgrind start-up alone takes longer than any fixed delay).
i=0
while [ ! -s "$TMP/bulk.out" ] && [ $i -lt 600 ] && kill -0 $pid 2>/dev/null; do
	sleep 0.05
	i=$((i + 1))
done
kill -TERM $pid 2>/dev/null
wait $pid
rc=$?
r=$(sed -n 's/.* read=\([0-9]*\) written=\([0-9]*\) rejected=0 .*/\1 \2/p' "$TMP/bulk.err")
lines=$(grep -vc '^src,' "$TMP/bulk.out")
if [ "$rc" -eq 0 ] && [ -n "$r" ] && [ "${r% *}" = "${r#* }" ] && [ "${r#* }" = "$lines" ]; then ok; else
	fail "stop during a bulk run: exit $rc, read/written $r, $lines lines out"; fi
# A stop while waiting to open a FIFO that has no writer: the files before it
# count, nothing after it is opened, exit 0.
mkfifo "$TMP/fifo"
$CDRMIN -r $AST -k "$KEY" --stats fixtures/asterisk/master.csv "$TMP/fifo" fixtures/asterisk/master.csv \
	>"$TMP/ff.out" 2>"$TMP/ff.err" </dev/null &
pid=$!
# time to read the first file and block in the FIFO's open (far longer under valgrind)
case "$CDRMIN" in *valgrind*) sleep 8 ;; *) sleep 0.5 ;; esac
kill -TERM $pid 2>/dev/null
wait $pid
rc=$?
if [ "$rc" -eq 0 ] && grep -q "read=10 written=10 rejected=0" "$TMP/ff.err"; then ok; else
	fail "stop while opening a FIFO: exit $rc: $(grep stats: "$TMP/ff.err" | head -1)"; fi
# Output blocked on a reader that never reads: the first signal cannot finish
# (the records are not out), a second one ends the process.
mkfifo "$TMP/ofifo"
sleep 30 <"$TMP/ofifo" &
reader=$!
$CDRMIN -r $AST -k "$KEY" -o "$TMP/ofifo" "$TMP/bulk.csv" 2>/dev/null </dev/null &
pid=$!
sleep 0.5
kill -TERM $pid 2>/dev/null
sleep 0.3
kill -TERM $pid 2>/dev/null
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $pid 2>/dev/null; then fail "a second signal ends a blocked run"; kill -KILL $pid; else ok; fi
wait $pid 2>/dev/null
kill $reader 2>/dev/null
wait $reader 2>/dev/null

# ------------------------------------------------------------- golden runs
sh tests/golden.sh >"$TMP/golden.log" 2>&1
gp=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$TMP/golden.log")
gf=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$TMP/golden.log")
grep FAIL "$TMP/golden.log" >&2
[ -n "$gf" ] || { echo "FAIL: tests/golden.sh printed no summary:" >&2; tail -5 "$TMP/golden.log" >&2; }
PASS=$((PASS + ${gp:-0}))
FAIL=$((FAIL + ${gf:-1}))

summary
