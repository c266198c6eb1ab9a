# Generates records for the leak test of the line formats (tests/formats.sh),
# each in its producer's exact line format:
#   kamailio-acc       Kamailio acc log lines (syslog prefix, "ACC: ", kv pairs)
#   kamailio-acc-json  Kamailio acc_json syslog lines ("json_acc[PID]: {...}")
#   freeswitch-json    FreeSWITCH mod_json_cdr, one object per line, the
#                      variables URL-encoded (encode-values=true)
#   kannel             Kannel bearerbox access log (with "Log begins"/"Log ends")
#   sms-json           an SMS gateway's JSON lines log ("to" one number or an array)
# Synthetic numbers only (Ofcom drama ranges 020 7946 0xxx, 07700 900xxx,
# 0113 496 0xxx; NANP 555-01xx for freeswitch-json) written in many forms
# (+44, 0044, national, spaced, dashed, dotted, other scripts' digits, Unicode
# separators, URL-encoded, JSON \u escapes), documentation IP addresses,
# e-mail addresses @example.com, Call-IDs holding the caller's number and
# address, numbers in free text (SMS texts, OTPs, dial strings), as JSON
# numbers and in arrays; Kannel texts with brackets and colons, and UCS-2
# texts (hex of UTF-16BE). The log lines around the records (Kamailio's other
# messages) hold numbers and addresses too: they are not records and must not
# leave. Every original goes to the secrets files: digits (a number's E.164
# digits without '+', its national and its international form, one a line)
# and strings (addresses, e-mail addresses, and their URL-encoded forms).
# Every record is well formed: the test expects each one written.
#   LC_ALL=C awk -v preset=NAME -v n=500 -v seed=11 -v digits=FILE -v strings=FILE \
#       -f tests/leakforms.awk -f tests/leakgen-lines.awk
# LC_ALL=C: lengths are bytes (Kannel's LEN counts octets).
function uk() {
	r = pick(3)
	if (r == 0) return sprintf("2079460%03d", 100 + pick(900))
	if (r == 1) return sprintf("7700900%03d", 100 + pick(900))
	return sprintf("1134960%03d", 100 + pick(900))
}
function secret(s) { print s > strings; return s }
# A UK number, remembered; its NSN is in NSN afterwards.
function ukn() { NSN = uk(); remember("44", NSN, "0", "00"); return NSN }
function nan() { NSN = na(); remember("1", NSN, "1", "011"); return NSN }
# nsn written in form f (as tests/leakgen.awk writes them).
# Forms of ASCII bytes only (UCS-2 hex below is built from ASCII).
function asciiform(   f) {
	split("0 1 2 3 4 5 6 7 8 9 10 13 14 16", AF, " ")
	return AF[1 + pick(14)]
}
function uknum(f) { ukn(); return fmt("44", NSN, "0", "00", f) }
function ukany() { return uknum(pick(F)) }
function naany() { nan(); return fmt("1", NSN, "1", "011", pick(F)) }
function ip(   v, s) {
	v = pick(4)
	if (v == 0) s = sprintf("192.0.2.%d", 1 + pick(254))
	else if (v == 1) s = sprintf("198.51.100.%d", 1 + pick(254))
	else if (v == 2) s = sprintf("203.0.113.%d", 1 + pick(254))
	else s = sprintf("2001:db8:%x:%x::%x", 1 + pick(65535), pick(65536), 1 + pick(65535))
	return secret(s)
}
function email() { return secret(sprintf("user%d.name@example.com", 10000 + pick(90000))) }
# URL encoding as FreeSWITCH's switch_url_encode writes it (upper-case hex).
function urlenc(s,   i, ch, r) {
	r = ""
	for (i = 1; i <= length(s); i++) {
		ch = substr(s, i, 1)
		r = r (ch ~ /[A-Za-z0-9._~-]/ ? ch : sprintf("%%%02X", ORD[ch]))
	}
	return r
}
# s as the text of a JSON string (without the quotes); digits written as
# \u00NN escapes with probability p (a decoder must unescape, then protect).
function js(s, p,   i, ch, r) {
	r = ""
	for (i = 1; i <= length(s); i++) {
		ch = substr(s, i, 1)
		if (ch == "\"" || ch == "\\") r = r "\\" ch
		else if (ch == "\t") r = r "\\t"
		else if (ORD[ch] < 32) r = r sprintf("\\u%04x", ORD[ch])
		else if (ch ~ /[0-9]/ && rand() < p) r = r sprintf("\\u%04X", ORD[ch])
		else r = r ch
	}
	return r
}
function jstr(s, p) { return "\"" js(s, p) "\"" }
# Free text naming a UK number (and now and then an address or an e-mail).
function uktext(   r) {
	r = pick(8)
	if (r == 0) return "call me on " ukany()
	if (r == 1) return sprintf("Your code is %06d. Questions? Call %s anytime", pick(1000000), ukany())
	if (r == 2) return "new number: " ukany() ", old " ukany()
	if (r == 3) return "mail " email() " or text " ukany()
	if (r == 4) return "from " ip() " ref " ukany()
	if (r == 5) return "[to:" uknum(2) "] call [" uknum(3) "]: now"
	if (r == 6) return ukany() "!"
	return "ring " uknum(8) " or " uknum(1) " (home)"
}
function kamailio(i, json,   t, mth, ev, x, y, cid, tagf, tagt, sdom, ddom, sip, reasons, codes, k, u1, u2, u3) {
	t = 1709251200 + i * 3593 % 2400000
	split("INVITE INVITE INVITE BYE BYE MESSAGE", mth, " ")
	k = pick(4)
	split("200 486 404 200", codes, " "); split("OK|Busy Here|Not Found|OK", reasons, "|")
	ev = k == 1 ? "call missed" : "transaction answered"
	x = ukn(); u1 = fmt("44", x, "0", "00", pick(F))
	y = ukn(); u2 = fmt("44", y, "0", "00", pick(F)); u3 = pick(3) ? u2 : fmt("44", y, "0", "00", pick(F))
	sip = ip()
	# a Call-ID often holds the caller's number and address
	cid = pick(2) ? "0" x "-" (1000 + pick(9000)) "@" sip : sprintf("%08x%04x@pc%d.example.com", pick(2^31), pick(65536), pick(99))
	tagf = pick(3) ? sprintf("%dSIPpTag%03d", pick(99999), i % 1000) : "as" x
	tagt = k == 2 ? "" : sprintf("%dSIPpTag%03d", pick(99999), i % 1000)
	sdom = pick(2) ? ip() : "sip.example.net"
	ddom = pick(2) ? ip() : "sip.example.org"
	if (!json) {
		printf " %d(%d) NOTICE: acc [acc.c:287]: acc_log_request(): ACC: %s: timestamp=%d;method=%s;from_tag=%s;to_tag=%s;call_id=%s;code=%s;reason=%s;src_user=%s;src_domain=%s;src_ip=%s;dst_ouser=%s;dst_user=%s;dst_domain=%s\n", \
			1 + pick(8), 27000 + pick(100), ev, t, mth[1 + pick(6)], tagf, tagt, cid, codes[k + 1], reasons[k + 1], \
			u1, sdom, sip, u2, u3, ddom
	} else {
		printf "Nov %2d 14:%02d:%02d sip1 json_acc[4242]: {\"time\": %s, \"method\": \"%s\", \"from_tag\": %s, \"to_tag\": %s, \"callid\": %s, \"sip_code\": \"%s\", \"sip_reason\": \"%s\", \"src_user\": %s, \"src_domain\": %s, \"src_ip\": %s, \"dst_ouser\": %s, \"dst_user\": %s, \"dst_domain\": %s}\n", \
			1 + i % 28, pick(60), pick(60), pick(4) ? t : "\"" t "\"", mth[1 + pick(6)], jstr(tagf, 0.3), \
			tagt == "" ? "null" : jstr(tagt, 0), jstr(cid, 0.3), codes[k + 1], reasons[k + 1], \
			pick(5) ? jstr(u1, 0.3) : "44" x, jstr(sdom, 0.2), jstr(sip, 0.2), jstr(u2, 0.3), \
			pick(6) ? jstr(u3, 0.3) : "null", jstr(ddom, 0)
	}
	# the rest of Kamailio's log: no records, but numbers and addresses in them
	if (pick(4) == 0)
		printf " %d(%d) INFO: <script>: new call from %s at %s to %s\n", 1 + pick(8), 27000 + pick(100), ukany(), ip(), ukany()
	if (pick(8) == 0)
		printf " %d(%d) ERROR: tm [t_reply.c:1234]: bad reply for %s (%s)\n", 1 + pick(8), 27000 + pick(100), ukany(), email()
}
function fsw(i,   t, x, y, sip, cid, cidnum, dst, ans, apps, a, name, e, enc) {
	t = 1709251200 + i * 3593 % 2400000
	x = nan(); y = nan(); sip = ip()
	cidnum = fmt("1", x, "1", "011", pick(F)); dst = fmt("1", y, "1", "011", pick(F))
	cid = pick(2) ? "1" x "-" (1000 + pick(9000)) "@" sip : sprintf("%08x-%04x@pbx.example.net", pick(2^31), pick(65536))
	e = secret(urlenc(sip)); if (e == sip) e = ""
	ans = pick(3) ? t + 7 : 0
	name = pick(3) ? "Caller " fmt("1", x, "1", "011", pick(F)) : "Alice Example"
	# dial strings and data of the dialplan's applications (not URL-encoded)
	apps = "{\"app_name\":\"set\",\"app_data\":" jstr("effective_caller_id_number=" naany(), 0.2) "}"
	a = pick(4)
	if (a == 0) apps = apps ",{\"app_name\":\"bridge\",\"app_data\":" jstr("sofia/gateway/gw1/+1" y, 0) "}"
	else if (a == 1) apps = apps ",{\"app_name\":\"bridge\",\"app_data\":" jstr("{origination_caller_id_number=" naany() "}sofia/external/" naany() "@" ip(), 0.2) "}"
	else if (a == 2) apps = apps ",{\"app_name\":\"bridge\",\"app_data\":" jstr("user/1000@example.net|sofia/gateway/gw2/" naany(), 0) "}"
	else apps = apps ",{\"app_name\":\"log\",\"app_data\":" jstr("INFO caller " naany() " mail " email(), 0.2) "}"
	enc = pick(5) ? 1 : 0
	printf "{\"core-uuid\":\"6f0e2d1c-0b9a-4c8d-9e7f-1a2b3c4d5e6f\",\"switchname\":\"fs1.example.net\",\"channel_data\":{\"state\":\"CS_REPORTING\",\"direction\":\"%s\",\"state_number\":\"11\"},", \
		pick(2) ? "inbound" : "outbound"
	printf "\"variables\":{\"direction\":\"inbound\",\"uuid\":\"%08x-2a9d-4c7e-9b1a-%012d\",\"session_id\":\"%d\",\"sip_from_user\":%s,\"sip_from_uri\":%s,\"sip_network_ip\":%s,\"sip_received_ip\":%s,\"sip_call_id\":%s,\"sip_to_user\":%s,\"sip_req_uri\":%s,\"caller_id_name\":%s,\"caller_id_number\":%s,\"destination_number\":%s,\"effective_caller_id_number\":%s,\"start_epoch\":%s,\"answer_epoch\":\"%d\",\"end_epoch\":\"%d\",\"duration\":\"%d\",\"billsec\":\"%d\",\"hangup_cause\":\"%s\",\"sip_hangup_disposition\":\"recv_bye\",\"read_codec\":\"PCMU\",\"write_codec\":\"PCMU\"},", \
		i, i, i, jstr(uv(fmt("1", x, "1", "011", pick(F)), enc), 0.2), jstr(uv("1" x "@" sip, 1), 0), jstr(uv(sip, enc), 0.1), \
		jstr(uv(sip, 1), 0), jstr(uv(cid, enc), 0.2), jstr(uv(fmt("1", y, "1", "011", pick(F)), enc), 0.2), \
		jstr(uv(y "@" ip(), 1), 0), jstr(uv(name, enc), 0), jstr(uv(cidnum, enc), 0.3), jstr(uv(dst, enc), 0.3), \
		jstr(uv("+1" x, 1), 0), pick(4) ? "\"" t "\"" : t, ans, t + 60, 60, ans ? 53 : 0, ans ? "NORMAL_CLEARING" : "NO_ANSWER"
	printf "\"app_log\":{\"applications\":[%s]},\"callflow\":{\"dialplan\":\"XML\",\"caller_profile\":{\"username\":\"%s\",\"caller_id_number\":\"+1%s\",\"network_addr\":\"%s\",\"destination_number\":\"%s\"},\"times\":{\"created_time\":\"%d000000\"}}}\n", \
		apps, x, x, sip, y, t
}
# v URL-encoded when enc (FreeSWITCH's encode-values), else raw.
function uv(v, enc) { return enc ? urlenc(v) : v }
function kannel(i,   t, ev, from, to, r, text, hex, len, j, ch, coding, f, meta) {
	t = 1709251200 + i * 3593 % 2400000
	r = pick(5)
	ev = r == 0 ? "Sent SMS" : r == 1 ? "Receive DLR" : r == 2 ? "FAILED Send SMS" : "Receive SMS"
	from = pick(4) ? ukany() : pick(2) ? "MyBank" : "Info-Line"
	to = pick(5) ? ukany() : "81234"
	coding = 0
	if (pick(4) == 0) {
		# UCS-2: the hex of UTF-16BE, 2 x LEN bytes, found by the fallback
		coding = 2
		text = "Call " uknum(asciiform()) " now"
		hex = ""
		for (j = 1; j <= length(text); j++) hex = hex sprintf("%04X", ORD[substr(text, j, 1)])
		if (pick(2)) hex = hex "D83DDE00"
		text = hex; len = length(hex) / 2
	} else {
		text = uktext()
		# a forged field in the text: LEN makes it data
		if (pick(4) == 0) text = text "] [SVC:" ukany() "] [SMSC:" ukany()
		# Kannel writes non-printable octets as '.'
		gsub(/\t/, ".", text)
		len = length(text)
	}
	meta = pick(3) ? "" : "?smpp?dest_addr_subunit=1&source_addr=" ukany() "&"
	printf "%s %s [SMSC:smpp%d] [SVC:%s] [ACT:] [BINF:%s] [FID:%s] [META:%s] [from:%s] [to:%s] [flags:-1:%d:-1:0:%d] [msg:%d:%s] [udh:0:]\n", \
		tm(t), ev, 1 + pick(2), pick(2) ? "otp" : "", pick(4) ? "" : ukany(), pick(2) ? "" : sprintf("%x", pick(2^31)), \
		meta, from, to, coding, pick(32), len, text
}
# epoch seconds to "YYYY-MM-DD HH:MM:SS" (March 2024 only: day 1 is 1709251200)
function tm(t,   d, s) {
	s = t - 1709251200; d = int(s / 86400); s = s % 86400
	return sprintf("2024-03-%02d %02d:%02d:%02d", 1 + d, int(s / 3600), int(s % 3600 / 60), s % 60)
}
function sms(i,   t, ts, from, to, j, k, text, mid, dir, cl, x) {
	t = 1709251200 + i * 3593 % 2400000
	ts = pick(4) ? "\"" substr(tm(t), 1, 10) "T" substr(tm(t), 12) "Z\"" : t
	dir = pick(2) ? "mt" : "mo"
	k = pick(6)
	if (k == 0) from = "\"MyBank\""
	else if (k == 1) { x = ukn(); from = "44" x }          # a JSON number
	else from = jstr(ukany(), 0.3)
	k = pick(4)
	if (k == 0) {
		to = "["
		for (j = 0; j < 1 + pick(3); j++) to = to (j ? ", " : "") (pick(4) ? jstr(ukany(), 0.3) : "44" ukn())
		to = to (pick(3) ? "" : ", null") "]"
	} else if (k == 1) to = "[" jstr(ukany(), 0.5) "]"
	else to = jstr(ukany(), 0.3)
	text = pick(6) ? jstr(uktext(), 0.3) : "null"
	# the message id holds the recipient's number now and then
	mid = pick(3) ? sprintf("mt-%06d", i) : "0" ukn() "-" i
	cl = pick(3) ? ",\"client\":{\"ip\":" jstr(ip(), 0.2) ",\"account\":\"acme\"}" : ""
	printf "{\"time\":%s,\"direction\":\"%s\",\"from\":%s,\"to\":%s,\"text\":%s,\"parts\":%d,\"smsc\":\"smpp%d\",\"status\":\"%s\",\"message_id\":%s%s,\"extra\":{\"imsi\":\"23499%010d\",\"msisdn\":%s}}\n", \
		ts, dir, from, to, text, 1 + pick(2), 1 + pick(2), pick(2) ? "delivered" : "queued", jstr(mid, 0), cl, pick(1e9), jstr(ukany(), 0)
}
BEGIN {
	srand(seed)
	F = 39
	forms_init()
	for (j = 1; j < 256; j++) ORD[sprintf("%c", j)] = j
	if (preset == "kannel") print "2024-03-01 00:00:00 Log begins"
	for (i = 0; i < n; i++) {
		if (preset == "kamailio-acc") kamailio(i, 0)
		else if (preset == "kamailio-acc-json") kamailio(i, 1)
		else if (preset == "freeswitch-json") fsw(i)
		else if (preset == "kannel") kannel(i)
		else if (preset == "sms-json") sms(i)
		else { print "leakgen-lines.awk: unknown preset " preset > "/dev/stderr"; exit 2 }
	}
	if (preset == "kannel") print "2024-03-29 00:00:00 Log ends"
}
