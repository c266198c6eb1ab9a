#!/bin/sh
# End-to-end test of the SIP inputs (format sip, format sip-calls) with real
# traffic, public corpora and hostile captures.
#   1. real traffic: SIPp (Debian `sip-tester`) callees (tests/sip/uas.xml)
#      and callers (uac.xml: INVITE with P-Asserted-Identity and Diversion,
#      answered calls hung up by either side, 404 and 486; uac-message.xml: a
#      MESSAGE whose text/plain body holds a phone number) on loopback over
#      UDP and TCP (SIPp -t u1, tn, t1), IPv4 (127.0.0.1) and IPv6 (::1),
#      numbers of tests/sip/calls.csv and messages.csv. Captured at once by
#      cdrmin itself (-i lo --bpf ..., stopped with SIGINT: exit 0 and its
#      summary) and by tcpdump (-w); cdrmin --pcap on tcpdump's file gives the
#      records of the live capture (time column left out)
#   2. counts: each message SIPp received (its -trace_msg logs) is a record,
#      by transport, address family and method or status, as a reading of
#      the pcap in python (tests/sip/sipcount.py) finds too; --calls gives one
#      call per SIPp call with SIPp's outcome (final_status, end_reason,
#      hangup_by) and the duration of the capture (BYE - 200) and of the
#      scenario's pauses
#   3. no leak: no number (+44, 0044, 0, bare national significant number,
#      or 7 of its digits in a row, separators taken out), no Call-ID, tag,
#      branch, 127.0.0.1 or ::1 in stdout or stderr of any run; the MESSAGE
#      body scrubbed with its number replaced ('body scrub'), 'body keep'
#      refused (exit 78)
#   4. determinism and joins: one token per number in every user column, in
#      the call records, and in the Asterisk preset for the same month
#   5. the RFC 4475 torture messages (../shared/corpus/sip-torture), one UDP
#      datagram each: the records and rejects of the expectation table below
#   6. ../shared/corpus/pcap/ipv6frag.pcap: IPv6 fragments reassembled
#   7. Crypto-PAn: the reference sample (../shared/vectors), IPv6 prefix
#      preservation, per-epoch keys
#   8. hostile captures (tests/sip/mkpcap.py hostile): clean rejects or
#      records, exit 0 or 65, no crash, no hang (every run bounded by 20 s)
# Usage: CDRMIN=build/cdrmin sh tests/sip.sh   Prints "sip: N passed, M failed".
# Installs sip-tester and tcpdump when missing (apt-get, sudo when not root).
# Live capture needs root or CAP_NET_RAW: as another user the captures run
# under 'sudo -n'; when that is refused the capture checks fail (never
# skipped). VERBOSE=1 prints the counts; SIP_KEEP=DIR keeps the run's files in DIR.
cd "$(dirname "$0")/.." || exit 1
LC_ALL=C
export LC_ALL
. tests/lib.sh

SDIR=tests/sip
PY=${PYTHON:-python3}
SIPRULES=rules/sip.rules
CALLRULES=rules/sip-calls.rules
CORPUS=../shared/corpus
VECTORS=../shared/vectors
T0=$(date +%s)
TOK='[a-z2-7]{4}\.[a-z2-7]{26}'
TAB=$(printf '\t')

# ------------------------------------------------------------ processes
# Every process this script starts is recorded and stopped by its PID.
PIDS=""    # running
STARTED="" # all, for the final check
ROOT=""    # "sudo -n" when the captures run under sudo

alive() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}
# sig SIGNAL PID: also through sudo for the captures started under it.
sig() {
	kill -"$1" "$2" 2>/dev/null || { [ -n "$ROOT" ] && $ROOT kill -"$1" "$2" 2>/dev/null; }
}
forget() { PIDS=$(echo "$PIDS" | sed "s/ $1\$//; s/ $1 / /"); }
# wait_gone PID TENTHS: waits at most TENTHS/10 s for PID to end.
wait_gone() {
	_i=0
	while alive "$1" && [ $_i -lt "$2" ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	! alive "$1"
}
stop_all() {
	for _p in $PIDS; do sig TERM "$_p"; done
	for _p in $PIDS; do
		if ! wait_gone "$_p" 50; then
			echo "sip.sh: $_p did not stop on SIGTERM, killing it" >&2
			sig KILL "$_p"
		fi
	done
	for _p in $PIDS; do wait "$_p" 2>/dev/null; done
	PIDS=""
}
trap 'stop_all; [ -n "$SIP_KEEP" ] && mkdir -p "$SIP_KEEP" && cp -r "$TMP"/. "$SIP_KEEP"/; rm -rf "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers
# crun NAME ARGS...: cdrmin ARGS bounded by 20 s, as run (stdout $TMP/out,
# stderr $TMP/err, status $RC); a hang or a crash fails on its own.
crun() {
	_n=$1
	shift
	run timeout -k 5 20 $CDRMIN "$@"
	if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
		fail "$_n: no exit within 20 s (hang)"
	elif [ "$RC" -ge 128 ]; then
		fail "$_n: killed by signal $((RC - 128)) (crash)"
		sed 's/^/  | /' "$TMP/err" | tail -5 >&2
	fi
}
# expect_rc NAME CODE: the last run's exit status.
expect_rc() {
	if [ "$RC" -eq "$2" ]; then ok; else
		fail "$1: exit $RC, expected $2"
		sed 's/^/  | /' "$TMP/err" | head -5 >&2
	fi
}
# stat_is NAME KEY VALUE [FILE]: a --stats counter.
stat_is() {
	_v=$(sed -n "s/.*[ :]$2=\\([0-9]*\\).*/\\1/p" "${4:-$TMP/err}" | head -1)
	if [ "$_v" = "$3" ]; then ok; else fail "$1: $2=$_v, expected $3"; fi
}
statv() { sed -n "s/.*[ :]$1=\\([0-9]*\\).*/\\1/p" "${2:-$TMP/err}" | head -1; }
# balanced NAME [FILE]: read = written + rejected + filtered.
balanced() {
	_r=$(statv read "$2") _w=$(statv written "$2") _j=$(statv rejected "$2") _f=$(statv filtered "$2")
	if [ -n "$_r" ] && [ -n "$_w" ] && [ -n "$_j" ] && [ -n "$_f" ] && [ "$_r" -eq $((_w + _j + _f)) ]; then ok; else
		fail "$1: read=$_r written=$_w rejected=$_j filtered=$_f"
	fi
}
# cols CSV NAME...: the named columns, tab-separated (CSV parsed by python).
cols() {
	_f=$1
	shift
	$PY $SDIR/sipcount.py cols "$_f" "$@"
}
# nrec CSV: records in a CSV output (rows after the header, fields with line breaks counted once).
nrec() { $PY -c 'import csv,sys; print(max(0, sum(1 for _ in csv.reader(open(sys.argv[1], newline="")))-1))' "$1"; }
nsn() { sed -e 's/^+44//' -e 's/^0044//' -e 's/^0//'; }
# mkrules FILE LINE...: a rules file.
mkrules() {
	_f=$1
	shift
	printf '%s\n' "$@" >"$_f"
}
SCAN="" # outputs and stderr of preset runs, for the leak scan of part 3
keep_for_scan() { # NAME: keeps the last run's stdout and stderr
	cp "$TMP/out" "$TMP/scan.$1.out"
	grep -v 'stats: elapsed=' "$TMP/err" >"$TMP/scan.$1.err"
	SCAN="$SCAN $TMP/scan.$1.out $TMP/scan.$1.err"
}

# ---------------------------------------------------------- dependencies
install_missing sip-tester tcpdump || fail "could not install sip-tester, tcpdump"
SIPP=$(command -v sipp || echo /usr/bin/sipp)
TCPDUMP=$(command -v tcpdump || echo /usr/bin/tcpdump)
[ -x /usr/sbin/tcpdump ] && [ ! -x "$TCPDUMP" ] && TCPDUMP=/usr/sbin/tcpdump
check "sipp installed ($SIPP)" [ -x "$SIPP" ]
check "tcpdump installed ($TCPDUMP)" [ -x "$TCPDUMP" ]
check "python3 runs" $PY -c 'import csv, ipaddress, socket, struct'

# Capture rights: root, else sudo -n; else the capture checks fail.
CAPTURE=yes
if [ "$(id -u)" -ne 0 ]; then
	if sudo -n true 2>/dev/null; then
		ROOT="sudo -n"
	else
		CAPTURE=no
		fail "live capture: not root and 'sudo -n' is refused; cdrmin -i and tcpdump need CAP_NET_RAW (run as root, or allow sudo -n)"
	fi
fi

# ------------------------------------------------------------------ ports
# port_used PORT: a UDP or TCP socket, IPv4 or IPv6, has PORT as local port.
port_used() {
	_hp=$(printf ':%04X' "$1")
	for _f in /proc/net/udp /proc/net/udp6 /proc/net/tcp /proc/net/tcp6; do
		[ -r "$_f" ] || continue
		awk -v h="$_hp" 'FNR > 1 && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' "$_f" && return 0
	done
	return 1
}
# bound_by PID PORT: PID holds a socket whose local port is PORT.
bound_by() {
	_hp=$(printf ':%04X' "$2")
	for _ino in $(cat /proc/net/udp /proc/net/udp6 /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		awk -v h="$_hp" '$1 ~ /^[0-9]+:$/ && substr($2, length($2) - 4) == h { print $10 }'); do
		ls -l "/proc/$1/fd" 2>/dev/null | grep -qF "socket:[$_ino]" && return 0
	done
	return 1
}
NEXT_PORT=$((20000 + ($$ + T0) % 1000 * 10))
next_port() {
	while :; do
		NEXT_PORT=$((NEXT_PORT + 1))
		[ $NEXT_PORT -gt 32000 ] && NEXT_PORT=20001
		port_used $NEXT_PORT || return 0
	done
}
# start NAME FUNCTION ARGS...: runs "FUNCTION ARGS... PORT" (which starts one
# process in the background) on free ports until the process holds its
# port; sets START_PORT and START_PID. Gives up after 5 ports.
start() {
	_name=$1
	shift
	_try=0
	while [ $_try -lt 5 ]; do
		_try=$((_try + 1))
		next_port
		"$@" $NEXT_PORT
		START_PID=$!
		START_PORT=$NEXT_PORT
		PIDS="$PIDS $START_PID"
		STARTED="$STARTED $START_PID"
		_i=0
		while [ $_i -lt 50 ] && alive $START_PID && ! bound_by $START_PID $START_PORT; do
			sleep 0.1
			_i=$((_i + 1))
		done
		alive $START_PID && bound_by $START_PID $START_PORT && return 0
		echo "sip.sh: $_name did not start on port $START_PORT, trying another" >&2
		sig TERM $START_PID
		wait $START_PID 2>/dev/null
		forget $START_PID
	done
	return 1
}

# ============================================ 1. real traffic, captured twice
RUNS="udp4 tcp4 udp6 tcp6"
# props RUN: the address and SIPp transport modes of a run (UAS, UAC).
props() {
	case $1 in
	udp4) IP=127.0.0.1 RIP=127.0.0.1 UASM=u1 UACM=u1 TR=udp FAM=4 ;;
	tcp4) IP=127.0.0.1 RIP=127.0.0.1 UASM=t1 UACM=tn TR=tcp FAM=4 ;;
	udp6) IP=::1 RIP='[::1]' UASM=u1 UACM=u1 TR=udp FAM=6 ;;
	tcp6) IP=::1 RIP='[::1]' UASM=t1 UACM=t1 TR=tcp FAM=6 ;;
	esac
}
SP="$TMP/sipp"
mkdir -p "$SP"
NCALLS=$(($(wc -l <$SDIR/calls.csv) - 1))
NMSGS=$(($(wc -l <$SDIR/messages.csv) - 1))

run_uas() { # RUN PORT
	props "$1"
	"$SIPP" -sf $SDIR/uas.xml -t $UASM -i "$IP" -p "$2" -ci 127.0.0.1 -max_socket 100 -nostdin \
		-trace_msg -message_file "$SP/uas-$1.msg" -trace_err -error_file "$SP/uas-$1.err" \
		</dev/null >"$SP/uas-$1.out" 2>&1 &
}
run_uac() { # SCENARIO INJECTION COUNT RUN UAS-PORT LOCAL-PORT
	props "$4"
	"$SIPP" "$RIP:$5" -sf $SDIR/$1.xml -inf $SDIR/$2 -t $UACM -i "$IP" -p "$6" -ci 127.0.0.1 \
		-m "$3" -r 10 -l 10 -max_socket 100 -timeout 20s -timeout_error -nostdin \
		-trace_msg -message_file "$SP/$1-$4.msg" -trace_logs -log_file "$SP/$1-$4.log" \
		-trace_err -error_file "$SP/$1-$4.err" </dev/null >"$SP/$1-$4.out" 2>&1 &
}

PCAP="$TMP/cap.pcap"
LIVE="$TMP/live.csv"
TRAFFIC=no
LIVE_OK=no
UAS_OK=yes
for r in $RUNS; do
	if start "SIPp UAS $r" run_uas $r; then
		eval "PORT_$r=$START_PORT"
	else
		fail "SIPp UAS ($r) did not start"
		sed 's/^/  | /' "$SP/uas-$r.out" | tail -5 >&2
		UAS_OK=no
	fi
done
if [ $UAS_OK = yes ] && [ $CAPTURE = yes ]; then
	BPF="port $PORT_udp4 or port $PORT_tcp4 or port $PORT_udp6 or port $PORT_tcp6"
	# The live capture: started first, and sent probes (an OPTIONS to a
	# port of its filter only, not of tcpdump's) until it writes records.
	next_port
	PROBE=$NEXT_PORT
	printf 'OPTIONS sip:probe@localhost SIP/2.0\r\nVia: SIP/2.0/UDP localhost:9;branch=z9hG4bK-probe\r\nFrom: <sip:probe@localhost>;tag=probe\r\nTo: <sip:probe@localhost>\r\nCall-ID: probe\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' >"$TMP/probe.sip"
	$ROOT $CDRMIN -r $SIPRULES -k "$KEY" -i lo --bpf "$BPF or port $PROBE" -o "$LIVE" --stats \
		</dev/null >"$TMP/live.stdout" 2>"$TMP/live.err" &
	LIVE_PID=$!
	PIDS="$PIDS $LIVE_PID"
	STARTED="$STARTED $LIVE_PID"
	i=0
	while [ $i -lt 50 ] && alive $LIVE_PID; do
		$PY $SDIR/mkpcap.py send 127.0.0.1 $PROBE "$TMP/probe.sip"
		sleep 0.2
		[ -s "$LIVE" ] && [ "$(wc -l <"$LIVE")" -ge 2 ] && break
		i=$((i + 1))
	done
	if [ -s "$LIVE" ] && [ "$(wc -l <"$LIVE")" -ge 2 ]; then
		LIVE_OK=yes
		ok
	else
		wait_gone $LIVE_PID 10
		if alive $LIVE_PID; then
			fail "live capture: cdrmin -i lo wrote no record of 50 probes in 10 s"
		else
			wait $LIVE_PID
			fail "live capture: cdrmin -i lo exited ($?) before capturing: $(head -3 "$TMP/live.err" | tr '\n' ' ')"
			forget $LIVE_PID
		fi
	fi
	# tcpdump, on the SIPp ports only.
	$ROOT "$TCPDUMP" -i lo --immediate-mode -U -w "$PCAP" "$BPF" </dev/null >"$TMP/tcpdump.out" 2>"$TMP/tcpdump.err" &
	TD_PID=$!
	PIDS="$PIDS $TD_PID"
	STARTED="$STARTED $TD_PID"
	i=0
	while [ $i -lt 50 ] && alive $TD_PID && ! grep -q 'listening on' "$TMP/tcpdump.err"; do
		sleep 0.1
		i=$((i + 1))
	done
	if grep -q 'listening on' "$TMP/tcpdump.err"; then ok; else
		fail "tcpdump did not start: $(head -3 "$TMP/tcpdump.err" | tr '\n' ' ')"
	fi

	# The callers: calls and messages of every run at once.
	UACS=""
	for r in $RUNS; do
		eval "p=\$PORT_$r"
		next_port
		run_uac uac calls.csv $NCALLS $r $p $NEXT_PORT
		UACS="$UACS $!:uac-$r"
		next_port
		run_uac uac-message messages.csv $NMSGS $r $p $NEXT_PORT
		UACS="$UACS $!:uac-message-$r"
	done
	for u in $UACS; do
		PIDS="$PIDS ${u%%:*}"
		STARTED="$STARTED ${u%%:*}"
	done
	for u in $UACS; do
		pid=${u%%:*} name=${u#*:}
		if ! wait_gone $pid 250; then
			fail "SIPp $name still running after 25 s"
			sig TERM $pid
		fi
		wait $pid
		rc=$?
		forget $pid
		if [ $rc -eq 0 ]; then ok; else
			fail "SIPp $name exit $rc"
			grep -v 'receive timeout' "$SP/$name.err" 2>/dev/null | sed 's/^/  | /' | head -5 >&2
			tail -3 "$SP/$name.out" | sed 's/^/  | /' >&2
		fi
	done
	TRAFFIC=yes

	# Let the captures drain (what the live capture has is written by now:
	# the interface has been idle for 0.5 s), then stop tcpdump and cdrmin
	# with SIGINT.
	sleep 0.5
	if [ $LIVE_OK = yes ]; then
		cp "$LIVE" "$TMP/live.idle"
		# One more frame, then none: its record must come out by itself
		# (--flush-ms, default 100 ms), not wait for a next frame.
		np0=$(awk -F, -v p="$PROBE" 'NR > 1 && $6 == p' "$LIVE" | wc -l)
		$PY $SDIR/mkpcap.py send 127.0.0.1 $PROBE "$TMP/probe.sip"
		sleep 1
		np1=$(awk -F, -v p="$PROBE" 'NR > 1 && $6 == p' "$LIVE" | wc -l)
		check "live capture: the record of a last frame written within 1 s, no frame after it ($np0 -> $np1 probe records)" \
			[ "$np1" -eq $((np0 + 1)) ]
	fi
	sig INT $TD_PID
	if ! wait_gone $TD_PID 50; then
		fail "tcpdump did not stop on SIGINT"
		sig TERM $TD_PID
	fi
	wait $TD_PID
	forget $TD_PID
	expect_grep "tcpdump dropped nothing" "$TMP/tcpdump.err" "0 packets dropped by kernel"
	if [ $LIVE_OK = yes ]; then
		sig INT $LIVE_PID
		if wait_gone $LIVE_PID 30; then ok; else
			# It waits in libpcap for a frame; one more frame lets it see the stop.
			fail "live capture: cdrmin did not stop within 3 s of SIGINT on an idle interface (it stopped only at the next frame)"
			$PY $SDIR/mkpcap.py send 127.0.0.1 $PROBE "$TMP/probe.sip"
			if ! wait_gone $LIVE_PID 50; then
				fail "live capture: cdrmin did not stop after SIGINT and one more frame"
				sig TERM $LIVE_PID
			fi
		fi
		wait $LIVE_PID
		LIVE_RC=$?
		forget $LIVE_PID
		if [ $LIVE_RC -eq 0 ]; then ok; else
			fail "live capture: exit $LIVE_RC, expected 0"
			sed 's/^/  | /' "$TMP/live.err" | head -5 >&2
		fi
		expect_grep "live capture: stopped by SIGINT" "$TMP/live.err" "cdrmin: stopped by SIGINT"
		expect_grep "live capture: summary" "$TMP/live.err" "cdrmin: stats: read="
		expect_grep "live capture: frame counters" "$TMP/live.err" "cdrmin: stats: frames="
		check "live capture: nothing on stdout (-o)" [ ! -s "$TMP/live.stdout" ]
		cp "$LIVE" "$TMP/scan.live.out"
		grep -v 'stats: elapsed=' "$TMP/live.err" >"$TMP/scan.live.err"
		SCAN="$SCAN $TMP/scan.live.out $TMP/scan.live.err"
	fi
fi
# The callees, then nothing of ours may be left.
stop_all
left=""
for p in $STARTED; do alive "$p" && left="$left $p"; done
if [ -z "$left" ]; then ok; else fail "processes left:$left"; fi

if [ $TRAFFIC = yes ]; then
	# SIPp did what the scenarios say: the outcome of each call by its callee.
	awk -F';' 'NR > 1 {
		o = "200;caller"
		if ($2 ~ /9460[3][0-9][0-9]$/) o = "200;callee"
		else if ($2 ~ /9460[4][0-9][0-9]$/) o = "404;"
		else if ($2 ~ /9460[5][0-9][0-9]$/) o = "486;"
		print $1 ";" $2 ";" o
	}' $SDIR/calls.csv | sort >"$TMP/expected.calls"
	: >"$TMP/sipp.calls"
	for r in $RUNS; do
		props $r
		cut -d';' -f2- "$SP/uac-$r.log" 2>/dev/null | sort >"$TMP/sipp.calls.$r"
		expect_same "SIPp calls and outcomes ($r)" "$TMP/expected.calls" "$TMP/sipp.calls.$r"
		# call-id caller callee code hangup transport
		awk -F';' -v tr=$TR '{ print $1 "\t" $2 "\t" $3 "\t" $4 "\t" $5 "\t" tr }' "$SP/uac-$r.log" >>"$TMP/sipp.calls"
		n=$(grep -c ';200;$' "$SP/uac-message-$r.log" 2>/dev/null)
		check "SIPp sent and got answered $NMSGS MESSAGEs ($r): $n" [ "$n" = "$NMSGS" ]
	done

	# ------------------------------------------------- the tcpdump capture
	crun "pcap run" -r $SIPRULES -k "$KEY" --stats --pcap "$PCAP"
	expect_rc "cdrmin --pcap on tcpdump's capture" 0
	balanced "cdrmin --pcap on tcpdump's capture"
	cp "$TMP/out" "$TMP/pc.csv"
	cp "$TMP/err" "$TMP/pc.err"
	keep_for_scan pcap
	stat_is "pcap: frame counters" truncated 0
	stat_is "pcap: frame counters" malformed 0
	stat_is "pcap: frame counters" tcp-bytes-dropped 0
	stat_is "pcap: frame counters" tcp-unframed 0

	# Live and pcap: the same records, time left out (the probes are the
	# live capture's own). Sorted: two capture sockets may see packets sent
	# at the same moment from different CPUs in different orders.
	if [ $LIVE_OK = yes ]; then
		nprobe=$(cols "$LIVE" dst_port | grep -cx "$PROBE")
		check "live capture: the probes are records ($nprobe)" [ "$nprobe" -ge 1 ]
		awk -F, -v p="$PROBE" 'NR == 1 || $6 != p' "$LIVE" | cut -d, -f2- | LC_ALL=C sort >"$TMP/live.notime"
		cut -d, -f2- "$TMP/pc.csv" | LC_ALL=C sort >"$TMP/pc.notime"
		expect_same "live capture and tcpdump's capture: the same records" "$TMP/pc.notime" "$TMP/live.notime"
		lr=$(statv read "$TMP/live.err")
		pr=$(statv read "$TMP/pc.err")
		check "live capture read the pcap's $pr messages and its $nprobe probes: read=$lr" [ "$lr" = $((pr + nprobe)) ]
		# Records come out as they are captured: after 0.5 s of silence all
		# of them were in the file, before the stop.
		ni=$(awk -F, -v p="$PROBE" 'NR > 1 && $6 != p' "$TMP/live.idle" | wc -l)
		check "live capture: every record written while the interface is idle, before SIGINT ($ni of $pr)" [ "$ni" -eq "$pr" ]
		stat_is "live capture: every record written" rejected 0 "$TMP/live.err"
	fi

	# ------------------------------------------------------------ 2. counts
	# SIPp's view: every message a SIPp received (its -trace_msg log), by
	# transport, family and method or status.
	for r in $RUNS; do
		props $r
		for f in "$SP"/*-$r.msg; do
			awk -v fam=$FAM '/^(UDP|TCP) message received/ {
				tr = tolower($1); getline; getline
				sub(/\r$/, "")
				print tr " " fam " " ($1 == "SIP/2.0" ? $2 : $1)
			}' "$f"
		done
	done | sort | uniq -c >"$TMP/count.sipp"
	# python's reading of tcpdump's capture
	$PY $SDIR/sipcount.py messages "$PCAP" >"$TMP/pc.msgs" 2>"$TMP/pc.msgs.err"
	awk -F'\t' '{ print $2 " " $3 " " $8 }' "$TMP/pc.msgs" | sort | uniq -c >"$TMP/count.python"
	# cdrmin's records
	cols "$TMP/pc.csv" transport src_ip method status |
		awk -F'\t' '{ print $1 " " ($2 ~ /:/ ? 6 : 4) " " ($3 != "" ? $3 : $4) }' | sort | uniq -c >"$TMP/count.cdrmin"
	nsipp=$(awk '{ n += $1 } END { print n + 0 }' "$TMP/count.sipp")
	# 6 calls (6 + 6 + 3 + 4 + 6 + 6 messages) and 2 MESSAGEs (2 + 2) per run, at least
	check "SIPp received every message of the scenarios ($nsipp >= $((4 * 35)))" [ "$nsipp" -ge 140 ]
	for t in "udp 4" "tcp 4" "udp 6" "tcp 6"; do
		n=$(awk -v t="$t" '$2 " " $3 == t { n += $1 } END { print n + 0 }' "$TMP/count.sipp")
		check "SIPp messages over $t: $n" [ "$n" -ge 35 ]
	done
	expect_same "messages by transport, family, method/status: SIPp and python's reading of the pcap" "$TMP/count.sipp" "$TMP/count.python"
	expect_same "messages by transport, family, method/status: SIPp and cdrmin's records" "$TMP/count.sipp" "$TMP/count.cdrmin"
	stat_is "pcap: sip-messages" sip-messages "$nsipp" "$TMP/pc.err"
	stat_is "pcap: records" written "$nsipp" "$TMP/pc.err"
	n=$(grep -c . "$TMP/pc.csv")
	check "pcap: $((n - 1)) CSV lines, $nsipp messages" [ "$n" -eq $((nsipp + 1)) ]
	# Kept values: methods and codes, the User-Agent and Server, codecs.
	n=$(cols "$TMP/pc.csv" method user_agent | grep -c "^INVITE${TAB}cdrmin-test-uac\$")
	check "INVITE records keep the User-Agent ($n)" [ "$n" -eq $((4 * NCALLS)) ]
	n=$(cols "$TMP/pc.csv" method sdp_codecs | grep -c "^INVITE${TAB}PCMU,PCMA,telephone-event\$")
	check "INVITE records list the offer's codecs ($n)" [ "$n" -eq $((4 * NCALLS)) ]
	n=$(cols "$TMP/pc.csv" status cseq_method server | grep -c "^200${TAB}INVITE${TAB}cdrmin-test-uas\$")
	check "200 OK records keep the Server ($n)" [ "$n" -eq $((4 * 4)) ]
	# Addresses: Crypto-PAn keeps the family; Via and SDP connection
	# addresses of a request are its source address's pseudonym.
	bad=$(cols "$TMP/pc.csv" src_ip dst_ip | awk -F'\t' '($1 ~ /:/) != ($2 ~ /:/) || $1 != $2 { n++ } END { print n + 0 }')
	check "loopback to loopback: src_ip = dst_ip pseudonym, same family ($bad bad)" [ "$bad" -eq 0 ]
	bad=$(cols "$TMP/pc.csv" method src_ip via_host | awk -F'\t' '$1 != "" && $2 != $3 { n++ } END { print n + 0 }')
	check "requests: via_host = src_ip pseudonym ($bad differ)" [ "$bad" -eq 0 ]
	bad=$(cols "$TMP/pc.csv" method src_ip sdp_c_ip | awk -F'\t' '$1 == "INVITE" && $2 != $3 { n++ } END { print n + 0 }')
	check "INVITEs: sdp_c_ip = src_ip pseudonym ($bad differ)" [ "$bad" -eq 0 ]
	n=$(cols "$TMP/pc.csv" src_ip | sort -u | wc -l)
	check "two addresses (127.0.0.1, ::1), two pseudonyms ($n)" [ "$n" -eq 2 ]
	# P-Asserted-Identity and Diversion of every INVITE
	n=$(cols "$TMP/pc.csv" method pai_user diversion_user diversion_reason pai_display |
		grep -cE "^INVITE${TAB}\\+44/$TOK${TAB}\\+44/$TOK${TAB}unconditional${TAB}NAME\$")
	check "INVITEs: pai_user, diversion_user tokens, diversion_reason kept, pai_display redacted ($n)" [ "$n" -eq $((4 * NCALLS)) ]

	# --calls: one call per SIPp call, with SIPp's outcome.
	crun "calls run" -r $CALLRULES -k "$KEY" --calls --stats --pcap "$PCAP"
	expect_rc "cdrmin --calls" 0
	cp "$TMP/out" "$TMP/calls.csv"
	keep_for_scan calls
	balanced "cdrmin --calls"
	nbye=$(awk -F';' '$3 == "200" { n++ } END { print n + 0 }' "$TMP/expected.calls")
	nrej=$((NCALLS - nbye))
	expect_grep "--calls: calls by end" "$TMP/err" "calls=$((4 * NCALLS)) (bye=$((4 * nbye)) cancel=0 rejected=$((4 * nrej)) timeout=0 evicted=0 eof=0) messages=$nsipp "
	n=$(nrec "$TMP/calls.csv")
	check "--calls: $n call records, $((4 * NCALLS)) SIPp calls" [ "$n" -eq $((4 * NCALLS)) ]
	mkrules "$TMP/calls-keep.rules" 'format sip-calls' 'call_id keep' 'caller keep' 'callee keep' \
		'pai_user keep' 'transport keep' 'final_status keep' 'hangup_by keep' 'end_reason keep' \
		'duration keep' 'setup_delay keep' '* drop'
	crun "calls, values kept" -r "$TMP/calls-keep.rules" --calls --pcap "$PCAP"
	expect_rc "cdrmin --calls, values kept" 0
	cp "$TMP/out" "$TMP/calls-keep.csv"
	# call-id caller callee code hangup transport pai, from SIPp and calls.csv
	awk -F';' 'NR == FNR { if (FNR > 1) pai[$1 ";" $2] = $3; next }
		{ split($0, f, "\t"); print $0 "\t" pai[f[2] ";" f[3]] }' $SDIR/calls.csv "$TMP/sipp.calls" |
		awk -F'\t' '{ print $1 "\t" $2 "\t" $3 "\t" $4 "\t" ($4 == "200" ? "bye" : "rejected") "\t" $5 "\t" $6 "\t" $7 }' |
		sort >"$TMP/calls.expected"
	cols "$TMP/calls-keep.csv" call_id caller callee final_status end_reason hangup_by transport pai_user |
		sort >"$TMP/calls.got"
	expect_same "--calls: caller, callee, final_status, end_reason, hangup_by, transport, pai_user of each SIPp call" \
		"$TMP/calls.expected" "$TMP/calls.got"
	# Durations: the capture's BYE - 200 (python), and the scenario's pauses
	# (the caller hangs up 2000 ms after the answer, the callee 1000 ms).
	$PY $SDIR/sipcount.py calls "$PCAP" | sort >"$TMP/calls.python"
	cols "$TMP/calls-keep.csv" call_id final_status end_reason hangup_by duration | sort >"$TMP/calls.dur"
	n=$(wc -l <"$TMP/calls.python")
	check "python finds $((4 * NCALLS)) calls in the capture ($n)" [ "$n" -eq $((4 * NCALLS)) ]
	join -t "$TAB" "$TMP/calls.python" "$TMP/calls.dur" >"$TMP/calls.joined"
	bad=$(awk -F'\t' '
		$2 != $6 || $3 != $7 || $4 != $8 { print "outcome " $0; next }
		$5 == "" && $9 == "" { next }
		$5 == "" || $9 == "" { print "duration " $0; next }
		{ d = $9 - $5; if (d < 0) d = -d; if (d > 0.0015) print "duration " $0 }
		$8 == "caller" && ($9 < 1.95 || $9 > 3.0) { print "pause " $0 }
		$8 == "callee" && ($9 < 0.95 || $9 > 2.0) { print "pause " $0 }' "$TMP/calls.joined")
	n=$(wc -l <"$TMP/calls.joined")
	check "--calls: every call joined with python's reading ($n)" [ "$n" -eq $((4 * NCALLS)) ]
	if [ -z "$bad" ]; then ok; else fail "--calls: outcome or duration differ: $(echo "$bad" | head -3 | tr '\t\n' ' ;')"; fi
	bad=$(cols "$TMP/calls-keep.csv" final_status duration setup_delay |
		awk -F'\t' '$1 == "200" && ($2 !~ /^[0-9]+\.[0-9][0-9][0-9]$/ || $3 !~ /^[0-9]+\.[0-9][0-9][0-9]$/) { n++ }
			$1 != "200" && $2 != "" { n++ } END { print n + 0 }')
	check "--calls: durations and setup delays in seconds with 3 decimals, none for rejected calls ($bad bad)" [ "$bad" -eq 0 ]
	# The preset's values: tokens, hours, kept codes.
	bad=$(cols "$TMP/calls.csv" caller callee pai_user | tr '\t' '\n' | grep -cvE "^\\+44/$TOK\$")
	check "--calls: caller, callee, pai_user are +44/ tokens ($bad not)" [ "$bad" -eq 0 ]
	bad=$(cols "$TMP/calls.csv" call_id caller_host callee_host | tr '\t' '\n' | grep -cvE "^$TOK\$")
	check "--calls: Call-ID and hosts are tokens ($bad not)" [ "$bad" -eq 0 ]
	bad=$(cols "$TMP/calls.csv" invite_time end_time | tr '\t' '\n' | grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:00:00\.000000Z$')
	check "--calls: times floored to the hour ($bad not)" [ "$bad" -eq 0 ]
	cols "$TMP/calls.csv" final_status end_reason hangup_by | sort | uniq -c >"$TMP/calls.outcomes"
	awk -F'\t' '{ print $4 "\t" $5 "\t" $6 }' "$TMP/calls.expected" | sort | uniq -c >"$TMP/calls.outcomes.expected"
	expect_same "--calls (preset): outcomes" "$TMP/calls.outcomes.expected" "$TMP/calls.outcomes"
	bad=$(cols "$TMP/calls.csv" caller_media_ip callee_media_ip final_status |
		awk -F'\t' '$1 != "127.0.0.0" && $1 != "::" { n++ } $3 == "200" && $2 != "127.0.0.0" && $2 != "::" { n++ } END { print n + 0 }')
	check "--calls: media addresses cut to /24 or /48 ($bad not)" [ "$bad" -eq 0 ]

	# ------------------------------------------------------- 4. joins
	# Record i of a run with the user parts kept is record i of the preset's
	# run: each number paired with its token, in every user column.
	mkrules "$TMP/users-keep.rules" 'format sip' 'ruri_user keep' 'from_user keep' 'to_user keep' \
		'pai_user keep' 'diversion_user keep' 'contact_user keep' '* drop'
	UCOLS="ruri_user from_user to_user pai_user diversion_user contact_user"
	crun "users kept" -r "$TMP/users-keep.rules" --pcap "$PCAP"
	expect_rc "cdrmin --pcap, users kept" 0
	cp "$TMP/out" "$TMP/users-keep.csv"
	cols "$TMP/users-keep.csv" $UCOLS >"$TMP/pairs.orig"
	cols "$TMP/pc.csv" $UCOLS >"$TMP/pairs.tok"
	paste "$TMP/pairs.orig" "$TMP/pairs.tok" >"$TMP/pairs.sip"
	cols "$TMP/calls-keep.csv" caller callee pai_user >"$TMP/pairs.corig"
	cols "$TMP/calls.csv" caller callee pai_user >"$TMP/pairs.ctok"
	paste "$TMP/pairs.corig" "$TMP/pairs.ctok" >"$TMP/pairs.calls"
	check "user kept and preset runs pair record by record" \
		[ "$(wc -l <"$TMP/pairs.orig")" -eq "$(wc -l <"$TMP/pairs.tok")" ]
	awk -F'\t' -v n=6 -v src=sip '{
		for (i = 1; i <= n; i++) if ($i != "") {
			num = $i; sub(/^\+44/, "", num); sub(/^0044/, "", num); sub(/^0/, "", num)
			print num "\t" $(i + n) "\t" src
		} }' "$TMP/pairs.sip" >"$TMP/num.tok.all"
	awk -F'\t' -v n=3 -v src=calls '{
		for (i = 1; i <= n; i++) if ($i != "") {
			num = $i; sub(/^\+44/, "", num); sub(/^0044/, "", num); sub(/^0/, "", num)
			print num "\t" $(i + n) "\t" src
		} }' "$TMP/pairs.calls" >>"$TMP/num.tok.all"
	cut -f1,2 "$TMP/num.tok.all" | sort -u >"$TMP/num.tok"
	n=$(grep -c 'calls$' "$TMP/num.tok.all")
	check "call records give number/token pairs ($n)" [ "$n" -eq $((3 * 4 * NCALLS)) ]
	bad=$(cut -f2 "$TMP/num.tok" | grep -cvE "^\\+44/$TOK\$")
	check "every user part is a +44/ token ($bad not)" [ "$bad" -eq 0 ]
	cut -f1 "$TMP/num.tok" | uniq -d >"$TMP/num.multi"
	cut -f2 "$TMP/num.tok" | sort | uniq -d >"$TMP/tok.multi"
	if [ -s "$TMP/num.multi" ]; then fail "numbers with several tokens: $(tr '\n' ' ' <"$TMP/num.multi")"; else ok; fi
	if [ -s "$TMP/tok.multi" ]; then fail "tokens shared by several numbers: $(tr '\n' ' ' <"$TMP/tok.multi")"; else ok; fi
	# every number of calls.csv and of the MESSAGEs' From and To is covered,
	# in each of the columns it is written in
	{
		tail -n +2 $SDIR/calls.csv | tr ';' '\n'
		tail -n +2 $SDIR/messages.csv | cut -d';' -f1,2 | tr ';' '\n'
	} | nsn | sort -u >"$TMP/nsns"
	cut -f1 "$TMP/num.tok" | sort -u >"$TMP/num.seen"
	expect_same "every number has its token" "$TMP/nsns" "$TMP/num.seen"
	# each column holds the numbers of calls.csv written in it, as written
	for c in 1:from_user 2:to_user 2:ruri_user 3:pai_user 4:diversion_user; do
		tail -n +2 $SDIR/calls.csv | cut -d';' -f${c%%:*} | sort -u >"$TMP/col.want"
		cols "$TMP/users-keep.csv" ${c#*:} | sort -u >"$TMP/col.got"
		n=$(comm -23 "$TMP/col.want" "$TMP/col.got" | wc -l)
		check "${c#*:}: every one of its $(wc -l <"$TMP/col.want") numbers of calls.csv is there ($n missing)" [ "$n" -eq 0 ]
	done
	tA=$(awk -F'\t' '$1 == "7700900101" { print $2 }' "$TMP/num.tok")
	tB=$(awk -F'\t' '$1 == "2079460101" { print $2 }' "$TMP/num.tok")
	check "tokens of 07700900101 and 02079460101 found" test -n "$tA" -a -n "$tB"

	# The Asterisk preset, the same month as the capture: the same tokens.
	first=$(head -1 "$TMP/pc.msgs" | cut -f1)
	when=$($PY -c 'import sys, time; print(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(sys.argv[1]))))' "$first")
	before=$($PY -c 'import sys, time; t = time.gmtime(float(sys.argv[1])); y, m = (t.tm_year, t.tm_mon - 1) if t.tm_mon > 1 else (t.tm_year - 1, 12); print("%04d-%02d-15 12:00:00" % (y, m))' "$first")
	for w in "$when" "$before"; do
		printf '"","07700900101","02079460101","from-internal","""07700900101"" <07700900101>","PJSIP/a-00000001","PJSIP/b-00000002","Dial","PJSIP/02079460101@trunk,30,tT","%s","%s","%s",62,60,"ANSWERED","DOCUMENTATION","1.1",""\n' "$w" "$w" "$w"
	done >"$TMP/Master.csv"
	crun "asterisk" -r rules/asterisk.rules -k "$KEY" "$TMP/Master.csv"
	expect_rc "asterisk preset" 0
	keep_for_scan asterisk
	check "Asterisk src of the capture's month ($when) is the SIP token of 07700900101" \
		[ "$(cols "$TMP/out" src | sed -n 1p)" = "$tA" ]
	check "Asterisk dst of the capture's month is the SIP token of 02079460101" \
		[ "$(cols "$TMP/out" dst | sed -n 1p)" = "$tB" ]
	check "Asterisk src of the month before ($before) is another token" \
		[ "$(cols "$TMP/out" src | sed -n 2p)" != "$tA" ]

	# Determinism: the same run again, with the cache off, with another key.
	crun "pcap again" -r $SIPRULES -k "$KEY" --pcap "$PCAP"
	expect_same "same capture twice, same output" "$TMP/pc.csv" "$TMP/out"
	crun "pcap, cache off" -r $SIPRULES -k "$KEY" --cache-size 0 --pcap "$PCAP"
	expect_same "cache off, same output" "$TMP/pc.csv" "$TMP/out"
	crun "pcap, other key" -r $SIPRULES -k "$OTHER_KEY" --pcap "$PCAP"
	expect_differ "other key, other output" "$TMP/pc.csv" "$TMP/out"
	keep_for_scan otherkey
	# Capture read from stdin (tcpdump -w - | cdrmin --pcap -)
	run sh -c "timeout 20 $CDRMIN -r $SIPRULES -k '$KEY' --pcap - <'$PCAP'"
	expect_same "--pcap - (stdin) gives the file's output" "$TMP/pc.csv" "$TMP/out"

	# -------------------------------------------- 3. bodies and leaks
	# 'body scrub': the text with its number replaced by the number's token
	# (scrub writes the token without the +44/ prefix).
	sed 's/^body  *drop$/body              scrub/' $SIPRULES >"$TMP/sip-scrub.rules"
	check "scrub rules derived" grep -q '^body  *scrub$' "$TMP/sip-scrub.rules"
	crun "body scrub" -r "$TMP/sip-scrub.rules" -k "$KEY" --pcap "$PCAP"
	expect_rc "body scrub" 0
	keep_for_scan scrub
	cols "$TMP/out" method body | awk -F'\t' '$1 == "MESSAGE"' | sed 's/[[:space:]]*$//' >"$TMP/bodies"
	n=$(grep -cxF "MESSAGE${TAB}Please call me back on ${tA#+44/} tonight." "$TMP/bodies")
	check "body scrub: the number 07700 900101 replaced by its token, in $n of $((4 * 1)) MESSAGEs" [ "$n" -eq 4 ]
	n=$(grep -cxE "MESSAGE${TAB}Please call me back on $TOK tonight\\." "$TMP/bodies")
	check "body scrub: every MESSAGE body with a token ($n of $((4 * NMSGS)))" [ "$n" -eq $((4 * NMSGS)) ]
	n=$(cols "$TMP/pc.csv" method body_length content_type | grep -cE "^MESSAGE${TAB}[0-9]+${TAB}text/plain")
	check "preset: MESSAGE records keep body_length and content_type ($n)" [ "$n" -eq $((4 * NMSGS)) ]
	check "preset: no body column" [ -z "$(head -1 "$TMP/pc.csv" | tr ',' '\n' | grep -x body)" ]
	sed 's/^body  *drop$/body              keep/' $SIPRULES >"$TMP/sip-keep.rules"
	crun "body keep" -r "$TMP/sip-keep.rules" -k "$KEY" --pcap "$PCAP"
	expect_rc "'body keep' refused" 78
	check "'body keep' refused at its rule, saying why" grep -qE 'sip-keep\.rules:[0-9]+:[0-9]+: .*body.* not keep' "$TMP/err"
	check "'body keep': nothing written" [ ! -s "$TMP/out" ]
	keep_for_scan bodykeep
	sed 's/^body  *drop$/body              length/' $SIPRULES >"$TMP/sip-length.rules"
	crun "body length" -r "$TMP/sip-length.rules" -k "$KEY" --pcap "$PCAP"
	expect_rc "'body length' accepted" 0
	keep_for_scan bodylength
fi

# The secrets: every number of the injection files in each form, the
# body numbers as written, Call-IDs, tags and branches of the traffic; the
# numbers of the hostile captures (part 8) too.
{
	tail -n +2 $SDIR/calls.csv | tr ';' '\n'
	tail -n +2 $SDIR/messages.csv | tr ';' '\n' | tr -d ' '
	printf '%s\n' 07700900151 07700900152 07700900153 07700900154 07700900155 \
		02079460151 02079460156 02079460157
} | nsn | sort -u >"$TMP/secret.nsn"
: >"$TMP/secret.str"
while read -r d; do
	printf '%s\n' "+44$d" "0044$d" "0$d" "$d" >>"$TMP/secret.str"
done <"$TMP/secret.nsn"
tail -n +2 $SDIR/messages.csv | cut -d';' -f3 >>"$TMP/secret.str"
printf '%s\n' SIPpTag z9hG4bK hostile- good- bs-1@ bs-2@ >>"$TMP/secret.str"
cat "$SP"/uac-*.log 2>/dev/null | cut -d';' -f1 | grep . >>"$TMP/secret.str"
awk '{ for (i = 1; i + 6 <= length($0); i++) print substr($0, i, 7) }' "$TMP/secret.nsn" | sort -u >"$TMP/secret.win"
# leaks FILE: what of the secrets FILE shows, on stdout.
leaks() {
	grep -aoF -f "$TMP/secret.str" "$1" | sort -u | head -5
	grep -aoE '(^|[^0-9.])127\.0\.0\.1([^0-9]|$)' "$1" | head -1
	grep -aoE '(^|[^0-9A-Fa-f:])::1([^0-9A-Fa-f:]|$)' "$1" | head -1
	# 7 digits of a number in a row, separators (blank . - / ( )) taken out
	sed -E 's/[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/IPV4/g; s/[][ .()\/-]//g' "$1" |
		awk 'NR == FNR { w[$0] = 1; next }
		{ s = $0; while (match(s, /[0-9][0-9][0-9][0-9][0-9][0-9][0-9]+/)) {
			r = substr(s, RSTART, RLENGTH)
			for (i = 1; i + 6 <= length(r); i++) if (substr(r, i, 7) in w) { print "digits " substr(r, i, 7); exit }
			s = substr(s, RSTART + RLENGTH) } }' "$TMP/secret.win" -
}
printf 'Call 0770-0900 141 now\n' >"$TMP/leak.selftest"
leaks "$TMP/leak.selftest" >"$TMP/leak.selftest.out"
check "leak search finds a number written with separators" grep -q '^digits ' "$TMP/leak.selftest.out"
if [ $TRAFFIC = yes ]; then
	# The search finds what the traffic holds (else a clean result means nothing).
	found=$(leaks "$PCAP" | wc -l)
	check "leak search finds numbers, tags and 127.0.0.1 in tcpdump's capture ($found)" [ "$found" -ge 5 ]
	check "the capture holds IPv6 loopback SIP" grep -aqF 'SIP/2.0/UDP [::1]' "$PCAP"
	for f in $SCAN; do
		l=$(leaks "$f" | tr '\n' ' ')
		if [ -z "$l" ]; then ok; else fail "leak in $(basename "$f"): $l"; fi
	done
	check "leak scan covered the runs ($(echo $SCAN | wc -w) files)" [ "$(echo $SCAN | wc -w)" -ge 16 ]
fi

# ============================================= 5. RFC 4475 torture messages
# Each file one UDP/IPv4 datagram, frame i = file i (sorted). Outcome:
# record, or reject with the reason cdrmin names (reason sip). notsip: the
# start line is not a SIP start line, so the packet stage does not hand it
# on (counted 'other', no reject); with --sip-ports 5060 it reaches the
# parser and is rejected with that reason.
# RFC 4475 sections: 3.1.1 valid (all must be records), 3.1.2 invalid,
# 3.2-3.4 valid syntax with transaction or application-layer problems.
# file|outcome|reason|section|note
cat >"$TMP/torture.expected" <<'EOF'
wsinv|record||3.1.1.1|short tortuous INVITE
intmeth|record||3.1.1.2|wide range of valid characters (a NUL in a quoted display name)
esc01|record||3.1.1.3|valid % escaping
escnull|record||3.1.1.4|escaped NULs in URIs
esc02|record||3.1.1.5|% that is not an escape
lwsdisp|record||3.1.1.6|no LWS between display name and <
longreq|record||3.1.1.7|long values in header fields
semiuri|record||3.1.1.9|; in the URI user part
transports|record||3.1.1.10|varied and unknown transports
mpart01|record||3.1.1.11|multipart MIME body
badinv01|reject|not a SIP message|3.1.2.1|extraneous header field separators
clerr|reject|not a SIP message|3.1.2.2|Content-Length larger than the message
ncl|reject|bad Content-Length|3.1.2.3|negative Content-Length
scalar02|reject|bad CSeq|3.1.2.4|overlarge request scalars
scalarlg|reject|bad CSeq|3.1.2.5|overlarge response scalars
quotbal|reject|not a SIP message|3.1.2.6|unterminated quoted display name
lwsruri|notsip|not a SIP message|3.1.2.8|LWS inside the Request-URI
lwsstart|notsip|not a SIP message|3.1.2.9|several SP between request-line elements
trws|notsip|not a SIP message|3.1.2.10|SP at the end of the request line
escruri|record||3.1.2.11|escaped headers in the Request-URI: libosip2 reads them as the URI's headers (RFC 4475 lets a receiver ignore them)
regbadct|record||3.1.2.13|name-addr without <>: the ?Route= part goes with the URI, user and host are sound
badaspec|reject|not a SIP message|3.1.2.14|spaces within addr-spec
baddn|reject|not a SIP message|3.1.2.15|non-token characters in a display name
badvers|notsip|not SIP/2.0|3.1.2.16|unknown protocol version SIP/7.0
mismatch02|reject|CSeq method differs from the request's|3.1.2.18|unknown method, CSeq method mismatch
bigcode|notsip|bad status code|3.1.2.19|overlarge response code
badbranch|record||3.2.1|missing transaction identifier (a transaction-layer matter)
unkscm|record||3.3.2|Request-URI of unknown scheme
novelsc|reject|not a SIP message|3.3.3|known but atypical scheme soap.beep: libosip2 takes only letters in a URI scheme (limitation)
unksm2|record||3.3.4|unknown URI schemes in header fields
invut|record||3.3.6|unknown Content-Type
regaut01|record||3.3.7|unknown authorization scheme
multi01|reject|not a SIP message|3.3.8|several values in single-value headers (RFC 4475: 400)
mcl01|reject|not a SIP message|3.3.9|several Content-Length values (RFC 4475: 400)
bcast|record||3.3.10|200 OK with a broadcast Via
zeromf|record||3.3.11|Max-Forwards 0
cparam01|record||3.3.12|REGISTER with a Contact parameter
cparam02|record||3.3.13|REGISTER with a url-parameter
sdp01|record||3.3.15|unacceptable Accept
inv2543|record||3.4.1|RFC 2543 syntax
EOF
ls $CORPUS/sip-torture/*.dat | sort >"$TMP/torture.files"
nt=$(wc -l <"$TMP/torture.files")
check "torture corpus: $nt files, $(wc -l <"$TMP/torture.expected") in the table" [ "$nt" -eq "$(wc -l <"$TMP/torture.expected")" ]
$PY $SDIR/mkpcap.py udp "$TMP/torture.pcap" $(cat "$TMP/torture.files")
# frame|file|outcome|reason
awk '{ n = split($0, p, "/"); sub(/\.dat$/, "", p[n]); print NR "|" p[n] }' "$TMP/torture.files" >"$TMP/torture.frames"
awk -F'|' 'NR == FNR { want[$1] = $2 "|" $3; next } { print $1 "|" $2 "|" (($2 in want) ? want[$2] : "unlisted|") }' \
	"$TMP/torture.expected" "$TMP/torture.frames" >"$TMP/torture.want"
check "torture corpus: every file in the table" [ "$(grep -c '|unlisted|' "$TMP/torture.want")" -eq 0 ]
n=$(awk -F'|' '$4 ~ /^3\.1\.1\./ && $2 != "record"' "$TMP/torture.expected" | wc -l)
check "torture: the table makes every valid message of 3.1.1 a record" [ "$n" -eq 0 ]
mkrules "$TMP/frame.rules" 'format sip' 'time keep' 'method keep' 'status keep' '* drop'
for mode in default sip-ports; do
	extra=""
	[ $mode = sip-ports ] && extra="--sip-ports 5060"
	crun "torture ($mode)" -r $SIPRULES -k "$KEY" --stats $extra --pcap "$TMP/torture.pcap"
	expect_rc "torture ($mode): some rejected" 65
	balanced "torture ($mode)"
	cp "$TMP/err" "$TMP/torture.err"
	nrej=$(statv rejected)
	nsip=$(grep -c 'record rejected (sip)' "$TMP/err")
	check "torture ($mode): each reject reported with reason sip ($nsip of $nrej)" [ "$nsip" -eq "$nrej" ]
	check "torture ($mode): only cdrmin's messages on stderr (no libosip2 trace)" [ -z "$(grep -v '^cdrmin: ' "$TMP/err")" ]
	stat_is "torture ($mode)" frames "$nt"
	nnot=$(grep -c '|notsip|' "$TMP/torture.want")
	if [ $mode = default ]; then
		stat_is "torture: the notsip ones are not SIP to the packet stage" other "$nnot"
		stat_is "torture: the others are SIP messages" sip-messages $((nt - nnot))
	else
		stat_is "torture (--sip-ports): every frame a SIP message" sip-messages "$nt"
	fi
	# outcomes by frame: records by their capture time (frame i at T0 + i ms),
	# rejects by the frame their message names
	crun "torture times ($mode)" -r "$TMP/frame.rules" $extra --pcap "$TMP/torture.pcap"
	cols "$TMP/out" time | sed -n 's/.*:[0-9][0-9]\.\([0-9][0-9][0-9]\)000Z$/\1/p' |
		awk '{ print ($1 + 0) "|record|" }' >"$TMP/torture.got"
	sed -n 's/.*torture\.pcap: frame \([0-9]*\): record rejected (sip): \(.*\)$/\1|reject|\2/p' "$TMP/torture.err" >>"$TMP/torture.got"
	awk -F'|' -v m=$mode '{ o = $3; if (o == "notsip") o = (m == "default" ? "" : "reject"); if (o != "") print $1 "|" o "|" $4 }' \
		"$TMP/torture.want" | sort -t'|' -k1,1n >"$TMP/torture.want.$mode"
	sort -t'|' -k1,1n "$TMP/torture.got" >"$TMP/torture.got.$mode"
	if cmp -s "$TMP/torture.want.$mode" "$TMP/torture.got.$mode"; then ok; else
		fail "torture ($mode): outcomes differ from the table (< table, > cdrmin):"
		diff "$TMP/torture.want.$mode" "$TMP/torture.got.$mode" | grep '^[<>]' |
			while IFS='|' read -r fr oc why; do
				echo "  ${fr%% *} $(sed -n "${fr#? }p" "$TMP/torture.frames" | cut -d'|' -f2) $oc $why"
			done >&2
	fi
done
# The unit tests (tests/test_sip.c, the decoder alone) expect the same of
# each file: a record, or a reject with the same reason.
if [ -f tests/test_sip.c ]; then
	sed -n 's/^[[:space:]]*{ "\([a-z0-9]*\)\.dat", "[0-9.]*", [01], \(NULL\|"[^"]*"\).*/\1|\2/p' tests/test_sip.c |
		sed 's/|NULL$/|record|/; s/|"\(.*\)"$/|reject|\1/' | sort >"$TMP/torture.unit"
	awk -F'|' '{ print $1 "|" ($2 == "notsip" ? "reject" : $2) "|" $3 }' "$TMP/torture.expected" | sort >"$TMP/torture.mine"
	n=$(wc -l <"$TMP/torture.unit")
	check "tests/test_sip.c: its RFC 4475 table read ($n files)" [ "$n" -eq "$nt" ]
	expect_same "tests/test_sip.c and this table expect the same of every torture file" "$TMP/torture.unit" "$TMP/torture.mine"
fi

# ================================================= 6. IPv6 fragments
V6=$CORPUS/pcap/ipv6frag.pcap
$PY $SDIR/sipcount.py messages $V6 >"$TMP/v6.msgs" 2>"$TMP/v6.stats"
nmsg=$(wc -l <"$TMP/v6.msgs")
nreas=$(sed -n 's/.*reassembled=\([0-9]*\).*/\1/p' "$TMP/v6.stats")
nfrag=$(sed -n 's/.*fragments=\([0-9]*\).*/\1/p' "$TMP/v6.stats")
check "ipv6frag: python finds fragmented SIP ($nmsg messages, $nreas reassembled)" test "$nmsg" -ge 2 -a "$nreas" -ge 1
crun "ipv6frag" -r $SIPRULES -k "$KEY" --stats --pcap $V6
# Frame 24 holds a 200 OK with two Content-Type headers, which libosip2
# refuses (Content-Type is single-valued): the one reject.
expect_rc "ipv6frag: the one reject" 65
for s in fd17:625c:f037 SIPpTag sip: mcr@ sipp@; do
	if grep -qiF -- "$s" "$TMP/out" "$TMP/err"; then fail "ipv6frag: '$s' in the output"; else ok; fi
done
balanced "ipv6frag"
stat_is "ipv6frag: fragments" fragments "$nfrag"
stat_is "ipv6frag: reassembled" reassembled "$nreas"
stat_is "ipv6frag: fragments dropped" fragments-dropped 0
stat_is "ipv6frag: SIP messages" sip-messages "$nmsg"
stat_is "ipv6frag: written" written $((nmsg - 1))
expect_grep "ipv6frag: frame 24 rejected (sip)" "$TMP/err" "ipv6frag.pcap: frame 24: record rejected (sip)"
awk -F'\t' '$12 != 24 { print ($8 ~ /^[0-9]+$/ ? "status " : "method ") $8 }' "$TMP/v6.msgs" | sort | uniq -c >"$TMP/v6.want"
cols "$TMP/out" method status | awk -F'\t' '{ print ($1 != "" ? "method " $1 : "status " $2) }' | sort | uniq -c >"$TMP/v6.got"
expect_same "ipv6frag: records by method and status" "$TMP/v6.want" "$TMP/v6.got"
bad=$(cols "$TMP/out" src_ip dst_ip transport | awk -F'\t' '$1 !~ /:/ || $2 !~ /:/ || $3 != "udp" { n++ } END { print n + 0 }')
check "ipv6frag: IPv6 pseudonyms, udp ($bad not)" [ "$bad" -eq 0 ]
# the reassembled datagrams are records: their capture times are there
crun "ipv6frag times" -r "$TMP/frame.rules" --pcap $V6
awk -F'\t' '$11 == 1 { print $1 }' "$TMP/v6.msgs" |
	$PY -c 'import sys, datetime
for l in sys.stdin:
    t = float(l)
    print(datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % round((t - int(t)) * 1e6))' >"$TMP/v6.reas"
n=0
while read -r t; do
	cols "$TMP/out" time method | grep -q "^$t${TAB}INVITE\$" && n=$((n + 1))
done <"$TMP/v6.reas"
check "ipv6frag: the $nreas reassembled INVITEs are records ($n)" [ "$n" -eq "$nreas" ]

# ======================================================= 7. Crypto-PAn
CPK=$(sed -n 's/^key //p' $VECTORS/cryptopan-sample.txt)
printf '%s' "$CPK" >"$TMP/cpan.hex"
chmod 600 "$TMP/cpan.hex"
$PY -c 'import sys; open(sys.argv[2], "wb").write(bytes.fromhex(sys.argv[1]))' "$CPK" "$TMP/cpan.raw"
chmod 600 "$TMP/cpan.raw"
mkrules "$TMP/cpan.rules" 'format csv' 'ip ip prefix' '* drop'
{ echo ip; grep -E '^[0-9]+\.[0-9.]+ [0-9.]+$' $VECTORS/cryptopan-sample.txt | cut -d' ' -f1; } >"$TMP/cpan.csv"
{ echo ip; grep -E '^[0-9]+\.[0-9.]+ [0-9.]+$' $VECTORS/cryptopan-sample.txt | cut -d' ' -f2; } >"$TMP/cpan.want"
nv=$(($(wc -l <"$TMP/cpan.csv") - 1))
check "Crypto-PAn sample: $nv address pairs" [ "$nv" -ge 5 ]
crun "cryptopan sample" -r "$TMP/cpan.rules" -k "$KEY" --cryptopan-key "$TMP/cpan.hex" "$TMP/cpan.csv"
expect_rc "Crypto-PAn sample (hex key)" 0
expect_same "Crypto-PAn: every sample address maps to its listed pseudonym" "$TMP/cpan.want" "$TMP/out"
crun "cryptopan raw key" -r "$TMP/cpan.rules" -k "$KEY" --cryptopan-key "$TMP/cpan.raw" "$TMP/cpan.csv"
expect_rc "Crypto-PAn sample (raw 32-byte key)" 0
expect_same "Crypto-PAn: raw and hex key files agree" "$TMP/cpan.want" "$TMP/out"
cp "$TMP/cpan.hex" "$TMP/cpan.644"
chmod 644 "$TMP/cpan.644"
crun "cryptopan key 0644" -r "$TMP/cpan.rules" -k "$KEY" --cryptopan-key "$TMP/cpan.644" "$TMP/cpan.csv"
expect_rc "Crypto-PAn key readable by others refused" 77
# IPv6: the common prefix of two addresses, in bits, is the common prefix
# of their pseudonyms.
printf '%s\n' ip 2001:db8:1:aaaa::1 2001:db8:1:bbbb::2 2001:db8:1:aaaa::2 2001:db8:1:aaaa:0:0:0:1 \
	2001:db8:2::1 2001:db8:ffff:1::1 2001:db9::1 fe80::1 ::1 ::2 >"$TMP/cpan6.csv"
crun "cryptopan v6" -r "$TMP/cpan.rules" -k "$KEY" --cryptopan-key "$TMP/cpan.hex" "$TMP/cpan6.csv"
expect_rc "Crypto-PAn IPv6" 0
cp "$TMP/out" "$TMP/cpan6.out"
paste -d, "$TMP/cpan6.csv" "$TMP/cpan6.out" | tail -n +2 >"$TMP/cpan6.pairs"
cat >"$TMP/prefix.py" <<'EOF'
import ipaddress, sys
rows = [l.strip().split(',') for l in open(sys.argv[1]) if l.strip()]
def common(a, b):
    x = int(ipaddress.ip_address(a)) ^ int(ipaddress.ip_address(b))
    return 128 - x.bit_length()
bad = 0
for i in range(len(rows)):
    try:
        ipaddress.IPv6Address(rows[i][1])
    except ValueError:
        print('not an IPv6 address: %s' % rows[i][1]); bad += 1
    for j in range(i + 1, len(rows)):
        a, b = common(rows[i][0], rows[j][0]), common(rows[i][1], rows[j][1])
        if a != b or (a >= 48) != (b >= 48):
            print('%s %s share %d bits, their pseudonyms %d' % (rows[i][0], rows[j][0], a, b)); bad += 1
same = sum(1 for i in range(len(rows)) for j in range(i + 1, len(rows))
           if ipaddress.ip_address(rows[i][0]) == ipaddress.ip_address(rows[j][0]))
print('pairs=%d same=%d bad=%d' % (len(rows) * (len(rows) - 1) // 2, same, bad))
EOF
$PY "$TMP/prefix.py" "$TMP/cpan6.pairs" >"$TMP/prefix.out"
if grep -q ' bad=0$' "$TMP/prefix.out"; then ok; else fail "Crypto-PAn IPv6 prefixes: $(head -3 "$TMP/prefix.out" | tr '\n' ';')"; fi
check "Crypto-PAn IPv6: one address written two ways, one pseudonym" grep -q ' same=1 ' "$TMP/prefix.out"
n=$(cut -d, -f1 "$TMP/cpan6.pairs" | grep -c '^2001:db8:1:')
m=$(grep '^2001:db8:1:' "$TMP/cpan6.pairs" | cut -d, -f2 | $PY -c 'import ipaddress, sys
print(len({int(ipaddress.ip_address(l.strip())) >> 80 for l in sys.stdin}))')
check "Crypto-PAn IPv6: the $n addresses of 2001:db8:1::/48 share one /48 after ($m)" [ "$m" -eq 1 ]
# Without --cryptopan-key: one key per epoch (month), derived from -k.
mkrules "$TMP/cpan-epoch.rules" 'format csv' 'epoch month of time' 'time keep' 'ip ip prefix' '* drop'
printf '%s\n' time,ip 2026-01-15T10:00:00Z,192.0.2.1 2026-01-31T23:59:59Z,192.0.2.1 2026-02-01T00:00:00Z,192.0.2.1 \
	2026-01-15T10:00:00Z,2001:db8::1 2026-02-15T10:00:00Z,2001:db8::1 >"$TMP/cpan-epoch.csv"
crun "cryptopan epochs" -r "$TMP/cpan-epoch.rules" -k "$KEY" "$TMP/cpan-epoch.csv"
expect_rc "Crypto-PAn per epoch" 0
cut -d, -f2 "$TMP/out" | tail -n +2 >"$TMP/ep"
check "Crypto-PAn per epoch: same month, same pseudonym" [ "$(sed -n 1p "$TMP/ep")" = "$(sed -n 2p "$TMP/ep")" ]
check "Crypto-PAn per epoch: next month, another (IPv4)" [ "$(sed -n 2p "$TMP/ep")" != "$(sed -n 3p "$TMP/ep")" ]
check "Crypto-PAn per epoch: next month, another (IPv6)" [ "$(sed -n 4p "$TMP/ep")" != "$(sed -n 5p "$TMP/ep")" ]
check "Crypto-PAn per epoch: an address of the same family" \
	test -z "$(sed -n 1,3p "$TMP/ep" | grep -v '^[0-9.]*$')$(sed -n 4,5p "$TMP/ep" | grep -v ':')"
crun "cryptopan epochs, other key" -r "$TMP/cpan-epoch.rules" -k "$OTHER_KEY" "$TMP/cpan-epoch.csv"
check "Crypto-PAn per epoch: another -k key, another pseudonym" \
	[ "$(cut -d, -f2 "$TMP/out" | sed -n 2p)" != "$(sed -n 1p "$TMP/ep")" ]
crun "cryptopan epochs, one key" -r "$TMP/cpan-epoch.rules" -k "$KEY" --cryptopan-key "$TMP/cpan.hex" "$TMP/cpan-epoch.csv"
cut -d, -f2 "$TMP/out" | tail -n +2 >"$TMP/ep1"
check "Crypto-PAn with --cryptopan-key: one pseudonym across months (IPv4)" \
	[ "$(sed -n 1p "$TMP/ep1")" = "$(sed -n 3p "$TMP/ep1")" ]
check "Crypto-PAn with --cryptopan-key: one pseudonym across months (IPv6)" \
	[ "$(sed -n 4p "$TMP/ep1")" = "$(sed -n 5p "$TMP/ep1")" ]
check "Crypto-PAn with --cryptopan-key: 192.0.2.1 replaced" [ "$(sed -n 1p "$TMP/ep1")" != "192.0.2.1" ]

# ================================================== 8. hostile captures
HD="$TMP/hostile"
$PY $SDIR/mkpcap.py hostile "$HD"
# Each: exit status, records, rejects and their reason, a counter of the
# summary (see tests/sip/mkpcap.py for the files):
#   caplen > len: that frame counted malformed and skipped, the others records
#   snaplen 0x7fffffff, a 300000-byte record; a truncated last record; a
#   pcapng block claiming 16 MiB: libpcap refuses the file there, the frames
#   before it are records, one 'truncated' reject names the frame
#   Content-Length 2^32 + 32 over UDP: rejected (more than the datagram holds)
#   over TCP: cannot be framed (counted tcp-unframed, and one reject, reason
#   sip, for the message lost), framing resumes at the next start line: the
#   OPTIONS after it is a record
#   a display name ending in a lone backslash (From): rejected; a PAI display
#   name of one backslash: a record without asserted identity
#   two To headers with empty tags: rejected
#   a 65000-byte header in one datagram: a record; a 64 KiB header over TCP:
#   longer than a message may be (64 KiB), not framed (a reject), the next one is
# file exit records rejects reason counter
cat >"$TMP/hostile.expected" <<'EOF'
caplen-gt-len.pcap    0  2 0 -         malformed=1
big-snaplen.pcap      65 1 1 truncated frames=1
truncated-last.pcap   65 2 1 truncated frames=2
pcapng-16m.pcapng     65 1 1 truncated frames=1
cl-overflow-udp.pcap  65 0 1 sip       sip-messages=1
cl-overflow-tcp.pcap  65 1 1 -         tcp-unframed=1
lone-backslash.pcap   65 1 1 sip       sip-messages=2
two-to-empty-tag.pcap 65 0 1 sip       sip-messages=1
big-header-udp.pcap   0  1 0 -         sip-messages=1
big-header-tcp.pcap   65 1 1 -         tcp-unframed=1
EOF
while read -r f want nrec_want nrej_want why counter; do
	crun "hostile $f" -r $SIPRULES -k "$KEY" --stats --pcap "$HD/$f"
	keep_for_scan "hostile-$f"
	if [ "$RC" -eq 0 ] || [ "$RC" -eq 65 ]; then ok; else fail "hostile $f: exit $RC, expected 0 or 65"; fi
	expect_rc "hostile $f" "$want"
	balanced "hostile $f"
	stat_is "hostile $f: records" written "$nrec_want"
	stat_is "hostile $f: rejects" rejected "$nrej_want"
	stat_is "hostile $f" "${counter%=*}" "${counter#*=}"
	if [ "$why" != - ]; then
		n=$(grep -c "$f: frame [0-9]*: record rejected ($why): ." "$TMP/err")
		check "hostile $f: each reject named with its frame, reason $why and why ($n)" [ "$n" -eq "$nrej_want" ]
	fi
	check "hostile $f: CSV header on stdout" [ "$(head -1 "$TMP/out" | cut -d, -f1-3)" = "time,transport,src_ip" ]
	check "hostile $f: only cdrmin's messages on stderr" [ -z "$(grep -v '^cdrmin: ' "$TMP/err")" ]
done <"$TMP/hostile.expected"
# What the records are: the datagrams around the damaged frame; the second
# of lone-backslash (P-Asserted-Identity display name "\") without its
# asserted identity; on TCP, the good OPTIONS after the message that cannot
# be framed (a 64 KiB header; a Content-Length of 2^32 + 32): framing
# resumes at the next start line; never the MESSAGE whose Content-Length
# is 2^32 + 32 read as 32.
mkrules "$TMP/hostile-keep.rules" 'format sip' 'call_id keep' 'method keep' 'pai_user keep' 'body_length keep' '* drop'
crun "hostile kept" -r "$TMP/hostile-keep.rules" --pcap "$HD/caplen-gt-len.pcap"
check "caplen > len: frames 1 and 3 are records, frame 2 skipped" \
	[ "$(cols "$TMP/out" call_id | tr '\n' ' ')" = "good-1@127.0.0.1 good-3@127.0.0.1 " ]
crun "hostile kept" -r "$TMP/hostile-keep.rules" --pcap "$HD/lone-backslash.pcap"
check "lone backslash in the PAI display name: a record, no asserted identity" \
	[ "$(cols "$TMP/out" call_id pai_user | tr '\t\n' '; ')" = "bs-2@127.0.0.1; " ]
for f in big-header-tcp.pcap cl-overflow-tcp.pcap; do
	crun "hostile kept" -r "$TMP/hostile-keep.rules" --pcap "$HD/$f"
	check "$f: the message after the one that cannot be framed is a record" \
		[ "$(cols "$TMP/out" call_id | tr '\n' ' ')" = "good-after@127.0.0.1 " ]
done
for f in cl-overflow-udp.pcap cl-overflow-tcp.pcap; do
	crun "hostile kept" -r "$TMP/hostile-keep.rules" --pcap "$HD/$f"
	check "$f: no MESSAGE record with a 32-byte body" [ -z "$(cols "$TMP/out" method body_length | grep -x "MESSAGE${TAB}32")" ]
done
for f in $(cut -d' ' -f1 "$TMP/hostile.expected"); do
	l=$(leaks "$TMP/scan.hostile-$f.out" | tr '\n' ' ')$(leaks "$TMP/scan.hostile-$f.err" | tr '\n' ' ')
	if [ -z "$l" ]; then ok; else fail "hostile $f: leak: $l"; fi
done
# Every hostile frame once more through --calls and --sip-ports: still clean.
for f in $(cut -d' ' -f1 "$TMP/hostile.expected"); do
	crun "hostile --calls $f" -r $CALLRULES -k "$KEY" --calls --sip-ports 5060 --pcap "$HD/$f"
	if [ "$RC" -eq 0 ] || [ "$RC" -eq 65 ]; then ok; else fail "hostile --calls $f: exit $RC"; fi
done

# ---------------------------------------------------------------- summary
if [ "${VERBOSE:-0}" = 1 ] || [ "$FAIL" -ne 0 ]; then
	[ -s "$TMP/count.sipp" ] && { echo "sip: messages (count transport family kind):"; cat "$TMP/count.sipp"; } >&2
	echo "sip: $NCALLS calls and $NMSGS MESSAGEs per run ($RUNS), live capture: $LIVE_OK, $(($(date +%s) - T0)) s" >&2
fi
echo "sip: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
