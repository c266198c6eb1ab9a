# Shared harness of the shell tests: counters, a temp dir, the test key.
# CDRMIN may hold a wrapper command (valgrind ...) followed by the binary.
: "${CDRMIN:=build/cdrmin}"
PASS=0
FAIL=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cdrmin-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
KEY="$TMP/test.key"
OTHER_KEY="$TMP/other.key"
cp fixtures/keys/test.key "$KEY" && chmod 600 "$KEY"
cp fixtures/keys/other.key "$OTHER_KEY" && chmod 600 "$OTHER_KEY"
unset CDRMIN_KEY_FILE

ok() { PASS=$((PASS + 1)); }
fail() {
	FAIL=$((FAIL + 1))
	echo "FAIL: $*" >&2
}

# install_missing PKG...: installs the Debian packages not installed yet
# (apt-get, through sudo when not root), so that a suite also runs alone on
# a fresh machine. Returns non-zero when the installation fails.
install_missing() {
	_missing=""
	for _pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$_pkg" 2>/dev/null | grep -q 'ok installed' ||
			_missing="$_missing $_pkg"
	done
	[ -n "$_missing" ] || return 0
	_sudo=""
	[ "$(id -u)" -eq 0 ] || _sudo=sudo
	echo "installing:$_missing" >&2
	# shellcheck disable=SC2086
	$_sudo apt-get update -qq >&2 &&
		DEBIAN_FRONTEND=noninteractive $_sudo apt-get install -y -qq --no-install-recommends \
			$_missing >/dev/null
}

# The leak searches' filters (tests/e2e.sh, formats.sh, store.sh): LEAK_ASCII
# writes every script's digits in ASCII: every decimal digit of Unicode 15.1
# (category Nd, blocks of ten from the zeros below), the subscripts
# U+2080..U+2089 and the superscripts; LEAK_JOINED takes out every byte but
# ASCII letters, digits and ','.
LEAK_ASCII='function hex(h,   i, v) {
		for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
		return v }
	function utf8(c) {
		if (c < 2048) return sprintf("%c%c", 192 + int(c / 64), 128 + c % 64)
		if (c < 65536) return sprintf("%c%c%c", 224 + int(c / 4096), 128 + int(c / 64) % 64, 128 + c % 64)
		return sprintf("%c%c%c%c", 240 + int(c / 262144), 128 + int(c / 4096) % 64, 128 + int(c / 64) % 64, 128 + c % 64) }
	BEGIN {
		nz = split("0660 06f0 07c0 0966 09e6 0a66 0ae6 0b66 0be6 0c66 0ce6 0d66 0de6 0e50 0ed0 0f20 " \
			"1040 1090 17e0 1810 1946 19d0 1a80 1a90 1b50 1bb0 1c40 1c50 2080 a620 a8d0 a900 a9d0 " \
			"a9f0 aa50 abf0 ff10 104a0 10d30 11066 110f0 11136 111d0 112f0 11450 114d0 11650 116c0 " \
			"11730 118e0 11950 11c50 11d50 11da0 11f50 16a60 16ac0 16b50 1d7ce 1d7d8 1d7e2 1d7ec " \
			"1d7f6 1e140 1e2f0 1e4f0 1e950 1fbf0", z, " ")
		for (i = 1; i <= nz; i++) for (d = 0; d < 10; d++) asc[utf8(hex(z[i]) + d)] = d
		split("2070 00b9 00b2 00b3 2074 2075 2076 2077 2078 2079", z, " ")
		for (d = 0; d < 10; d++) asc[utf8(hex(z[d + 1]))] = d }
	{ out = ""; s = $0
	  while (match(s, /[\300-\367][\200-\277]+/)) {
		c = substr(s, RSTART, RLENGTH)
		out = out substr(s, 1, RSTART - 1) (c in asc ? asc[c] : c)
		s = substr(s, RSTART + RLENGTH) }
	  print out s }'
LEAK_JOINED='{ gsub(/[^A-Za-z0-9,]/, ""); print }'

# leak_windows SECRETS FILE: "leak: WINDOW" for the first 7-digit window of a secret in FILE.
leak_windows() {
	awk 'NR == FNR { for (i = 1; i + 6 <= length($0); i++) win[substr($0, i, 7)] = 1; next }
		{ s = $0; while (match(s, /[0-9][0-9][0-9][0-9][0-9][0-9][0-9]+/)) {
			r = substr(s, RSTART, RLENGTH)
			for (i = 1; i + 6 <= length(r); i++) if (substr(r, i, 7) in win) { print "leak: " substr(r, i, 7); exit 1 }
			s = substr(s, RSTART + RLENGTH) } }' "$1" "$2"
}

# check NAME CMD...: passes when CMD succeeds.
check() {
	_n=$1
	shift
	if "$@"; then ok; else fail "$_n"; fi
}

# run CMD...: runs with stdout in $TMP/out, stderr in $TMP/err, status in $RC.
run() {
	"$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	RC=$?
}

# expect_exit CODE NAME CMD...
expect_exit() {
	_want=$1 _name=$2
	shift 2
	run "$@"
	if [ "$RC" -eq "$_want" ]; then
		ok
	else
		fail "$_name: exit $RC, expected $_want"
		sed 's/^/  | /' "$TMP/err" | head -5 >&2
	fi
}

# expect_grep NAME FILE PATTERN: the file holds a line matching the fixed string.
expect_grep() {
	if grep -qF -- "$3" "$2"; then ok; else
		fail "$1: '$3' not found in $(basename "$2")"
		sed 's/^/  | /' "$2" | head -5 >&2
	fi
}

# expect_no_grep NAME FILE PATTERN
expect_no_grep() {
	if grep -qF -- "$3" "$2"; then
		fail "$1: '$3' found in $(basename "$2")"
	else ok; fi
}

# expect_same NAME FILE1 FILE2: byte-identical.
expect_same() {
	if cmp -s "$2" "$3"; then ok; else
		fail "$1: $2 and $3 differ"
		diff "$2" "$3" | head -10 | sed 's/^/  | /' >&2
	fi
}

# expect_differ NAME FILE1 FILE2
expect_differ() {
	if cmp -s "$2" "$3"; then fail "$1: $2 and $3 are identical"; else ok; fi
}

# stat_value NAME: a counter from --stats output in $TMP/err ("read=12").
stat_value() {
	sed -n "s/.* $1=\\([0-9]*\\).*/\\1/p" "$TMP/err" | head -1
}

summary() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
