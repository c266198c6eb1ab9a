#!/bin/sh
# No leak through errors (DESIGN.md promise 1): every reject path, for every
# input family where it applies, with marked values in the rejected records,
# and the commands whose errors could quote an input value. Each run has
# --stats; its stderr (the reject lines, warnings and the summary) and its
# stdout are scanned for every marked value in any written form, and each
# reject reason must have been hit (count > 0 in the stats), so that the
# test cannot pass without driving the path.
#
# Marked values, used nowhere else in the tests: UK drama numbers of
# Manchester (0161 496 0xxx), Edinburgh (0131 496 0xxx) and Cardiff (029 2018
# 0xxx) in the 39 written forms of tests/leakforms.awk (E.164, prefixes,
# blanks and dashes of every kind, other scripts' digits, invisible
# separators, URIs), IMSIs 00101 1614960xxx, IPv4 203.0.113.x, IPv6
# 2001:db8:cafe::x and e-mail addresses rejleak.N@example.org.
#
# The scan: every Unicode decimal digit read as ASCII, then no 7-digit window
# of a marked number or IMSI in any run of digits, also with every character
# but ASCII letters and digits taken out; no marked address, no "rejleak",
# "203.0.113.", "2001:db8:cafe" or "2001:0db8:cafe" (any case, also after
# NFKC, so fullwidth letters count). The summary's elapsed=, records/s= and
# input-bytes= are counters, not values: their digits are not searched.
#
# Reasons per family (include/cdrmin/record.h), and why the others cannot apply:
#   csv       columns quote nul too-long value epoch header truncated
#             (json, syntax: other formats; duplicate: a CSV record has each
#             column once by position, a header naming one twice is `header`;
#             sip: captures only)
#   jsonl     nul too-long value epoch truncated json duplicate
#             (columns, quote, header: CSV only; syntax: kv and kannel; sip)
#   kv        nul too-long value epoch truncated syntax duplicate
#             (columns, quote, header: CSV; json: jsonl; sip)
#   kannel    nul too-long value epoch truncated syntax duplicate
#             (as kv)
#   sip       sip value epoch truncated (the damaged capture file)
#             (columns, quote, header, json, syntax, duplicate: no such
#             framing in a capture, a malformed message is `sip`; nul: a NUL
#             in a message's headers is a `sip` reject; too-long: --max-record
#             is for line and CSV records, a capture's messages are bounded
#             by the frame and TCP reassembly limits)
#   sip-calls sip value epoch truncated (as sip)
# Commands: `check RULES FILE` (the file's header is read), `store` find,
# export (a number on the command line), verify, and a run with --retain
# (the quarantine line). keygen reads no input value: its errors name a path.
# Rules errors quote the rules file's own words (field names, parameters),
# never a record: the ones that meet input are the header checks above.
#
# Usage: CDRMIN=build/cdrmin sh tests/rejectleak.sh   Prints "N passed, M failed".
cd "$(dirname "$0")/.." || exit 1
LC_ALL=C
export LC_ALL
. tests/lib.sh
PY=${PYTHON:-python3}

DIGITS="$TMP/marked.digits"
STRINGS="$TMP/marked.strings"
: >"$DIGITS"
: >"$STRINGS"

# check NAME COND...: passes when the command COND succeeds.
check() {
	_n=$1
	shift
	if "$@"; then ok; else fail "$_n"; fi
}

# ------------------------------------------------------------- the scanner
cat >"$TMP/scan.py" <<'EOF'
import re, sys, unicodedata
digits_file, strings_file = sys.argv[1], sys.argv[2]
wins = set()
for s in open(digits_file, encoding='ascii'):
    s = s.strip()
    for i in range(len(s) - 6):
        wins.add(s[i:i + 7])
strings = [s.strip().lower() for s in open(strings_file, encoding='ascii') if s.strip()]
strings += ['rejleak', '203.0.113.', '2001:db8:cafe', '2001:0db8:cafe']
counters = re.compile(r'(elapsed|records/s|input-bytes)=[0-9.]+s?')
found = 0
for path in sys.argv[3:]:
    text = open(path, 'rb').read().decode('utf-8', 'surrogateescape')
    text = counters.sub(r'\1=N', text)
    ascii_digits = ''.join(str(unicodedata.digit(c)) if unicodedata.digit(c, None) is not None else c
                           for c in text)
    joined = ''.join(c for c in ascii_digits if c.isascii() and c.isalnum())
    for form, t in (('as written', ascii_digits), ('separators taken out', joined)):
        for run in re.findall(r'[0-9]{7,}', t):
            hit = next((run[i:i + 7] for i in range(len(run) - 6) if run[i:i + 7] in wins), None)
            if hit:
                print('%s: a marked number (%s): window %s in %s' % (path, form, hit, run[:40]))
                found += 1
                break
    low = text.lower()
    nfkc = unicodedata.normalize('NFKC', text).lower()
    for s in strings:
        if s in low or s in nfkc:
            print('%s: a marked address or its marker: %s' % (path, s))
            found += 1
sys.exit(1 if found else 0)
EOF

# scan NAME FILE...: no marked value in the files.
scan() {
	_n=$1
	shift
	if $PY "$TMP/scan.py" "$DIGITS" "$STRINGS" "$@" >"$TMP/scan.found" 2>&1; then ok; else
		fail "$_n: $(head -3 "$TMP/scan.found")"
	fi
}

# counts FAMILY: adds the last run's reject counts (stats in $TMP/err) to
# $TMP/FAMILY.counts, one "reason=N" a line.
counts() {
	grep 'stats: rejected by reason:' "$TMP/err" | tr ' ' '\n' | grep '=' >>"$TMP/$1.counts"
}

# reasons FAMILY REASON...: each reason was hit at least once in the family's runs.
reasons() {
	_f=$1
	shift
	for _r in "$@"; do
		_c=$(awk -F= -v r="$_r" '$1 == r { s += $2 } END { print s + 0 }' "$TMP/$_f.counts" 2>/dev/null)
		if [ "${_c:-0}" -gt 0 ]; then ok; else fail "$_f: reason $_r never hit"; fi
	done
}

# family_run FAMILY NAME CMD...: runs with --stats already among CMD's
# arguments, expects exit 65 (records rejected), scans stdout and stderr,
# adds the counts; every reject line says where and why.
family_run() {
	_fam=$1 _name=$2
	shift 2
	run "$@"
	if [ "$RC" -eq 65 ]; then ok; else
		fail "$_fam $_name: exit $RC, expected 65"
		sed 's/^/  | /' "$TMP/err" | head -5 >&2
	fi
	check "$_fam $_name: stats printed" grep -q 'stats: rejected by reason:' "$TMP/err"
	if grep 'record rejected' "$TMP/err" | grep -qvE '^cdrmin: [^ ]+:([0-9]+| frame [0-9]+): record rejected \([a-z-]+\): '; then
		fail "$_fam $_name: a reject line without its place: $(grep 'record rejected' "$TMP/err" |
			grep -vE '^cdrmin: [^ ]+:([0-9]+| frame [0-9]+): record rejected \([a-z-]+\): ' | head -1)"
	else ok; fi
	cp "$TMP/out" "$TMP/$_fam.$_name.out"
	cp "$TMP/err" "$TMP/$_fam.$_name.err"
	scan "$_fam $_name" "$TMP/$_fam.$_name.out" "$TMP/$_fam.$_name.err"
	counts "$_fam"
}

# stop_run FAMILY RULES WHOLE PART LINES [OPTIONS]: WHOLE (complete records)
# and then PART (the start of a record, no newline) written into a FIFO; once
# LINES lines are out (the whole records), SIGTERM: PART is rejected as
# truncated.
stop_run() {
	_fam=$1 _rules=$2 _whole=$3 _part=$4 _want=$5
	shift 5
	rm -f "$TMP/stop.fifo"
	mkfifo "$TMP/stop.fifo"
	# outputs first: truncated before the FIFO's open lets the writer on
	$CDRMIN -r "$_rules" -k "$KEY" --stats "$@" >"$TMP/out" 2>"$TMP/err" <"$TMP/stop.fifo" &
	_pid=$!
	exec 3>"$TMP/stop.fifo"
	cat "$_whole" >&3
	cat "$_part" >&3
	_i=0
	while [ "$(grep -c '' "$TMP/out")" -lt "$_want" ] && [ $_i -lt 600 ]; do sleep 0.05; _i=$((_i + 1)); done
	kill -TERM $_pid
	wait $_pid
	RC=$?
	exec 3>&-
	if [ "$RC" -eq 65 ]; then ok; else fail "$_fam stopped in a record: exit $RC, expected 65"; fi
	check "$_fam stopped in a record: reject named" grep -q 'record rejected (truncated)' "$TMP/err"
	cp "$TMP/out" "$TMP/$_fam.stop.out"
	cp "$TMP/err" "$TMP/$_fam.stop.err"
	scan "$_fam stopped in a record" "$TMP/$_fam.stop.out" "$TMP/$_fam.stop.err"
	counts "$_fam"
}

# ----------------------------------------------------------- the generator
# gen FAMILY [SEED]: the family's records on stdout (awk -v fam=...); marked
# numbers and IMSIs go to $DIGITS, addresses to $STRINGS. Each generator call
# continues the forms where the last one stopped (state in $TMP/gen.state).
cat >"$TMP/gen.awk" <<'EOF'
function q(s) { gsub(/"/, "\"\"", s); return "\"" s "\"" }
function j(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, "\\t", s); return "\"" s "\"" }
# The next marked number, in the next of the 39 forms (ascii: only the forms
# without blanks, tabs or non-ASCII, for SIP URIs).
function num(ascii,   r, nsn, f) {
	r = serial % 3
	nsn = (r == 0 ? "1614960" : r == 1 ? "1314960" : "2920180") sprintf("%03d", int(serial / 3) % 1000)
	serial++
	remember("44", nsn, "0", "00")
	if (ascii) return fmt("44", nsn, "0", "00", ai++ % 3)
	return fmt("44", nsn, "0", "00", form++ % 39)
}
function ip4(   s) { s = "203.0.113." (1 + ipn++ % 254); print s > strings; return s }
function ip6(   h, s) {
	h = sprintf("%x", 256 + ip6n++)
	s = "2001:db8:cafe::" h
	print s > strings; print "2001:db8:cafe:0:0:0:0:" h > strings
	return s
}
function mail(   s) { s = "rejleak." mailn++ "@example.org"; print s > strings; return s }
function imsi(   s, f) {
	s = "001011614960" sprintf("%03d", imsin++ % 1000)
	print s > digits
	f = imsin % 3
	if (f == 1) return substr(s, 1, 3) " " substr(s, 4, 2) " " substr(s, 6)
	if (f == 2) return substr(s, 1, 3) "-" substr(s, 4, 2) "-" substr(s, 6)
	return s
}
# Free text holding one of each kind.
function blob() { return "call " num() " or " num() " from " ip4() " / " ip6() ", mail " mail() ", imsi " imsi() }
function good_time() { return "2024-03-01 10:" sprintf("%02d", tn++ % 60) ":00" }
function epoch_time() { return 1709290000 + tn++ }
function big(   s) { s = ""; while (length(s) < 6000) s = s " " blob(); return s }

# ---- csv: columns caller,callee,ip,imsi,mail,start,notes
function csv_row(a, b, c, d, e, f, g) { print q(a) "," q(b) "," q(c) "," q(d) "," q(e) "," q(f) "," q(g) }
function csv_good() { csv_row(num(), num(), ip4(), imsi(), mail(), good_time(), blob()) }
function gen_csv(   i) {
	print "caller,callee,ip,imsi,mail,start,notes"
	for (i = 0; i < 2; i++) csv_good()
	for (i = 0; i < 8; i++) {
		# columns: one too many, two too few
		print q(num()) "," q(num()) "," q(ip4()) "," q(imsi()) "," q(mail()) "," q(good_time()) "," q(blob()) "," q(blob())
		print q(num()) "," q(blob()) "," q(ip6()) "," q(mail()) "," q(good_time())
		# quote: text after a closing quote
		print q(num()) "," q(num()) "x" num() "," q(ip4()) "," q(imsi()) "," q(mail()) "," q(good_time()) "," q(blob())
		# nul (\001 becomes NUL)
		print q(num()) "," q(num()) "," q(ip4()) "," q(imsi()) "," q(mail()) "," q(good_time()) "," q(num() "\001" blob())
		# value: callee not a number, ip not an address, imsi not an IMSI (invalid=reject)
		csv_row(num(), mail(), ip4(), imsi(), mail(), good_time(), blob())
		csv_row(num(), num(), num(), imsi(), mail(), good_time(), blob())
		csv_row(num(), num(), ip6(), mail(), mail(), good_time(), blob())
		# epoch: the start column holds a number
		csv_row(num(), num(), ip4(), imsi(), mail(), num(), blob())
	}
	for (i = 0; i < 3; i++) csv_row(num(), num(), ip4(), imsi(), mail(), good_time(), big())
	csv_good()
}
# A second file whose first line is a record, not the header: all its records are header rejects.
function gen_csv_header(   i) { for (i = 0; i < 6; i++) csv_good() }
# A third file ending in a quote that never closes.
function gen_csv_quote_end() {
	print "caller,callee,ip,imsi,mail,start,notes"
	csv_good()
	print q(num()) "," q(num()) "," q(ip4()) ",\"" imsi() "," mail() "," good_time() "," blob()
	print blob() "," num()
}
function gen_csv_part() { printf "%s", q(num()) "," q(num()) "," q(ip4()) "," q(imsi()) ",\"" mail() " " blob() }

# ---- jsonl: after the marker "acc_json: "; other lines of the log hold marked values too
function jrec(a, b, c, d, e, f, g) {
	return "{\"time\":" f ",\"from\":" j(a) ",\"to\":" j(b) ",\"ip\":" j(c) ",\"imsi\":" j(d) \
		",\"user\":{\"mail\":" j(e) "},\"text\":" j(g) "}"
}
function jgood() { return jrec(num(), num(), ip4(), imsi(), mail(), epoch_time(), blob()) }
function gen_jsonl(   i, deep) {
	print "Mar  1 10:00:00 pbx acc_json: " jgood()
	print "Mar  1 10:00:01 pbx kernel: link up for " num() " at " ip4() " " mail()
	deep = ""
	for (i = 0; i < 70; i++) deep = deep "{\"n\":"
	for (i = 0; i < 6; i++) {
		# json: cut object, bad escape, bytes after the object, a top-level array,
		# a raw control character in a string, invalid UTF-8, nesting past 64
		print "acc_json: {\"time\":" epoch_time() ",\"from\":" j(num()) ",\"text\":" j(blob())
		print "acc_json: {\"time\":" epoch_time() ",\"from\":\"" num() "\\q\",\"text\":" j(blob()) "}"
		print "acc_json: " jgood() " " num() " " mail()
		print "acc_json: [" j(num()) "," j(mail()) "," j(ip4()) "]"
		print "acc_json: {\"from\":\"" num() "\002" num() "\",\"to\":" j(mail()) "}"
		print "acc_json: {\"from\":" j(num()) ",\"to\":\"" num() "\377\376\",\"ip\":" j(ip6()) "}"
		print "acc_json: {\"from\":" j(num()) ",\"x\":" deep j(blob())
		# duplicate: a named path twice
		print "acc_json: {\"time\":" epoch_time() ",\"from\":" j(num()) ",\"from\":" j(num()) ",\"text\":" j(blob()) "}"
		print "acc_json: {\"time\":" epoch_time() ",\"user\":{\"mail\":" j(mail()) ",\"mail\":" j(mail()) "},\"to\":" j(num()) "}"
		# nul
		print "acc_json: {\"time\":" epoch_time() ",\"from\":" j(num()) ",\"text\":\"" blob() "\001" num() "\"}"
		# value: to not a number, ip not an address, imsi not an IMSI
		print "acc_json: " jrec(num(), mail(), ip4(), imsi(), mail(), epoch_time(), blob())
		print "acc_json: " jrec(num(), num(), num(), imsi(), mail(), epoch_time(), blob())
		print "acc_json: " jrec(num(), num(), ip6(), ip4(), mail(), epoch_time(), blob())
		# epoch: the time is a number or a string holding one
		print "acc_json: " jrec(num(), num(), ip4(), imsi(), mail(), j(num()), blob())
		print "acc_json: " jrec(num(), num(), ip4(), imsi(), mail(), "16149600" (100 + i), blob())
	}
	for (i = 0; i < 3; i++) print "acc_json: " jrec(num(), num(), ip4(), imsi(), mail(), epoch_time(), big())
	print "acc_json: " jgood()
}
function gen_jsonl_part() { printf "acc_json: {\"time\":%d,\"from\":%s,\"text\":\"%s", epoch_time(), j(num()), blob() }

# ---- kv: Kamailio acc lines after the marker "ACC: "
function kv(ts, su, du, ip, cid, rest) {
	return "ACC: transaction answered: timestamp=" ts ";method=INVITE;src_user=" su ";dst_user=" du \
		";src_ip=" ip ";call_id=" cid rest
}
function kvgood() { return kv(epoch_time(), num(), num(), ip4(), num() "@" ip4(), ";reason=" blob()) }
function gen_kv(   i) {
	print " 1(2) NOTICE: acc [acc.c:287]: acc_log_request(): " kvgood()
	print " 1(2) NOTICE: <core> udp_rcv: from " num() " at " ip6() " " mail()
	for (i = 0; i < 8; i++) {
		# syntax: a pair without '=', an empty name
		print "ACC: transaction answered: timestamp=" epoch_time() ";src_user " num() ";dst_user=" num() ";src_ip=" ip4()
		print "ACC: call missed: timestamp=" epoch_time() ";=" num() ";dst_user=" mail()
		# duplicate: a forged pair repeats a named one
		print kv(epoch_time(), num() ";src_ip=" ip4(), num(), ip4(), mail(), "")
		print kv(epoch_time(), num(), num(), ip6(), num(), ";dst_user=" num())
		# nul
		print kv(epoch_time(), num(), num() "\001" num(), ip4(), mail(), "")
		# value: dst_user not a number, src_ip not an address
		print kv(epoch_time(), num(), mail(), ip4(), num(), ";reason=" blob())
		print kv(epoch_time(), num(), num(), num(), num(), ";reason=" blob())
		# epoch: the timestamp is a number of another kind
		print kv(num(), num(), num(), ip4(), mail(), "")
	}
	for (i = 0; i < 3; i++) print kv(epoch_time(), num(), num(), ip4(), mail(), ";reason=" big())
	print kvgood()
}
function gen_kv_part() { printf "%s", kv(epoch_time(), num(), num(), ip4(), mail(), ";reason=" blob()) }

# ---- kannel
function kan(t, fr, to, msg) { return t " Receive SMS [SMSC:smpp1] [SVC:] [from:" fr "] [to:" to "] [flags:-1:0:-1:0:-1] [msg:" length(msg) ":" msg "] [udh:0:]" }
function kangood() { return kan(good_time(), num(), num(), blob()) }
function gen_kannel(   i) {
	print kangood()
	for (i = 0; i < 8; i++) {
		# syntax: no leading time; a field without its ']'
		print "Receive SMS [SMSC:smpp1] [from:" num() "] [to:" num() "] [msg:4:" mail() "]"
		print good_time() " Receive SMS [SMSC:smpp1] [from:" num() "] [to:" num() " " ip4()
		# duplicate: a forged [to:]
		print kan(good_time(), num(), num() "] [to:" num(), blob())
		# nul
		print kan(good_time(), num(), num(), blob() "\001" num())
		# value: the recipient is no number
		print kan(good_time(), num(), mail(), blob())
		print kan(good_time(), num(), ip6(), blob())
		# epoch: a time of the layout that is no time
		print kan("2024-13-45 99:99:99", num(), num(), blob())
	}
	for (i = 0; i < 3; i++) print kan(good_time(), num(), num(), big())
	print kangood()
}
function gen_kannel_part() { printf "%s", good_time() " Receive SMS [SMSC:smpp1] [from:" num() "] [to:" num() "] [msg:" blob() }

# ---- sip: messages for tests/sip/mkpcap.py, each after "@@ udp|tcp|cut SRC DST"
function crlf(s) { gsub(/\n/, "\r\n", s); return s }
# A request; the dialog's From tag, To tag, Via branch and CSeq number come
# from FTAG, TTAG, BRANCH and CSEQ when set (a call), else made up.
function sipmsg(method, from, to, cid, extra,    body, m) {
	body = "v=0\no=- 1 1 IN IP4 " ip4() "\ns=" num() "\nc=IN IP4 " ip4() "\nt=0 0\nm=audio 4000 RTP/AVP 0\n"
	m = method " sip:" to "@" ip4() " SIP/2.0\n"
	m = m "Via: SIP/2.0/UDP " ip4() ":5060;branch=z9hG4bK" (BRANCH != "" ? BRANCH : num(1)) "\n"
	if (from != "") m = m "From: \"" num(1) "\" <sip:" from "@" ip4() ">;tag=" (FTAG != "" ? FTAG : num(1)) "\n"
	m = m "To: <sip:" to "@" ip6() ">" (TTAG != "" ? ";tag=" TTAG : "") "\n"
	if (cid != "") m = m "Call-ID: " cid "\n"
	if (extra !~ /^NOCSEQ/) m = m "CSeq: " (CSEQ != "" ? CSEQ : 1) " " method "\n"
	sub(/^NOCSEQ/, "", extra)
	m = m "Contact: <sip:" num(1) "@" ip4() ">\nP-Asserted-Identity: <sip:" num(1) "@" ip6() ">\n"
	m = m "User-Agent: softphone " num(1) " " mail() "\nSubject: " blob() "\n" extra
	m = m "Content-Type: application/sdp\nContent-Length: " length(body) "\n\n" body
	return crlf(m)
}
# The response to the INVITE of the call FTAG, BRANCH (To tag TTAG).
function sipresp(code, reason, from, to, cid) {
	return crlf("SIP/2.0 " code " " reason "\nVia: SIP/2.0/UDP " ip4() ":5060;branch=z9hG4bK" BRANCH "\n" \
		"From: <sip:" from "@" ip4() ">;tag=" FTAG "\nTo: <sip:" to "@" ip4() ">;tag=" TTAG "\nCall-ID: " cid "\n" \
		"CSeq: 1 INVITE\nServer: pbx " num(1) "\nContent-Length: 0\n\n")
}
# call OUTCOME CALLER CALLEE: a call answered and hung up ("bye") or busy.
function call(outcome, a, b,    cid) {
	cid = num(1) "@" ip4(); FTAG = "f" tagn++; TTAG = ""; BRANCH = "b" tagn++; CSEQ = 1
	frame("udp", sipmsg("INVITE", a, b, cid, ""))
	TTAG = "t" tagn++
	frame("udp", sipresp(outcome == "bye" ? 200 : 486, outcome == "bye" ? "OK" : "Busy Here", a, b, cid))
	if (outcome == "bye") {
		BRANCH = "b" tagn++; CSEQ = 2
		frame("udp", sipmsg("BYE", a, b, cid, ""))
	}
	FTAG = TTAG = BRANCH = CSEQ = ""
}
function frame(kind, m) { print "@@ " kind " " ip4() " " ip4(); print m }
function gen_sip(   i, cid) {
	frame("udp", sipmsg("INVITE", num(1), num(1), num(1) "@" ip4(), ""))
	for (i = 0; i < 4; i++) {
		# sip: no Call-ID, no CSeq, no From; a NUL in the headers; a body
		# shorter than its Content-Length; not SIP at all on port 5060; TCP data
		# without Content-Length (frames no message)
		frame("udp", sipmsg("INVITE", num(1), num(1), "", ""))
		frame("udp", sipmsg("MESSAGE", num(1), num(1), num(1) "@" ip4(), "NOCSEQ"))
		frame("udp", sipmsg("OPTIONS", "", num(1), num(1) "@" ip4(), ""))
		frame("udp", sipmsg("INVITE", num(1), num(1), num(1) "@" ip4(), "X-Note: " num(1) "\001" mail() "\r\n"))
		m = sipmsg("INVITE", num(1), num(1), num(1) "@" ip4(), ""); sub(/Content-Length: [0-9]+/, "Content-Length: 4000", m)
		frame("udp", m)
		frame("udp", crlf("INVITE " num(1) " " mail() " SIP/2.0 " ip4() "\nFrom " num(1) "\n\n"))
		m = sipmsg("MESSAGE", num(1), num(1), num(1) "@" ip4(), ""); sub(/Content-Length: [0-9]+\r\n/, "", m)
		frame("tcp", m)
		# value: the From user is a name, not a number (invalid=reject)
		frame("udp", sipmsg("INVITE", "rejleak." mailn++, num(1), num(1) "@" ip4(), ""))
	}
	frame("udp", sipmsg("BYE", num(1), num(1), num(1) "@" ip4(), ""))
	# truncated: the file ends inside the last frame
	frame("cut", sipmsg("INVITE", num(1), num(1), num(1) "@" ip4(), ""))
}
# sip-calls: an unanswered call (no answer_time: epoch), an answered call from
# a name (value), an answered call (written), broken messages (sip), a cut end.
function gen_calls(   i) {
	for (i = 0; i < 3; i++) {
		call("busy", num(1), num(1))
		call("bye", "rejleak." mailn++, num(1))
		call("bye", num(1), num(1))
		frame("udp", sipmsg("INVITE", num(1), num(1), "", ""))
		frame("udp", sipmsg("OPTIONS", "", num(1), num(1) "@" ip4(), ""))
	}
	frame("cut", sipmsg("INVITE", num(1), num(1), num(1) "@" ip4(), ""))
}

BEGIN {
	forms_init()
	if (state != "" && (getline line < state) > 0) {
		split(line, S, " "); serial = S[1]; form = S[2]; ipn = S[3]; ip6n = S[4]; mailn = S[5]; imsin = S[6]; tn = S[7]; ai = S[8]
	}
	if (fam == "csv") gen_csv()
	else if (fam == "csv-header") gen_csv_header()
	else if (fam == "csv-quote-end") gen_csv_quote_end()
	else if (fam == "csv-part") gen_csv_part()
	else if (fam == "jsonl") gen_jsonl()
	else if (fam == "jsonl-part") gen_jsonl_part()
	else if (fam == "kv") gen_kv()
	else if (fam == "kv-part") gen_kv_part()
	else if (fam == "kannel") gen_kannel()
	else if (fam == "kannel-part") gen_kannel_part()
	else if (fam == "sip") gen_sip()
	else if (fam == "calls") gen_calls()
	else if (fam == "num") print num()
	else if (fam == "form") print fmt("44", "1614960000", "0", "00", f + 0)
	else { print "gen.awk: unknown fam " fam > "/dev/stderr"; exit 1 }
	if (state != "") {
		close(state)
		print serial, form, ipn, ip6n, mailn, imsin, tn, ai > state
	}
}
EOF
gen() { # FAMILY: its records on stdout, NUL bytes where the generator wrote \001
	awk -v fam="$1" -v digits="$DIGITS" -v strings="$STRINGS" -v state="$TMP/gen.state" \
		-f tests/leakforms.awk -f "$TMP/gen.awk" | tr '\001' '\000'
}
: >"$TMP/gen.state"
# The generator's own check: each family's input holds what the scan must find.
gen csv >"$TMP/self.csv"
check "scan finds the marked values in an input" sh -c "! $PY $TMP/scan.py $DIGITS $STRINGS $TMP/self.csv >/dev/null"
check "all 39 forms written" [ "$(awk 'END { print NR }' "$DIGITS")" -ge 117 ]
# ... and each of the 39 forms alone.
mkdir "$TMP/forms"
for f in $(seq 0 38); do
	awk -v fam=form -v f=$f -v digits=/dev/null -v strings=/dev/null -f tests/leakforms.awk -f "$TMP/gen.awk" \
		>"$TMP/forms/$f"
done
echo 441614960000 >"$TMP/form.digits"
$PY "$TMP/scan.py" "$TMP/form.digits" /dev/null "$TMP"/forms/* | sed -n 's|.*/forms/\([0-9]*\): a marked number .*|\1|p' |
	sort -u >"$TMP/forms.found"
check "scan finds a number in each of the 39 forms alone ($(grep -c '' "$TMP/forms.found") found)" \
	[ "$(grep -c '' "$TMP/forms.found")" -eq 39 ]

# pcap FILE: the messages of gen sip/calls (stdin) as a capture
# (tests/sip/mkpcap.py's frames: Ethernet, IPv4, UDP or one TCP connection
# per message; "cut" ends the file inside that frame).
cat >"$TMP/pcap.py" <<'EOF'
import sys
sys.path.insert(0, 'tests/sip')
import mkpcap
out = sys.argv[1]
parts = sys.stdin.buffer.read().split(b'@@ ')
p = mkpcap.Pcap(out)
port = 40000
for part in parts:
    if not part:
        continue
    head, _, msg = part.partition(b'\n')
    kind, src, dst = head.decode().split()
    msg = msg[:-1]  # the generator's line end after the message
    if kind == 'udp':
        p.frame(mkpcap.udp_frame(msg, src, dst))
    elif kind == 'tcp':
        port += 1
        mkpcap.tcp_connection(p, [msg], src, dst, port)
    else:
        f = mkpcap.udp_frame(msg, src, dst)
        p.raw(mkpcap.struct.pack('<IIII', mkpcap.T0 + 5, 0, len(f), len(f)) + f[:len(f) * 2 // 3])
p.close()
EOF

# ------------------------------------------------------------------- csv
cat >"$TMP/csv.rules" <<'EOF'
format csv
header yes
numbering country=44 trunk=0 international=00
epoch month of start
caller phone pseudonym keep=cc
callee phone pseudonym keep=cc invalid=reject
ip     ip prefix
imsi   pseudonym kind=imsi invalid=reject
mail   pseudonym kind=email
start  time floor=hour
notes  scrub
*      drop
EOF
gen csv >"$TMP/a.csv"
gen csv-header >"$TMP/b.csv"
gen csv-quote-end >"$TMP/c.csv"
family_run csv records $CDRMIN -r "$TMP/csv.rules" -k "$KEY" --stats --max-record 4K "$TMP/a.csv" "$TMP/b.csv" "$TMP/c.csv"
{ echo "caller,callee,ip,imsi,mail,start,notes"; gen csv | sed -n 2,3p; } >"$TMP/whole.csv"
gen csv-part >"$TMP/part.csv"
stop_run csv "$TMP/csv.rules" "$TMP/whole.csv" "$TMP/part.csv" 3
# The same records into the retained store: the quarantine line, and what
# verify, find and export print (export prints the originals on stdout: that
# is its job; its stderr and the audit log must not).
{ cat "$TMP/csv.rules"; printf 'retain traffic 7y\nretain-records traffic of start\n'; } >"$TMP/retain.rules"
family_run csv retained $CDRMIN -r "$TMP/retain.rules" -k "$KEY" --stats --max-record 4K \
	--retain "$TMP/store" --store-key "$OTHER_KEY" "$TMP/a.csv" "$TMP/b.csv" "$TMP/c.csv"
check "csv retained: the quarantine line" grep -q 'rejected kept' "$TMP/err"
run $CDRMIN store verify "$TMP/store" --store-key "$OTHER_KEY"
check "store verify: exit 0 (got $RC)" [ "$RC" -eq 0 ]
scan "store verify" "$TMP/out" "$TMP/err"
n=0
for f in $(seq 0 38); do
	v=$(awk -v fam=form -v f=$f -v digits=/dev/null -v strings=/dev/null -f tests/leakforms.awk -f "$TMP/gen.awk")
	run $CDRMIN store find "$TMP/store" "$v" --store-key "$OTHER_KEY" -k "$KEY"
	[ "$RC" -eq 64 ] || fail "store find with a number (form $f): exit $RC, expected 64"
	cp "$TMP/err" "$TMP/find.$f.err"
	run $CDRMIN store export "$TMP/store" --number "$v" -r "$TMP/retain.rules" --store-key "$OTHER_KEY" -k "$KEY"
	[ "$RC" -eq 0 ] || fail "store export (form $f): exit $RC"
	cp "$TMP/err" "$TMP/export.$f.err"
	n=$((n + 1))
done
echo 1614960000 | awk '{ print "44" $0; print "0" $0; print "0044" $0 }' >>"$DIGITS"
check "store find and export: 39 forms" [ $n -eq 39 ]
scan "store find: errors" "$TMP"/find.*.err
scan "store export: stderr" "$TMP"/export.*.err
check "store export: an answer counted" grep -q 'export: [0-9]* record' "$TMP/export.0.err"
# Addresses given as the number: refused (exit 64), without quoting them
# (an IPv4 address reads as digits with dots: a number, so not among them).
m=$(grep -m1 @ "$STRINGS")
for v in "$m" "<$m>" "mailto:$m" "sip:$m" "$(grep -m1 'cafe::' "$STRINGS")"; do
	run $CDRMIN store export "$TMP/store" --number "$v" -r "$TMP/retain.rules" --store-key "$OTHER_KEY" -k "$KEY"
	check "store export: an address is no number (exit $RC)" [ "$RC" -eq 64 ]
	cat "$TMP/err" >>"$TMP/export.bad.err"
done
scan "store export: errors" "$TMP/export.bad.err"
scan "store audit log" "$TMP/store/audit.log"
# check RULES FILE on a file whose first line is a record: the error names
# the rule's field, not the line's values.
run $CDRMIN check "$TMP/csv.rules" "$TMP/b.csv"
check "check on a headerless file: exit 78 (got $RC)" [ "$RC" -eq 78 ]
scan "check on a headerless file" "$TMP/out" "$TMP/err"
printf 'format csv\nheader yes\nnotes scrub\n* drop\n' >"$TMP/notes.rules"
{ gen csv-header | head -1 | awk -F, '{ print $0 "," $1 }'; gen csv-header; } >"$TMP/twice.csv"
run $CDRMIN check "$TMP/notes.rules" "$TMP/twice.csv"
check "check on a header naming a column twice: refused (exit $RC)" [ "$RC" -eq 65 ]
scan "check on a header naming a column twice" "$TMP/out" "$TMP/err"
reasons csv columns quote nul too-long value epoch header truncated

# ------------------------------------------------------------------ jsonl
cat >"$TMP/jsonl.rules" <<'EOF'
format jsonl
marker "acc_json: "
numbering country=44 trunk=0 international=00
epoch month of time
time      time floor=hour
from      phone pseudonym keep=cc
to        phone pseudonym keep=cc invalid=reject
ip        ip prefix
imsi      pseudonym kind=imsi invalid=reject
user.mail pseudonym kind=email
text      scrub
*         drop
EOF
gen jsonl >"$TMP/a.jsonl"
family_run jsonl records $CDRMIN -r "$TMP/jsonl.rules" -k "$KEY" --stats --max-record 4K "$TMP/a.jsonl"
check "jsonl: other lines counted" grep -q 'other lines (without the marker, not records)=1' "$TMP/err"
gen jsonl | sed -n 1p >"$TMP/whole.jsonl"
gen jsonl-part >"$TMP/part.jsonl"
stop_run jsonl "$TMP/jsonl.rules" "$TMP/whole.jsonl" "$TMP/part.jsonl" 1 --output jsonl
reasons jsonl nul too-long value epoch truncated json duplicate

# --------------------------------------------------------------------- kv
cat >"$TMP/kv.rules" <<'EOF'
format kv
marker "ACC: "
numbering country=44 trunk=0 international=00
epoch month of timestamp
event     scrub
timestamp time floor=hour
method    keep
src_user  phone pseudonym keep=cc
dst_user  phone pseudonym keep=cc invalid=reject
src_ip    ip prefix
call_id   pseudonym
reason    scrub
*         drop
EOF
gen kv >"$TMP/a.kv"
family_run kv records $CDRMIN -r "$TMP/kv.rules" -k "$KEY" --stats --max-record 4K "$TMP/a.kv"
check "kv: other lines counted" grep -q 'other lines (without the marker, not records)=1' "$TMP/err"
gen kv | sed -n 1p >"$TMP/whole.kv"
gen kv-part >"$TMP/part.kv"
stop_run kv "$TMP/kv.rules" "$TMP/whole.kv" "$TMP/part.kv" 2
reasons kv nul too-long value epoch truncated syntax duplicate

# ----------------------------------------------------------------- kannel
cat >"$TMP/kannel.rules" <<'EOF'
format kannel
numbering country=44 trunk=0 international=00
epoch month of time
time  time floor=hour
event keep
from  phone pseudonym keep=cc
to    phone pseudonym keep=cc invalid=reject
msg   scrub
*     drop
EOF
gen kannel >"$TMP/a.kannel"
family_run kannel records $CDRMIN -r "$TMP/kannel.rules" -k "$KEY" --stats --max-record 4K "$TMP/a.kannel"
gen kannel | sed -n 1p >"$TMP/whole.kannel"
gen kannel-part >"$TMP/part.kannel"
stop_run kannel "$TMP/kannel.rules" "$TMP/whole.kannel" "$TMP/part.kannel" 2
reasons kannel nul too-long value epoch truncated syntax duplicate

# -------------------------------------------------------------------- sip
# rules/sip.rules with the From user's invalid=reject, and, in a second run,
# the epoch taken from User-Agent: a capture's only time field (`time`, the
# capture time) is always readable, so an unreadable one must be another field.
# User-Agent and Server scrubbed (the preset keeps them; ours hold numbers).
sed -e 's/^\(user_agent\|server\) .*/\1 scrub/' rules/sip.rules >"$TMP/sip-base.rules"
sed -e 's/^from_user .*/from_user phone pseudonym keep=cc invalid=reject/' "$TMP/sip-base.rules" >"$TMP/sip.rules"
sed -e 's/^epoch .*/epoch month of user_agent/' "$TMP/sip-base.rules" >"$TMP/sip-epoch.rules"
gen sip | $PY "$TMP/pcap.py" "$TMP/a.pcap"
check "sip: capture written" [ -s "$TMP/a.pcap" ]
family_run sip records $CDRMIN -r "$TMP/sip.rules" -k "$KEY" --stats --pcap "$TMP/a.pcap"
family_run sip epoch $CDRMIN -r "$TMP/sip-epoch.rules" -k "$KEY" --stats --pcap "$TMP/a.pcap"
reasons sip sip value epoch truncated

# -------------------------------------------------------------- sip-calls
# The epoch of answer_time: a call not answered has none. Media addresses
# pseudonymized (the preset truncates them to /24, which keeps 203.0.113.0).
sed -e 's/^epoch .*/epoch month of answer_time/' -e 's/^caller .*/caller phone pseudonym keep=cc invalid=reject/' \
	-e 's/^\(c[a-z]*_media_ip\) .*/\1 ip prefix invalid=redact/' -e 's/^user_agent .*/user_agent scrub/' \
	rules/sip-calls.rules >"$TMP/calls.rules"
gen calls | $PY "$TMP/pcap.py" "$TMP/calls.pcap"
family_run sip-calls records $CDRMIN -r "$TMP/calls.rules" -k "$KEY" --stats --calls --pcap "$TMP/calls.pcap"
check "sip-calls: calls written" [ "$(grep -c '' "$TMP/out")" -ge 2 ]
reasons sip-calls sip value epoch truncated

summary
