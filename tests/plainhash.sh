#!/bin/sh
# The plain-hash attack (DESIGN.md promise 3, keyed, never plain): an
# attacker with the output but not the key hashes every number of a
# numbering range with SHA-256 and looks the hashes up among the pseudonyms.
#   1. cdrmin, under a key generated for this run, pseudonymizes the 10^7
#      numbers +44 7700 0000000 .. +44 7700 9999999 (generated here by
#      tests/plainhash.c, never stored in the tree) with a phone rule;
#      every number is written, every token is well formed and distinct
#   2. SHA-256 of each number in 5 forms (+E.164, without '+', national,
#      00-international, tel: URI), in 5 encodings of the token's digest
#      (its own base32 and length, base32 of the whole hash, hex, base64,
#      base64url; compared in lower case): no match at all
#   3. the control: the same output with each token's digest replaced by a
#      plain SHA-256 of its number (each form and encoding in turn, in the
#      token's layout) matches every number, and every (form, encoding)
#      pair is found: the checker finds what it looks for
# PLAINHASH_N=N runs on the first N numbers only (a quick run; make test
# runs all 10^7).
# Usage: CDRMIN=build/cdrmin PLAINHASH=build/plainhash sh tests/plainhash.sh
cd "$(dirname "$0")/.." || exit 1
LC_ALL=C
export LC_ALL
. tests/lib.sh
: "${PLAINHASH:=build/plainhash}"
N=${PLAINHASH_N:-10000000}
PAIRS=25

# check NAME COND...: passes when the command COND succeeds.
check() {
	_n=$1
	shift
	if "$@"; then ok; else fail "$_n"; fi
}
# field FILE NAME: the value of NAME=... in the checker's report.
field() {
	tr ' ' '\n' <"$1" | sed -n "s/^$2=//p" | head -1
}
secs() {
	date +%s
}

t0=$(secs)
run $CDRMIN keygen "$TMP/attack.key"
check "a key generated for the run (exit $RC)" [ "$RC" -eq 0 ]
printf 'numbering country=44 trunk=0 international=00\nnumber phone pseudonym keep=cc\n* drop\n' >"$TMP/phone.rules"

# 1. the pseudonyms
$PLAINHASH gen -n "$N" | $CDRMIN -r "$TMP/phone.rules" -k "$TMP/attack.key" --stats \
	>"$TMP/tokens.csv" 2>"$TMP/err"
check "cdrmin over $N numbers: exit 0" [ $? -eq 0 ]
expect_grep "every number written" "$TMP/err" "stats: read=$N written=$N rejected=0 filtered=0"
t1=$(secs)
# 2. the attack
$PLAINHASH check -n "$N" <"$TMP/tokens.csv" >"$TMP/real" 2>"$TMP/real.err"
check "attack: ran ($(head -1 "$TMP/real.err"))" [ $? -eq 0 ]
check "attack: $N tokens read ($(field "$TMP/real" rows))" [ "$(field "$TMP/real" rows)" = "$N" ]
check "attack: tokens distinct ($(field "$TMP/real" duplicates) repeated)" [ "$(field "$TMP/real" duplicates)" = 0 ]
check "attack: tokens in their base32 alphabet" [ "$(field "$TMP/real" foreign-chars)" = 0 ]
check "attack: every number, form and encoding tried" [ "$(field "$TMP/real" candidates)" = "$((N * PAIRS))" ]
check "attack: candidates looked up ($(field "$TMP/real" lookups))" [ "$(field "$TMP/real" lookups)" -ge "$((N * 10))" ]
check "attack: no number matches a pseudonym ($(field "$TMP/real" matched) did)" [ "$(field "$TMP/real" matched)" = 0 ]
grep '^hits .* [1-9]' "$TMP/real" | head -5 >&2
t2=$(secs)
# 3. the control
$PLAINHASH plain -n "$N" <"$TMP/tokens.csv" >"$TMP/control.csv" 2>"$TMP/plain.err"
check "control: written ($(head -1 "$TMP/plain.err"))" [ $? -eq 0 ]
check "control: the token's layout kept" [ "$(sed -n 2p "$TMP/control.csv" | cut -c1-9)" = "$(sed -n 2p "$TMP/tokens.csv" | cut -c1-9)" ]
$PLAINHASH check -n "$N" <"$TMP/control.csv" >"$TMP/control" 2>"$TMP/control.err"
check "control: ran ($(head -1 "$TMP/control.err"))" [ $? -eq 0 ]
check "control: every number matches ($(field "$TMP/control" matched) of $N)" [ "$(field "$TMP/control" matched)" = "$N" ]
# Pair (form f, encoding e) is the digest of the rows r with r mod 25 =
# f + 5 e: N / 25 of them, one more when f + 5 e < N mod 25.
awk -v n="$N" -v p=$PAIRS '$1 == "hits" { i = k++; r = int(i / 5) + 5 * (i % 5); want = int(n / p) + (r < n % p)
		if ($4 < want) { print $2, $3, $4 " < " want; bad = 1 } }
	END { exit bad || k != p }' "$TMP/control" >"$TMP/control.short"
check "control: each form and encoding found ($(head -1 "$TMP/control.short"))" [ $? -eq 0 ]
t3=$(secs)
echo "plainhash: $N numbers: pseudonyms $((t1 - t0)) s, attack $((t2 - t1)) s, control $((t3 - t2)) s"

summary
