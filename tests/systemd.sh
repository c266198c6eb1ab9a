#!/bin/sh
# The example unit src/systemd/cdrmin-capture@.service, as far as a machine
# without systemd running can test it:
#   1. systemd-analyze verify: no warning; systemd-analyze security
#      --offline: exposure at most 2.5 (of 10)
#   2. its sandbox fits cdrmin: every system call and socket family of a
#      live capture (under strace) is allowed by the unit's
#      SystemCallFilter= and RestrictAddressFamilies=
#   3. its ExecStartPre= and ExecStart= lines, specifiers expanded (%i lo,
#      %d a credentials directory, %L a logs directory), run as the user
#      nobody with exactly the unit's capabilities (setpriv: ambient and
#      bounding set CAP_NET_RAW, no_new_privs) and the key as systemd 252
#      hands over a credential (a copy owned by the user, mode 0400): SIP
#      OPTIONS sent to 127.0.0.1 become JSON lines records, SIGTERM ends it
#      with exit 0; SIGHUP after mv reopens the output; a restart moves the
#      last output aside instead of truncating it
#   4. the same without CAP_NET_RAW: exit 77, the missing capability named
# Usage: CDRMIN=build/cdrmin sh tests/systemd.sh   Prints "systemd: N passed, M failed".
cd "$(dirname "$0")/.." || exit 1
LC_ALL=C
export LC_ALL
. tests/lib.sh
UNIT=src/systemd/cdrmin-capture@.service
PID=""
SPID=""
# The captures this test started end with it, whatever fails first.
trap 'for p in $PID $SPID; do kill -TERM "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
BIN=$(readlink -f "${CDRMIN##* }")

finish() {
	printf 'systemd: '
	summary
	exit $?
}

ROOT=""
if [ "$(id -u)" -ne 0 ]; then
	if sudo -n true 2>/dev/null; then ROOT="sudo -n"; else
		fail "not root and 'sudo -n' is refused: setpriv cannot switch to the service user"
		finish
	fi
fi
for t in systemd-analyze setpriv strace python3; do
	command -v $t >/dev/null 2>&1 || fail "$t is missing (make test-deps installs it)"
done
[ "$FAIL" -eq 0 ] || finish

# value KEY: the unit's last KEY= value.
value() {
	sed -n "s/^$1=//p" "$UNIT" | tail -1
}

# --- 1. verify, security -----------------------------------------------------------
mkdir "$TMP/units"
sed "s|/usr/local/bin/cdrmin|$BIN|" "$UNIT" >"$TMP/units/cdrmin-capture@lo.service"
systemd-analyze verify --man=no "$TMP/units/cdrmin-capture@lo.service" >"$TMP/verify" 2>&1
check "systemd-analyze verify: exit 0" [ $? -eq 0 ]
check "systemd-analyze verify: no warning ($(head -1 "$TMP/verify"))" [ ! -s "$TMP/verify" ]
systemd-analyze security --offline=true "$TMP/units/cdrmin-capture@lo.service" >"$TMP/security" 2>&1
exposure=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' "$TMP/security")
echo "systemd: exposure level $exposure" >&2
check "systemd-analyze security: exposure $exposure <= 2.5" \
	awk -v e="$exposure" 'BEGIN { exit !(e != "" && e + 0 <= 2.5) }'
check "AmbientCapabilities=CAP_NET_RAW" [ "$(value AmbientCapabilities)" = CAP_NET_RAW ]
check "CapabilityBoundingSet=CAP_NET_RAW" [ "$(value CapabilityBoundingSet)" = CAP_NET_RAW ]
check "NoNewPrivileges=yes" [ "$(value NoNewPrivileges)" = yes ]
check "ProtectSystem=strict" [ "$(value ProtectSystem)" = strict ]
check "the key as a credential" [ "$(value LoadCredential)" = key:/etc/cdrmin/key ]
check "Restart=on-failure" [ "$(value Restart)" = on-failure ]
check "no restart on exit 77 (no capability, bad key)" sh -c "sed -n 's/^RestartPreventExitStatus=//p' '$UNIT' | grep -qw 77"
check "a user of its own" [ "$(value User)" = cdrmin ]

# The unit's command lines, specifiers expanded for a run here.
PORT=$((20000 + $$ % 20000))
CRED="$TMP/cred"
LOGS="$TMP/log"
mkdir -p "$CRED" "$LOGS/cdrmin"
cp "$KEY" "$CRED/key"
chown 65534:65534 "$CRED" "$CRED/key" "$LOGS/cdrmin"
chmod 0400 "$CRED/key"
chmod 0500 "$CRED"
chmod 0750 "$LOGS/cdrmin"
chmod 0755 "$TMP"
RULES_V=$(sed -n 's/^Environment=RULES=//p' "$UNIT")
check "the default rules are the installed sip preset" [ "$RULES_V" = /usr/local/share/cdrmin/rules/sip.rules ]
cp rules/sip.rules "$TMP/sip.rules"
chmod 0644 "$TMP/sip.rules"
# expand LINE: %i %I %d %L, ${RULES} ${BPF} (here: this test's port), $$ and %%.
expand() {
	printf '%s\n' "$1" | sed -e 's/%%/\x01/g' -e "s|%[iI]|lo|g; s|%d|$CRED|g; s|%L|$LOGS|g" \
		-e "s|\${RULES}|$TMP/sip.rules|g; s|\${BPF}|'udp port $PORT'|g" \
		-e "s|/usr/local/bin/cdrmin|$BIN|" -e 's/\$\$/$/g; s/\x01/%/g'
}
PRE=$(expand "$(value ExecStartPre)")
START=$(expand "$(value ExecStart)")
OUT="$LOGS/cdrmin/sip-lo.jsonl"
check "the records go to the logs directory" sh -c "printf '%s' \"\$1\" | grep -q -- '-o $OUT'" sh "$START"
AMB=$(value AmbientCapabilities | tr 'A-Z' 'a-z' | sed 's/cap_//g')
BND=$(value CapabilityBoundingSet | tr 'A-Z' 'a-z' | sed 's/cap_//g')
AS_USER="setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs"
WITH_CAPS="$AS_USER --inh-caps=-all,+$AMB --ambient-caps=-all,+$AMB --bounding-set=-all,+$BND"

# probes FIRST N: SIP OPTIONS FIRST.. from 127.0.0.1 to PORT (synthetic
# numbers), 20 ms apart: the capture's ring (snaplen 262144, libpcap's
# default 2 MB buffer, immediate mode) holds only a few frames, and a burst
# sent while cdrmin waits for a core is dropped by the kernel (counted in
# "frames dropped by the kernel"); that is the capture's matter, not the unit's.
probes() {
	python3 - "$PORT" "$1" "$2" <<'EOF'
import socket, sys, time
port, first, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(first, first + n):
    m = ("OPTIONS sip:+44207946%04d@127.0.0.1 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 127.0.0.1:5098;branch=z9hG4bK-h6-%d\r\n"
         "From: <sip:+44770090%04d@127.0.0.1>;tag=f%d\r\n"
         "To: <sip:+44207946%04d@127.0.0.1>\r\n"
         "Call-ID: probe-%d@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
         "Content-Length: 0\r\n\r\n") % (i, i, i, i, i, i)
    s.sendto(m.encode(), ("127.0.0.1", port))
    time.sleep(0.02)
EOF
}
# lines FILE: its number of lines (0 when missing).
lines() {
	if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}
# wait_for FILE N: until FILE has N lines, 10 s at most.
wait_for() {
	_i=0
	while [ $_i -lt 100 ] && [ "$(lines "$1")" -lt "$2" ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}
# start PREFIX: runs ExecStartPre then ExecStart under PREFIX (setpriv ...),
# in the background; PID is cdrmin's.
start() {
	eval "$AS_USER $PRE" 2>"$TMP/pre.err"
	eval "exec $1 $START" </dev/null >"$TMP/svc.out" 2>"$TMP/svc.err" &
	PID=$!
	# capturing once the first probe comes out
	_i=0
	while [ $_i -lt 50 ] && kill -0 $PID 2>/dev/null && [ "$(lines "$OUT")" -lt 1 ]; do
		probes 9000 1
		sleep 0.2
		_i=$((_i + 1))
	done
}
# stop: SIGTERM, wait; RC its exit status.
stop() {
	kill -TERM $PID 2>/dev/null
	wait $PID
	RC=$?
}

# --- 3. the unit's commands as the service user -----------------------------------
start "$WITH_CAPS"
check "the service's cdrmin runs as nobody with CAP_NET_RAW" kill -0 $PID
grep -q 'Cap' /proc/$PID/status 2>/dev/null &&
	check "its effective capabilities are CAP_NET_RAW alone" \
		[ "$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/$PID/status)" = 0000000000002000 ]
check "its user is nobody" [ "$(stat -c %u /proc/$PID)" = 65534 ]
# settled FILE: until its line count stays the same for 0.5 s (a readiness
# probe still on its way is written before the count is taken).
settled() {
	_i=0
	_a=-1
	while [ $_i -lt 20 ] && [ "$_a" != "$(lines "$1")" ]; do
		_a=$(lines "$1")
		sleep 0.5
		_i=$((_i + 1))
	done
}
settled "$OUT"
base=$(lines "$OUT")
probes 0 20
wait_for "$OUT" $((base + 20))
got=$(($(lines "$OUT") - base))
check "20 probes are 20 records while it runs ($got)" [ "$got" -eq 20 ]
# log rotation: mv, SIGHUP, then the next records in a new file
mv "$OUT" "$OUT.1"
kill -HUP $PID
probes 100 5
wait_for "$OUT" 5
check "after mv and SIGHUP the records go to a new file" [ "$(lines "$OUT")" -eq 5 ]
stop
check "SIGTERM: exit 0" [ "$RC" -eq 0 ]
expect_grep "SIGTERM: stopped by SIGTERM" "$TMP/svc.err" "cdrmin: stopped by SIGTERM"
drops=$(sed -n 's/.*frames dropped by the kernel=\([0-9]*\).*/\1/p' "$TMP/svc.err")
check "no frame dropped by the kernel (${drops:-not reported})" [ "${drops:-0}" -eq 0 ]
check "the output is the service user's" [ "$(stat -c %u "$OUT")" = 65534 ]
check "the records are JSON lines" python3 -c '
import json, sys
for f in sys.argv[1:]:
    for line in open(f):
        json.loads(line)
' "$OUT.1" "$OUT"
if grep -qE '7946|770090|127\.0\.0\.1|probe-' "$OUT.1" "$OUT" "$TMP/svc.err"; then
	fail "a number, address or Call-ID of the probes in the output or stderr"
else ok; fi
# A restart (Restart=on-failure) runs ExecStartPre again: the output is kept.
cp "$OUT" "$TMP/before-restart"
start "$WITH_CAPS"
stop
moved=$(ls "$LOGS/cdrmin" | grep -c '^sip-lo\.jsonl\.[0-9]\{8\}T[0-9]\{6\}Z$')
check "a restart moves the last output aside ($moved)" [ "$moved" -eq 1 ]
expect_same "the moved file is the last run's output" "$TMP/before-restart" "$(ls "$LOGS"/cdrmin/sip-lo.jsonl.*Z)"
check "ExecStartPre wrote nothing on stderr" [ ! -s "$TMP/pre.err" ]

# --- 4. without the capability ------------------------------------------------------
eval "$AS_USER --inh-caps=-all --ambient-caps=-all --bounding-set=-all $START" \
	</dev/null >"$TMP/nocap.out" 2>"$TMP/nocap.err"
RC=$?
check "without CAP_NET_RAW: exit 77 ($RC)" [ "$RC" -eq 77 ]
expect_grep "without CAP_NET_RAW: named" "$TMP/nocap.err" "CAP_NET_RAW"

# --- 2. the sandbox: system calls and socket families of a live capture -----------
# expand_set @GROUP: the system calls of a systemd-analyze syscall-filter set.
expand_set() {
	systemd-analyze syscall-filter "$1" | sed -n '2,$p' | sed 's/^ *//' | grep -v '^#' | grep . |
		while read -r w; do
			case $w in
			@*) expand_set "$w" ;;
			*) echo "$w" ;;
			esac
		done
}
allow=""
deny=""
for f in $(sed -n 's/^SystemCallFilter=//p' "$UNIT"); do
	case $f in
	~*) deny="$deny ${f#\~}" ;;
	*) allow="$allow $f" ;;
	esac
done
for g in $allow; do expand_set "$g"; done | sort -u >"$TMP/allowed"
# "~@privileged @resources" is one value of several words: each word after ~.
sed -n 's/^SystemCallFilter=~//p' "$UNIT" | tr ' ' '\n' | grep . |
	while read -r g; do expand_set "$g"; done | sort -u >"$TMP/denied"
comm -23 "$TMP/allowed" "$TMP/denied" >"$TMP/ok-calls"
check "the filter allows something ($(wc -l <"$TMP/ok-calls") calls)" [ "$(wc -l <"$TMP/ok-calls")" -gt 100 ]
strace -f -qq -o "$TMP/strace" $BIN -r "$TMP/sip.rules" -k "$KEY" -i lo --bpf "udp port $PORT" \
	--output jsonl -o "$TMP/strace.out" --stats </dev/null 2>"$TMP/strace.err" &
SPID=$!
i=0
while [ $i -lt 50 ] && [ "$(lines "$TMP/strace.out")" -lt 1 ]; do
	probes 200 1
	sleep 0.2
	i=$((i + 1))
done
# strace's child is cdrmin: SIGTERM to it, strace ends with it.
CPID=$(awk 'NR == 1 { print $1 }' "$TMP/strace")
kill -TERM "$CPID" 2>/dev/null
wait $SPID
check "the traced capture wrote records" [ "$(lines "$TMP/strace.out")" -ge 1 ]
sed -n 's/^[0-9]* *\([a-z_0-9]*\)(.*/\1/p' "$TMP/strace" | sort -u >"$TMP/used"
check "system calls traced ($(wc -l <"$TMP/used"))" [ "$(wc -l <"$TMP/used")" -ge 20 ]
# execve is the service manager's, before the filter applies to cdrmin.
bad=$(grep -vx execve "$TMP/used" | comm -23 - "$TMP/ok-calls" | tr '\n' ' ')
check "every system call of a capture is allowed by SystemCallFilter= ($bad)" [ -z "$bad" ]
fams=$(sed -n 's/.* socket(\(AF_[A-Z0-9]*\),.*/\1/p' "$TMP/strace" | sort -u | tr '\n' ' ')
check "sockets opened ($fams)" [ -n "$fams" ]
for f in $fams; do
	check "socket family $f is in RestrictAddressFamilies=" \
		sh -c "sed -n 's/^RestrictAddressFamilies=//p' '$UNIT' | grep -qw $f"
done

finish
