#!/bin/sh
# End-to-end test with a real CDR producer: Kamailio (Debian `kamailio`, 5.6)
# proxies calls that SIPp (Debian `sip-tester`) makes, and logs them with the
# acc module configured as in the stock Debian kamailio.cfg. Kamailio's own
# log is then piped through cdrmin with rules/kamailio-acc.rules.
#
# Everything runs on 127.0.0.1 (UDP), as the current user, under a temp dir:
#   SIPp UAC --INVITE--> Kamailio --t_relay--> SIPp UAS "ok"   (200, BYE)
#                                 --t_relay--> SIPp UAS "busy" (486)
#                                 --t_reply 404 (unknown callee)
# The calls are the lines of tests/kamailio/calls.csv (synthetic Ofcom drama
# numbers, one number in several formats, one number both caller and
# callee). Checks: every call has its ACC line(s) with the right code in
# Kamailio's log; cdrmin writes one record per ACC line, with no number, user
# part, tag, Call-ID or 127.0.0.1 left, one token per number across formats
# and columns, one token per Call-ID.
#
# Usage: sh tests/kamailio.sh   (CDRMIN=build/cdrmin by default, as in
# tests/lib.sh). Installs kamailio and sip-tester when missing (apt-get, sudo
# when not root). KAMAILIO_SAVE_LOG=FILE keeps a copy of Kamailio's log.
# VERBOSE=1 prints a line about the calls. Prints "kamailio: N passed, N failed".
cd "$(dirname "$0")/.." || exit 1
LC_ALL=C
export LC_ALL
. tests/lib.sh

KDIR=tests/kamailio
RULES=rules/kamailio-acc.rules
CALLS=$KDIR/calls.csv
T0=$(date +%s)

# ------------------------------------------------------------ processes
# Every process this script starts is recorded here and stopped by PID.
PIDS=""    # running
STARTED="" # all, for the final check
KAM_PID=""
KAM_CHILDREN=""

alive() { kill -0 "$1" 2>/dev/null; }

# children_of PID: the PIDs of PID's child processes.
children_of() {
	for _st in /proc/[0-9]*/stat; do
		_line=$(cat "$_st" 2>/dev/null) || continue
		# the fields after "(comm) ": state ppid ...
		_rest=${_line##*") "}
		_ppid=$(echo "$_rest" | cut -d' ' -f2)
		if [ "$_ppid" = "$1" ]; then
			_p=${_st#/proc/}
			echo "${_p%/stat}"
		fi
	done
}

# stop_all: SIGTERM to everything started, bounded wait, SIGKILL what is left.
stop_all() {
	if [ -n "$KAM_PID" ] && alive "$KAM_PID"; then
		KAM_CHILDREN="$KAM_CHILDREN $(children_of "$KAM_PID")"
	fi
	for _p in $PIDS; do kill -TERM "$_p" 2>/dev/null; done
	_i=0
	while [ $_i -lt 100 ]; do
		_left=""
		for _p in $PIDS $KAM_CHILDREN; do alive "$_p" && _left="$_left $_p"; done
		[ -z "$_left" ] && break
		sleep 0.1
		_i=$((_i + 1))
	done
	for _p in $PIDS $KAM_CHILDREN; do
		if alive "$_p"; then
			echo "kamailio.sh: $_p did not stop on SIGTERM, killing it" >&2
			kill -KILL "$_p" 2>/dev/null
		fi
	done
	for _p in $PIDS; do wait "$_p" 2>/dev/null; done
	PIDS=""
}

trap 'stop_all; rm -rf "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------- dependencies
install_missing kamailio sip-tester || { fail "could not install kamailio, sip-tester"; summary; exit 1; }
KAMAILIO=$(command -v kamailio || echo /usr/sbin/kamailio)
SIPP=$(command -v sipp || echo /usr/bin/sipp)
[ -x "$KAMAILIO" ] && [ -x "$SIPP" ] || { fail "kamailio or sipp not found"; summary; exit 1; }

# The module directory: the one the binary was built with (kamailio -h shows
# it as the -L default), else wherever the package put tm.so.
MODDIR=$("$KAMAILIO" -h 2>&1 | sed -n 's/.*Modules search path (default: \(.*\))$/\1/p' | head -1)
if [ ! -f "$MODDIR/tm.so" ]; then
	MODDIR=$(dpkg -L kamailio 2>/dev/null | sed -n 's,/tm\.so$,,p' | head -1)
fi
[ -f "$MODDIR/tm.so" ] || { fail "kamailio module directory not found"; summary; exit 1; }

# ----------------------------------------------------------------- ports
# bound_by PID PORT: PID holds a UDP socket bound to 127.0.0.1:PORT.
bound_by() {
	_hp=$(printf '%04X' "$2")
	for _ino in $(awk -v a="0100007F:$_hp" -v b="7F000001:$_hp" \
		'FNR > 1 && ($2 == a || $2 == b) { print $10 }' /proc/net/udp); do
		ls -l "/proc/$1/fd" 2>/dev/null | grep -qF "socket:[$_ino]" && return 0
	done
	return 1
}

# port_free PORT: no UDP socket (any address, v4 or v6) uses PORT.
port_free() {
	_hp=$(printf ':%04X' "$1")
	for _f in /proc/net/udp /proc/net/udp6; do
		[ -r "$_f" ] || continue
		awk -v h="$_hp" 'FNR > 1 && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' "$_f" && return 1
	done
	return 0
}

# Candidate ports: below the Linux ephemeral range, from a per-run offset.
NEXT_PORT=$((20000 + ($$ + T0) % 1000 * 10))
next_port() {
	while :; do
		NEXT_PORT=$((NEXT_PORT + 1))
		[ $NEXT_PORT -gt 32000 ] && NEXT_PORT=20001
		port_free $NEXT_PORT && return 0
	done
}

# start NAME FUNCTION: runs "FUNCTION PORT" (which starts one process in the
# background) on free ports until the process holds its port; sets
# START_PORT and START_PID. Gives up after 5 ports.
start() {
	_try=0
	while [ $_try -lt 5 ]; do
		_try=$((_try + 1))
		next_port
		"$2" $NEXT_PORT
		START_PID=$!
		START_PORT=$NEXT_PORT
		PIDS="$PIDS $START_PID"
		STARTED="$STARTED $START_PID"
		_i=0
		while [ $_i -lt 50 ] && alive $START_PID && ! bound_by $START_PID $START_PORT; do
			sleep 0.1
			_i=$((_i + 1))
		done
		if alive $START_PID && bound_by $START_PID $START_PORT; then
			return 0
		fi
		echo "kamailio.sh: $1 did not start on port $START_PORT, trying another" >&2
		kill -TERM $START_PID 2>/dev/null
		wait $START_PID 2>/dev/null
		PIDS=$(echo "$PIDS" | sed "s/ $START_PID\$//")
	done
	return 1
}

# ------------------------------------------------------------- processes
run_uas_ok() {
	"$SIPP" -sf $KDIR/uas-ok.xml -i 127.0.0.1 -mi 127.0.0.1 -ci 127.0.0.1 -p "$1" -nostdin \
		-trace_err -error_file "$TMP/uas-ok.errors" </dev/null >"$TMP/uas-ok.out" 2>&1 &
}
run_uas_busy() {
	"$SIPP" -sf $KDIR/uas-busy.xml -i 127.0.0.1 -mi 127.0.0.1 -ci 127.0.0.1 -p "$1" -nostdin \
		-trace_err -error_file "$TMP/uas-busy.errors" </dev/null >"$TMP/uas-busy.out" 2>&1 &
}
run_kamailio() {
	mkdir -p "$TMP/run"
	"$KAMAILIO" -f $KDIR/kamailio.cfg -L "$MODDIR" -DD -E \
		-l "udp:127.0.0.1:$1" -Y "$TMP/run" -P "$TMP/run/kamailio.pid" -w "$TMP/run" \
		-m 16 -M 4 \
		-A "UAS_OK=\"sip:127.0.0.1:$OK_PORT\"" -A "UAS_BUSY=\"sip:127.0.0.1:$BUSY_PORT\"" \
		</dev/null >"$TMP/kamailio.out" 2>"$TMP/kamailio.log" &
}

if ! start "SIPp UAS (ok)" run_uas_ok; then
	fail "SIPp UAS (ok) did not start"; sed 's/^/  | /' "$TMP/uas-ok.out" | tail -5 >&2; summary; exit 1
fi
OK_PORT=$START_PORT
if ! start "SIPp UAS (busy)" run_uas_busy; then
	fail "SIPp UAS (busy) did not start"; sed 's/^/  | /' "$TMP/uas-busy.out" | tail -5 >&2; summary; exit 1
fi
BUSY_PORT=$START_PORT
if ! start "Kamailio" run_kamailio; then
	fail "Kamailio did not start"; sed 's/^/  | /' "$TMP/kamailio.log" | tail -5 >&2; summary; exit 1
fi
KAM_PORT=$START_PORT
KAM_PID=$START_PID

# ------------------------------------------------------------------ calls
# The expected outcome of each line of calls.csv, by the routing table of
# kamailio.cfg: caller;callee;code.
awk -F';' 'NR > 1 && NF >= 2 {
	code = "404"
	if ($2 ~ /^(\+44|0044|0)(20794600[0-9][0-9]|7700900[0-9][0-9][0-9])$/) code = "200"
	else if ($2 ~ /^(\+44|0044|0)20794601[0-9][0-9]$/) code = "486"
	print $1 ";" $2 ";" code
}' $CALLS >"$TMP/expected"
NCALLS=$(wc -l <"$TMP/expected")
N200=$(grep -c ';200$' "$TMP/expected")
N486=$(grep -c ';486$' "$TMP/expected")
N404=$(grep -c ';404$' "$TMP/expected")
NACC=$((NCALLS + N200)) # an INVITE line per call, a BYE line per answered call

# The UAC: one call per line, 5 calls/s, at most 20 s; each call logs
# "caller;callee;code" (-trace_logs).
"$SIPP" 127.0.0.1:$KAM_PORT -sf $KDIR/uac.xml -inf $CALLS -i 127.0.0.1 -mi 127.0.0.1 -ci 127.0.0.1 \
	-m "$NCALLS" -r 5 -l 5 -timeout 20s -timeout_error -nostdin \
	-trace_err -error_file "$TMP/uac.errors" -trace_logs -log_file "$TMP/uac.calls" \
	</dev/null >"$TMP/uac.out" 2>&1 &
UAC_PID=$!
PIDS="$PIDS $UAC_PID"
STARTED="$STARTED $UAC_PID"
i=0
while alive $UAC_PID && [ $i -lt 250 ]; do sleep 0.1; i=$((i + 1)); done
if alive $UAC_PID; then
	fail "SIPp UAC still running after 25 s"
	kill -TERM $UAC_PID
fi
wait $UAC_PID
UAC_RC=$?
PIDS=$(echo "$PIDS" | sed "s/ $UAC_PID\$//")
if [ $UAC_RC -eq 0 ]; then ok; else
	fail "SIPp UAC exit $UAC_RC"
	sed 's/^/  | /' "$TMP/uac.errors" 2>/dev/null | head -10 >&2
fi

# Wait (at most 15 s) for Kamailio to log the accounting of every call.
i=0
while [ "$(grep -c 'ACC: ' "$TMP/kamailio.log")" -lt $NACC ] && [ $i -lt 150 ]; do
	sleep 0.1
	i=$((i + 1))
done

# Stop everything, then check that nothing is left.
stop_all
left=""
for p in $STARTED $KAM_CHILDREN; do alive "$p" && left="$left $p"; done
if [ -z "$left" ]; then ok; else fail "processes left:$left"; fi
[ -n "$KAMAILIO_SAVE_LOG" ] && cp "$TMP/kamailio.log" "$KAMAILIO_SAVE_LOG"

# ------------------------------------------------------ SIPp and Kamailio
# SIPp made every call, with the outcome of the routing table.
sort "$TMP/expected" >"$TMP/expected.sorted"
sort "$TMP/uac.calls" 2>/dev/null >"$TMP/uac.sorted"
expect_same "SIPp calls and outcomes" "$TMP/expected.sorted" "$TMP/uac.sorted"

# Kamailio's accounting: the ACC lines as caller;callee;code per method.
grep 'ACC: ' "$TMP/kamailio.log" >"$TMP/acc.lines"
sed 's/^.*ACC: //' "$TMP/acc.lines" >"$TMP/acc.kv"
# kv FIELD: the field's value on each ACC line, in order.
kv() {
	awk -v k="$1" '{
		n = split($0, a, ";")
		v = ""
		for (i = 1; i <= n; i++) {
			p = index(a[i], "=")
			key = substr(a[i], 1, p - 1)
			sub(/^.*: /, "", key)  # the first pair follows "event: "
			if (p > 0 && key == k) { v = substr(a[i], p + 1); break }
		}
		print v
	}' "$TMP/acc.kv"
}
kv method >"$TMP/acc.method"
kv src_user >"$TMP/acc.src_user"
kv dst_ouser >"$TMP/acc.dst_ouser"
kv dst_user >"$TMP/acc.dst_user"
kv code >"$TMP/acc.code"
kv call_id >"$TMP/acc.call_id"
kv from_tag >"$TMP/acc.from_tag"
kv to_tag >"$TMP/acc.to_tag"
paste -d';' "$TMP/acc.method" "$TMP/acc.src_user" "$TMP/acc.dst_ouser" "$TMP/acc.code" >"$TMP/acc.calls"
n=$(wc -l <"$TMP/acc.lines")
if [ "$n" -eq $NACC ]; then ok; else fail "Kamailio logged $n ACC lines, expected $NACC"; fi
sed -n 's/^INVITE;//p' "$TMP/acc.calls" | sort >"$TMP/acc.invites"
expect_same "Kamailio accounted every INVITE" "$TMP/expected.sorted" "$TMP/acc.invites"
grep ';200$' "$TMP/expected.sorted" >"$TMP/expected.byes"
sed -n 's/^BYE;//p' "$TMP/acc.calls" | sort >"$TMP/acc.byes"
expect_same "Kamailio accounted a BYE per answered call" "$TMP/expected.byes" "$TMP/acc.byes"

# --------------------------------------------------------------- cdrmin
run $CDRMIN -r $RULES -k "$KEY" --stats "$TMP/kamailio.log"
cp "$TMP/out" "$TMP/cdr.csv"
cp "$TMP/err" "$TMP/cdr.err"
if [ "$RC" -eq 0 ]; then ok; else
	fail "cdrmin exit $RC"
	sed 's/^/  | /' "$TMP/cdr.err" | head -5 >&2
fi
read_n=$(stat_value read)
written=$(stat_value written)
rejected=$(stat_value rejected)
filtered=$(stat_value filtered)
if [ -n "$read_n" ] && [ -n "$written" ] && [ -n "$rejected" ] && [ -n "$filtered" ] &&
	[ "$read_n" -eq $((written + rejected + filtered)) ]; then ok; else
	fail "stats: read=$read_n written=$written rejected=$rejected filtered=$filtered"
fi
if [ "$rejected" = 0 ]; then ok; else fail "cdrmin rejected $rejected records"; fi
if [ "$written" = $NACC ]; then ok; else fail "cdrmin wrote $written records, expected $NACC"; fi

HEADER=event,timestamp,method,from_tag,to_tag,call_id,code,reason,src_user,src_domain,src_ip,dst_ouser,dst_user,dst_domain
if [ "$(head -1 "$TMP/cdr.csv")" = "$HEADER" ]; then ok; else
	fail "cdrmin header: $(head -1 "$TMP/cdr.csv")"
fi
# col NAME...: the named columns of cdrmin's records, ';'-joined, in order.
col() {
	awk -F, -v want="$*" 'NR == 1 {
		for (i = 1; i <= NF; i++) idx[$i] = i
		n = split(want, w, " ")
		next
	}
	{
		line = ""
		for (j = 1; j <= n; j++) line = line (j > 1 ? ";" : "") (w[j] in idx ? $(idx[w[j]]) : "?")
		print line
	}' "$TMP/cdr.csv"
}
nrec=$(($(wc -l <"$TMP/cdr.csv") - 1))
if [ "$nrec" -eq $NACC ]; then ok; else fail "cdrmin output has $nrec records, expected $NACC"; fi

# Every call by method and final code, and the same for the kept fields.
# (event: "transaction answered", or "call missed" for the 486s, which
# the relayed INVITEs account with log_missed_flag.)
col event method code | sort | uniq -c >"$TMP/cdr.codes"
sed 's/^\([^:]*\): .*/\1/' "$TMP/acc.kv" | paste -d';' - "$TMP/acc.method" "$TMP/acc.code" |
	sort | uniq -c >"$TMP/acc.codes"
expect_same "records by event, method and code" "$TMP/acc.codes" "$TMP/cdr.codes"
for c in 200 486 404; do
	case $c in 200) want=$N200 ;; 486) want=$N486 ;; 404) want=$N404 ;; esac
	got=$(col method code | grep -c "^INVITE;$c\$")
	if [ "$got" -eq "$want" ]; then ok; else fail "INVITE records with code $c: $got, expected $want"; fi
done
got=$(col method code | grep -c '^BYE;200$')
if [ "$got" -eq $N200 ]; then ok; else fail "BYE records: $got, expected $N200"; fi

# Nothing identifying is left: no number of calls.csv in any format (nor its
# national significant number), no tag, no Call-ID, no 127.0.0.1.
nsn() { sed -e 's/^+44//' -e 's/^0044//' -e 's/^0//'; }
cut -d';' -f1,2 "$TMP/expected" | tr ';' '\n' | nsn | sort -u >"$TMP/nsns"
: >"$TMP/secrets"
while read -r d; do
	printf '%s\n' "+44$d" "0044$d" "0$d" "44$d" "$d" >>"$TMP/secrets"
done <"$TMP/nsns"
cat "$TMP/acc.call_id" "$TMP/acc.from_tag" "$TMP/acc.to_tag" | grep -v '^$' >>"$TMP/secrets"
printf '%s\n' 127.0.0.1 SIPpTag >>"$TMP/secrets"
leaks=$(grep -F -o -f "$TMP/secrets" "$TMP/cdr.csv" | sort -u | tr '\n' ' ')
if [ -z "$leaks" ]; then ok; else fail "cdrmin output holds: $leaks"; fi
leaks=$(grep -F -o -f "$TMP/secrets" "$TMP/cdr.err" | sort -u | tr '\n' ' ')
if [ -z "$leaks" ]; then ok; else fail "cdrmin stderr holds: $leaks"; fi

# Tokens: phone columns +44/KID.DIGEST, Call-IDs KID.DIGEST, the source IP
# cut to its /24, the time floored to the hour.
TOK='[a-z2-7][a-z2-7][a-z2-7][a-z2-7]\.[a-z2-7]{26}'
bad=$(col src_user dst_ouser dst_user | tr ';' '\n' | grep -cvE "^\\+44/$TOK\$")
if [ "$bad" -eq 0 ]; then ok; else fail "$bad phone values are not +44/ tokens"; fi
bad=$(col call_id from_tag src_domain dst_domain | tr ';' '\n' | grep -cvE "^$TOK\$")
if [ "$bad" -eq 0 ]; then ok; else fail "$bad Call-ID, tag or domain values are not tokens"; fi
bad=$(col src_ip | grep -cvx '127\.0\.0\.0')
if [ "$bad" -eq 0 ]; then ok; else fail "$bad src_ip values are not 127.0.0.0"; fi
bad=$(col timestamp | awk '!/^[0-9]+$/ || $0 % 3600 { n++ } END { print n + 0 }')
if [ "$bad" -eq 0 ]; then ok; else fail "$bad timestamps not floored to the hour"; fi

# One number, one token: record i of the output is ACC line i of the log, so
# each token is paired with the number it replaced (normalized to its NSN).
# A number has one token in every format and column (src_user, dst_ouser,
# dst_user), and two numbers never share one.
col src_user dst_ouser dst_user call_id method code >"$TMP/cdr.cols"
paste -d';' "$TMP/acc.src_user" "$TMP/acc.dst_ouser" "$TMP/acc.dst_user" "$TMP/acc.call_id" \
	"$TMP/cdr.cols" >"$TMP/pairs"
awk -F';' '{
	for (i = 1; i <= 3; i++) {
		num = $i
		sub(/^\+44/, "", num); sub(/^0044/, "", num); sub(/^0/, "", num)
		print num ";" $(i + 4)
	}
}' "$TMP/pairs" | sort -u >"$TMP/num.tok"
cut -d';' -f1 "$TMP/num.tok" | uniq -d >"$TMP/num.multi"
cut -d';' -f2 "$TMP/num.tok" | sort | uniq -d >"$TMP/tok.multi"
if [ -s "$TMP/num.multi" ]; then fail "numbers with several tokens: $(tr '\n' ' ' <"$TMP/num.multi")"; else ok; fi
if [ -s "$TMP/tok.multi" ]; then fail "tokens shared by several numbers: $(tr '\n' ' ' <"$TMP/tok.multi")"; else ok; fi
# ... covering every number of calls.csv (so the caller that is also a
# callee, and the numbers dialled in three formats, were checked).
cut -d';' -f1 "$TMP/num.tok" | sort -u >"$TMP/num.seen"
expect_same "every number has its token" "$TMP/nsns" "$TMP/num.seen"
# The same counts without the pairing: distinct tokens in the output.
ntok=$(col src_user dst_ouser dst_user | tr ';' '\n' | sort -u | wc -l)
nnum=$(wc -l <"$TMP/nsns")
if [ "$ntok" -eq "$nnum" ]; then ok; else fail "$ntok phone tokens for $nnum numbers"; fi
ncaller=$(cut -d';' -f1 "$TMP/expected" | nsn | sort -u | wc -l)
ntok=$(col src_user | sort -u | wc -l)
if [ "$ntok" -eq "$ncaller" ]; then ok; else fail "$ntok src_user tokens for $ncaller callers"; fi
# One Call-ID token per call; a BYE has the Call-ID token of its INVITE.
ncid=$(col call_id | sort -u | wc -l)
if [ "$ncid" -eq "$NCALLS" ]; then ok; else fail "$ncid Call-ID tokens for $NCALLS calls"; fi
awk -F';' '{ print $4 ";" $8 }' "$TMP/pairs" | sort -u | cut -d';' -f1 | uniq -d >"$TMP/cid.multi"
if [ -s "$TMP/cid.multi" ]; then fail "Call-IDs with several tokens"; else ok; fi
col call_id method code | awk -F';' '
	$2 == "INVITE" && $3 == "200" { answered[$1] = 1 }
	$2 == "BYE" { bye[$1] = 1 }
	END { for (c in bye) if (!(c in answered)) n++; print n + 0 }' >"$TMP/orphans"
if [ "$(cat "$TMP/orphans")" -eq 0 ]; then ok; else fail "BYE records whose Call-ID token has no answered INVITE"; fi

# ---------------------------------------------------------------- summary
if [ "${VERBOSE:-0}" = 1 ] || [ "$FAIL" -ne 0 ]; then
	echo "kamailio: $NCALLS calls (200: $N200, 486: $N486, 404: $N404), $n ACC lines, $(($(date +%s) - T0)) s" >&2
fi
echo "kamailio: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
