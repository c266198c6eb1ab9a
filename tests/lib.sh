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
