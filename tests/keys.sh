#!/bin/sh
# End-to-end runs of key rotation and key memory:
#   1. a key schedule (-k OLD -k NEW@2027-01-01, month epochs): the key id of
#      each token changes exactly at the boundary (also for a time with an
#      offset that is still December in UTC), the rows before it are those of
#      a run with OLD alone, the rows after it those of a run with NEW alone,
#      Crypto-PAn addresses too; the order of the -k options does not matter;
#   2. refusals: a date off the epoch boundary, no undated key, two undated
#      keys, a schedule under rules without an epoch, one key twice, a bad
#      date, a group-readable key; `check` shows the schedule or the error;
#   3. the retained store: `store find` takes a token of either key (its key
#      id picks the key) and refuses one of a key it was not given; `store
#      export` under the schedule finds the subscriber on both sides;
#   4. a running cdrmin holding keys (stdin held open): core file size 0 in
#      /proc/PID/limits, and not dumpable (its /proc/PID files belong to
#      root although it runs as another user; a control process of that
#      user shows its own uid).
# Prints "keys: N passed, M failed"; exits non-zero on a failure.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh

AST=rules/asterisk.rules
OLD="$KEY"
NEW="$OTHER_KEY"

# kid KEYFILE: the key's id, as `check` prints it.
kid() {
	$CDRMIN check $AST -k "$1" 2>/dev/null | sed -n 's/^  \([a-z2-7]\{4\}\)  .*  every record$/\1/p'
}
OLD_ID=$(kid "$OLD")
NEW_ID=$(kid "$NEW")
if [ ${#OLD_ID} -eq 4 ] && [ ${#NEW_ID} -eq 4 ] && [ "$OLD_ID" != "$NEW_ID" ]; then ok; else
	fail "key ids from check: '$OLD_ID' '$NEW_ID'"
fi

# ------------------------------------------------------------ 1. the switch
# Asterisk Master.csv rows around 2027-01-01 00:00 UTC; the 5th starts at
# 00:30 in UTC+01:00, which is 2026-12-31 23:30 UTC: still the old key's month.
row() { # start src dst
	printf '"","%s","%s","from-internal","""A"" <%s>","PJSIP/a-1","PJSIP/b-2","Dial","PJSIP/%s","%s","","%s",10,0,"ANSWERED","DOCUMENTATION","1.1",""\n' \
		"$2" "$3" "$2" "$3" "$1" "$1"
}
{
	row "2026-12-01 00:00:00" 02079460101 07700900101
	row "2026-12-31 23:59:59" 02079460102 07700900102
	row "2027-01-01 00:00:00" 02079460102 07700900102
	row "2027-01-31 23:59:59" 02079460103 07700900103
	row "2027-01-01 00:30:00+01:00" 02079460104 07700900104
	row "2027-02-01 00:00:00" 02079460105 07700900105
} >"$TMP/in.csv"
# before[i] = 1 when row i is in a month before 2027-01
BEFORE="1 1 0 0 1 0"

expect_exit 0 "run with the schedule" $CDRMIN -r $AST -k "$OLD" -k "$NEW@2027-01-01" --no-header "$TMP/in.csv"
cp "$TMP/out" "$TMP/sched.csv"
expect_exit 0 "run with the old key" $CDRMIN -r $AST -k "$OLD" --no-header "$TMP/in.csv"
cp "$TMP/out" "$TMP/old.csv"
expect_exit 0 "run with the new key" $CDRMIN -r $AST -k "$NEW" --no-header "$TMP/in.csv"
cp "$TMP/out" "$TMP/new.csv"
expect_exit 0 "options in the other order" $CDRMIN -r $AST -k "$NEW@2027-01-01" -k "$OLD" --no-header "$TMP/in.csv"
expect_same "-k order does not matter" "$TMP/sched.csv" "$TMP/out"

i=0
for b in $BEFORE; do
	i=$((i + 1))
	s=$(sed -n "${i}p" "$TMP/sched.csv")
	o=$(sed -n "${i}p" "$TMP/old.csv")
	n=$(sed -n "${i}p" "$TMP/new.csv")
	# the src token's key id: "+44/KID.DIGEST" at the start of the row
	id=$(printf '%s\n' "$s" | sed -n 's/^+44\/\([a-z2-7]\{4\}\)\..*/\1/p')
	if [ "$b" = 1 ]; then want_id=$OLD_ID want_row=$o; else want_id=$NEW_ID want_row=$n; fi
	if [ "$id" = "$want_id" ]; then ok; else fail "row $i: key id '$id', expected $want_id"; fi
	if [ "$s" = "$want_row" ]; then ok; else
		fail "row $i differs from the single-key run"
		printf '  | %s\n  | %s\n' "$s" "$want_row" >&2
	fi
	# no token of the other key in the row
	if [ "$b" = 1 ]; then other=$NEW_ID; else other=$OLD_ID; fi
	case $s in *"$other."*) fail "row $i holds a token of the other key";; *) ok;; esac
done
# the same number on both sides of the switch: unrelated tokens (rows 2 and 3)
t2=$(sed -n 2p "$TMP/sched.csv" | cut -d, -f1)
t3=$(sed -n 3p "$TMP/sched.csv" | cut -d, -f1)
if [ -n "$t2" ] && [ "$t2" != "$t3" ]; then ok; else fail "same number across the switch: '$t2' '$t3'"; fi

# Crypto-PAn per epoch follows the schedule: ip prefix, day epochs, switch on 2027-01-02.
cat >"$TMP/ip.rules" <<'EOF'
format csv
columns t,ip,n
header no
epoch day of t
t  time floor=day
ip ip prefix
n  pseudonym
*  drop
EOF
printf '%s\n' "2027-01-01T23:59:59Z,192.0.2.10,a" "2027-01-02T00:00:00Z,192.0.2.10,a" \
	"2027-01-02T00:00:00Z,2001:db8::10,b" >"$TMP/ip.csv"
expect_exit 0 "ip prefix with the schedule" $CDRMIN -r "$TMP/ip.rules" -k "$OLD" -k "$NEW@2027-01-02" --no-header "$TMP/ip.csv"
cp "$TMP/out" "$TMP/ip.sched"
$CDRMIN -r "$TMP/ip.rules" -k "$OLD" --no-header "$TMP/ip.csv" >"$TMP/ip.old" 2>/dev/null
$CDRMIN -r "$TMP/ip.rules" -k "$NEW" --no-header "$TMP/ip.csv" >"$TMP/ip.new" 2>/dev/null
{ sed -n 1p "$TMP/ip.old"; sed -n '2,3p' "$TMP/ip.new"; } >"$TMP/ip.want"
expect_same "Crypto-PAn and tokens per day follow the schedule" "$TMP/ip.want" "$TMP/ip.sched"
expect_differ "the two keys give other addresses" "$TMP/ip.old" "$TMP/ip.new"

# ------------------------------------------------------------- 2. refusals
expect_exit 64 "date off the month boundary" $CDRMIN -r $AST -k "$OLD" -k "$NEW@2027-01-15" "$TMP/in.csv"
expect_grep "boundary message" "$TMP/err" "is not the first day of one"
expect_grep "boundary message names the next start" "$TMP/err" "schedule the key at 2027-02-01"
if [ ! -s "$TMP/out" ]; then ok; else fail "a refused schedule wrote output"; fi
expect_exit 64 "no undated key" $CDRMIN -r $AST -k "$NEW@2027-01-01" "$TMP/in.csv"
expect_grep "no undated key message" "$TMP/err" "no key serves the records before 2027-01-01"
expect_exit 64 "two undated keys" $CDRMIN -r $AST -k "$OLD" -k "$NEW" "$TMP/in.csv"
expect_grep "two undated keys message" "$TMP/err" "a second key without a date"
expect_exit 64 "bad date" $CDRMIN -r $AST -k "$OLD" -k "$NEW@2027-02-30" "$TMP/in.csv"
expect_grep "bad date message" "$TMP/err" "is not a date YYYY-MM-DD"
expect_exit 77 "one key twice" $CDRMIN -r $AST -k "$OLD" -k "$OLD@2027-01-01" "$TMP/in.csv"
expect_grep "one key twice message" "$TMP/err" "key id $OLD_ID is already the id of"
cp "$NEW" "$TMP/loose.key"
chmod 640 "$TMP/loose.key"
expect_exit 77 "group-readable new key" $CDRMIN -r $AST -k "$OLD" -k "$TMP/loose.key@2027-01-01" "$TMP/in.csv"
expect_grep "group-readable message" "$TMP/err" "readable or writable by group or others"
printf 'format csv\ncolumns a,b\nheader no\na phone pseudonym\n* drop\n' >"$TMP/noepoch.rules"
printf '+442079460101,x\n' >"$TMP/noepoch.csv"
expect_exit 64 "rotation without an epoch" $CDRMIN -r "$TMP/noepoch.rules" -k "$OLD" -k "$NEW@2027-01-01" "$TMP/noepoch.csv"
expect_grep "rotation without an epoch message" "$TMP/err" "the rules have no epoch"
expect_exit 0 "one key without an epoch" $CDRMIN -r "$TMP/noepoch.rules" -k "$OLD" "$TMP/noepoch.csv"
expect_grep "no-epoch token has the key id" "$TMP/out" "$OLD_ID."

expect_exit 0 "check shows the schedule" $CDRMIN check $AST -k "$OLD" -k "$NEW@2027-01-01"
expect_grep "check: old key line" "$TMP/out" "  $OLD_ID  $OLD  records before 2027-01-01 (until 2026-12-31)"
expect_grep "check: new key line" "$TMP/out" "  $NEW_ID  $NEW  from 2027-01-01 on"
expect_grep "check: the rule" "$TMP/out" "a record takes the key in effect on the first day of its month (of field 'start')"
$CDRMIN keygen "$TMP/third.key" 2>/dev/null
expect_exit 0 "check with three keys" $CDRMIN check $AST -k "$TMP/third.key@2027-06-01" -k "$OLD" -k "$NEW@2027-01-01"
expect_grep "check: middle key" "$TMP/out" "  $NEW_ID  $NEW  from 2027-01-01 until 2027-05-31"
expect_exit 64 "check refuses a date off the boundary" $CDRMIN check $AST -k "$OLD" -k "$NEW@2027-01-02"
expect_grep "check boundary message" "$TMP/err" "is not the first day of one"
expect_exit 64 "check refuses the same date twice" $CDRMIN check $AST -k "$OLD" -k "$NEW@2027-01-01" -k "$TMP/third.key@2027-01-01"

# ------------------------------------------------ 3. the store under rotation
SKEY="$TMP/store.key"
$CDRMIN keygen "$SKEY" 2>/dev/null
cp $AST "$TMP/ret.rules" # it says where records go (retain-records)
expect_exit 0 "run with the schedule and --retain" $CDRMIN -r "$TMP/ret.rules" -k "$OLD" -k "$NEW@2027-01-01" \
	--retain "$TMP/st" --store-key "$SKEY" --no-header "$TMP/in.csv"
expect_same "the store does not change the output" "$TMP/sched.csv" "$TMP/out"
TOK_OLD=$(sed -n 1p "$TMP/sched.csv" | cut -d, -f1)
TOK_NEW=$(sed -n 6p "$TMP/sched.csv" | cut -d, -f1)
expect_exit 0 "find a token of the old key" $CDRMIN store find "$TMP/st" "$TOK_OLD" --store-key "$SKEY" -k "$OLD" -k "$NEW@2027-01-01"
expect_grep "find old: the record" "$TMP/out" "02079460101"
if [ "$(wc -l <"$TMP/out")" -eq 1 ]; then ok; else fail "find old: $(wc -l <"$TMP/out") records"; fi
expect_exit 0 "find a token of the new key" $CDRMIN store find "$TMP/st" "$TOK_NEW" --store-key "$SKEY" -k "$OLD" -k "$NEW@2027-01-01"
expect_grep "find new: the record" "$TMP/out" "02079460105"
if [ "$(wc -l <"$TMP/out")" -eq 1 ]; then ok; else fail "find new: $(wc -l <"$TMP/out") records"; fi
expect_exit 64 "find refuses a token of a key it was not given" $CDRMIN store find "$TMP/st" "$TOK_NEW" --store-key "$SKEY" -k "$OLD"
expect_grep "find refusal names the ids" "$TMP/err" "not a token of this key (key id $OLD_ID)"
# 02079460102 is in rows 2 (December) and 3 (January): export finds both under the schedule
expect_exit 0 "export across the switch" $CDRMIN store export "$TMP/st" --number 02079460102 -r "$TMP/ret.rules" \
	--store-key "$SKEY" -k "$OLD" -k "$NEW@2027-01-01"
if [ "$(grep -c 02079460102 "$TMP/out")" -eq 2 ]; then ok; else fail "export: $(grep -c 02079460102 "$TMP/out") records, expected 2"; fi
expect_exit 0 "export with the old key alone" $CDRMIN store export "$TMP/st" --number 02079460102 -r "$TMP/ret.rules" \
	--store-key "$SKEY" -k "$OLD"
if [ "$(grep -c 02079460102 "$TMP/out")" -eq 1 ]; then ok; else fail "export old key alone: $(grep -c 02079460102 "$TMP/out") records, expected 1 (December)"; fi
expect_no_grep "audit log holds no original" "$TMP/st/audit.log" "2079460102"

# ------------------------------------------- 4. a running cdrmin holding keys
# A fifo keeps stdin open, so the process stays up with its keys loaded.
# Run as an unprivileged user when we are root, so that the ownership of
# /proc/PID shows dumpability (a non-dumpable process's files belong to root).
RUNAS=""
if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null; then
		RUNAS="setpriv --reuid=65534 --regid=65534 --clear-groups --"
		ME=65534
	else
		echo "keys: setpriv missing: cannot check dumpability as root" >&2
		fail "setpriv (util-linux) is needed to run the process check as another user"
	fi
else
	ME=$(id -u)
fi
LIVE="$TMP/live"
mkdir "$LIVE"
cp "$OLD" "$LIVE/old.key"
cp "$NEW" "$LIVE/new.key"
cp $AST "$LIVE/ast.rules"
chmod 600 "$LIVE/old.key" "$LIVE/new.key"
chmod 755 "$LIVE" "$TMP"
[ "$(id -u)" = 0 ] && chown 65534:65534 "$LIVE" "$LIVE/old.key" "$LIVE/new.key"
mkfifo "$LIVE/in"
# wait_for FILE PATTERN: up to 10 s for the file to hold the pattern
wait_for() {
	_n=0
	while [ $_n -lt 100 ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		_n=$((_n + 1))
	done
	return 1
}
$RUNAS $CDRMIN -r "$LIVE/ast.rules" -k "$LIVE/old.key" -k "$LIVE/new.key@2027-01-01" --flush-ms 0 \
	--no-header <"$LIVE/in" >"$LIVE/out" 2>"$LIVE/err" &
PID=$!
exec 3>"$LIVE/in"
row "2027-01-01 00:00:00" 02079460102 07700900102 >&3
# the record came out: the keys are loaded and the process waits for more input
if wait_for "$LIVE/out" "$NEW_ID\."; then ok; else fail "live run: no output"; sed 's/^/  | /' "$LIVE/err" >&2; fi
if grep -Eq '^Max core file size +0 +0 ' /proc/$PID/limits; then ok; else
	fail "live run: core file size is not 0"
	grep 'core' /proc/$PID/limits | sed 's/^/  | /' >&2
fi
if [ "$(stat -c %u /proc/$PID/status)" = 0 ]; then ok; else
	fail "live run: /proc/$PID/status belongs to uid $(stat -c %u /proc/$PID/status): the process is dumpable"
fi
# control: a process of the same user that did not switch dumping off
$RUNAS sleep 30 &
CTL=$!
# (between its setuid and its exec, setpriv itself is not dumpable: wait for sleep)
_n=0
while [ $_n -lt 100 ] && [ "$(stat -c %u /proc/$CTL/status)" != "$ME" ]; do
	sleep 0.1
	_n=$((_n + 1))
done
if [ "$(stat -c %u /proc/$CTL/status)" = "$ME" ]; then ok; else
	fail "control: /proc/$CTL/status belongs to uid $(stat -c %u /proc/$CTL/status), expected $ME"
fi
kill $CTL 2>/dev/null
wait $CTL 2>/dev/null
exec 3>&-
wait $PID
RC=$?
if [ "$RC" -eq 0 ]; then ok; else fail "live run: exit $RC"; sed 's/^/  | /' "$LIVE/err" >&2; fi

printf 'keys: '
summary
