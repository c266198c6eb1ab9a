# Generates records for the leak test: synthetic numbers (reserved drama and
# 555-01xx ranges), IP addresses (documentation ranges) and e-mail addresses,
# written in many forms (also with the digits of other scripts: fullwidth,
# Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali, Thai, Tamil,
# Khmer, Myanmar, mathematical bold, superscripts; and with Unicode
# separators, invisible ones among them), in number
# columns, caller ids, dial strings and free text; for the Asterisk presets
# also calls between short extensions (100-199) named in the caller id and
# the dial string; for the mobile preset also IMSIs, IMEIs, cell ids,
# coordinates and geohashes. Every original goes to the secrets files, for
# the search (extensions are too short for it: e2e.sh looks for them by
# their places).
#   awk -v preset=asterisk|newcdr|freeswitch|generic|mobile -v n=600 -v seed=7 \
#       -v digits=FILE -v strings=FILE -f tests/leakforms.awk -f tests/leakgen.awk
function q(s) { gsub(/"/, "\"\"", s); return "\"" s "\"" }
# A UK national significant number (10 digits) in a drama range.
function uk() {
	r = pick(3)
	if (r == 0) return sprintf("207946%04d", pick(1000))
	if (r == 1) return sprintf("7700900%03d", pick(1000))
	return sprintf("1134960%03d", pick(1000))
}
# A North American number (10 digits) in 555-0100..0199.
# s with its ASCII digits written in script k (1 fullwidth, 2 Arabic-Indic,
# 3 Extended Arabic-Indic, 4 Devanagari, 5 Bengali, 6 Thai, 7 Tamil, 8 Khmer,
# 9 Myanmar, 10 mathematical bold, 11 superscripts; UTF-8, built in BEGIN).
# nsn written in form f; cc, trunk prefix and international prefix given.
function ip(   v) {
	v = pick(3)
	if (v == 0) s = sprintf("192.0.2.%d", 1 + pick(254))
	else if (v == 1) s = sprintf("198.51.100.%d", 1 + pick(254))
	else s = sprintf("2001:db8:%x:%x::%x", pick(65536), pick(65536), 1 + pick(65535))
	print s > strings
	return s
}
# ---- mobile (rules/mobile.rules)
# An MSISDN: mostly as TS 32.298 exports write it (international, no "+"),
# else in one of the written forms; the digits are remembered.
function msisdn(cc, nsn, trunk, intl) {
	remember(cc, nsn, trunk, intl)
	if (pick(3) == 0) return cc nsn
	return fmt(cc, nsn, trunk, intl, pick(F))
}
# A roaming number of another country: North American, in its international forms.
function roamer(   y, f) {
	y = na(); remember("1", y, "", "00")
	f = pick(5)
	if (f == 0) return "1" y
	if (f == 1) return "001" y
	if (f == 2) return "+1 " substr(y, 1, 3) " " substr(y, 4, 3) " " substr(y, 7)
	if (f == 3) return "tel:+1" y
	return "+1" y
}
# An IMSI: MCC 234 MNC 99 (or the test network 001 01) and a made-up MSIN.
function imsi(   s, f) {
	s = (pick(4) ? "23499" : "00101") sprintf("%05d%05d", pick(100000), pick(100000))
	print s > digits
	f = pick(3)
	if (f == 1) return substr(s, 1, 3) " " substr(s, 4, 2) " " substr(s, 6)
	if (f == 2) return substr(s, 1, 3) "-" substr(s, 4, 2) "-" substr(s, 6)
	return s
}
# The Luhn check digit of a 14-digit IMEI (TS 23.003 annex B).
function luhn(d,   i, v, t) {
	t = 0
	for (i = 1; i <= 14; i++) {
		v = substr(d, i, 1) + 0
		if (i % 2 == 0) { v *= 2; if (v > 9) v -= 9 }
		t += v
	}
	return (10 - t % 10) % 10
}
# An IMEI with TAC 35209900: without or with its check digit, as IMEISV, with
# dashes or spaces, or empty. The TAC is kept by policy (keep=8), so what is
# remembered starts 2 digits into it: every 7-digit window holds a serial digit.
function imei(   d, c, f, w, s) {
	f = pick(7)
	if (f == 6) return ""
	d = sprintf("35209900%06d", pick(1000000))
	c = luhn(d)
	if (f == 0) w = d
	else if (f == 1) w = d c
	else if (f == 2) w = d sprintf("%02d", pick(100))
	else if (f == 3) w = substr(d, 1, 2) "-" substr(d, 3, 6) "-" substr(d, 9) "-" c
	else if (f == 4) w = substr(d, 1, 2) " " substr(d, 3, 6) " " substr(d, 9) " " c
	else w = substr(d, 1, 2) "-" substr(d, 3, 6) "-" substr(d, 9)
	s = w; gsub(/[^0-9]/, "", s)
	print substr(s, 3) > digits
	return w
}
# Geohash (geohash.org) of lat, lon with len characters.
function geohash(lat, lon, len,   lo1, hi1, lo2, hi2, even, bits, ch, g, mid) {
	lo1 = -90; hi1 = 90; lo2 = -180; hi2 = 180; even = 1; bits = 0; ch = 0; g = ""
	while (length(g) < len) {
		if (even) {
			mid = (lo2 + hi2) / 2
			if (lon >= mid) { ch = ch * 2 + 1; lo2 = mid } else { ch = ch * 2; hi2 = mid }
		} else {
			mid = (lo1 + hi1) / 2
			if (lat >= mid) { ch = ch * 2 + 1; lo1 = mid } else { ch = ch * 2; hi1 = mid }
		}
		even = !even
		if (++bits == 5) { g = g substr("0123456789bcdefghjkmnpqrstuvwxyz", ch + 1, 1); bits = 0; ch = 0 }
	}
	return g
}
function mobile(i,   t, types, x, y, z, la, lo, g, d, off, up, dn, cell) {
	split("MOC MTC SMS-MO SMS-MT DATA", types, " ")
	t = types[1 + pick(5)]
	x = uk(); y = uk(); z = uk()
	# exact coordinates around London, 5 or 6 decimals, and the geohash of the point
	d = 5 + pick(2)
	la = sprintf("%." d "f", 51.3 + rand() * 0.4)
	lo = sprintf("%." d "f", -0.5 + rand() * 0.8)
	g = geohash(la + 0, lo + 0, 9 + pick(4))
	print la > strings; print lo > strings; print g > strings
	if (pick(4) == 0) { g = toupper(g); print g > strings }
	cell = sprintf("%d", 20000000 + pick(8000000))
	print cell > digits
	off = pick(3) == 0 ? "+01:00" : "+00:00"
	up = ""; dn = ""
	if (t == "DATA") { up = pick(1000000); dn = pick(1000000) }
	printf "REC-%06d,%s,2024-03-%02dT%02d:%02d:%02d%s,2024-03-%02dT%02d:59:59%s,%d,%s,%s,%s,%s,%s,234,99,%d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", \
		i, t, 1 + i % 28, pick(23), pick(60), pick(60), off, 1 + i % 28, 23, off, pick(4000), \
		q(pick(4) ? msisdn("44", x, "0", "00") : roamer()), \
		q(t == "DATA" ? "" : pick(4) ? msisdn("44", y, "0", "00") : roamer()), \
		q(t == "MTC" && pick(2) ? msisdn("44", z, "0", "00") : ""), \
		imsi(), imei(), 1000 + pick(9000), cell, la, lo, g, \
		t == "DATA" || pick(3) == 0 ? ip() : "", t == "DATA" ? "internet" : "ims", up, dn, \
		t == "DATA" ? "LONPGW01" : "LONMSC01", t == "MTC" ? "BT-LON-03" : "", \
		t == "MOC" ? "BT-LON-07" : "", t == "DATA" ? "RG10" : "TS11"
}
function email(   s) {
	s = sprintf("user%d.name@example.%s", pick(100000), pick(2) ? "com" : "org")
	print s > strings
	return s
}
BEGIN {
	srand(seed)
	F = 39
	forms_init()
	if (preset == "generic")
		print "record_id,caller,callee,start_time,duration,caller_ip,status,notes,operator_comment"
	if (preset == "mobile")
		print "record_id,record_type,start_time,end_time,duration,calling_msisdn,called_msisdn,redirecting_number,imsi,imei,mcc,mnc,lac_tac,cell_id,latitude,longitude,geohash,ue_ip,apn,bytes_up,bytes_down,node_name,trunk_in,trunk_out,service"
	for (i = 0; i < n; i++) {
		if (preset == "mobile") {
			mobile(i)
			continue
		}
		if (preset == "freeswitch") {
			x = na(); y = na(); remember("1", x, "1", "011"); remember("1", y, "1", "011")
			printf "%s,%s,%s,\"default\",\"2024-03-%02d 10:00:00\",\"\",\"2024-03-01 10:00:05\",\"5\",\"0\",\"NO_ANSWER\",\"%s\",\"\",\"acct %s\",\"PCMU\",\"PCMU\"\n", \
				q(fmt("1", x, "1", "011", pick(F))), q(fmt("1", x, "1", "011", pick(F))), \
				q(fmt("1", y, "1", "011", pick(F))), 1 + i % 28, \
				sprintf("%08x-0000-4000-8000-%012d", i, i), fmt("1", y, "1", "011", pick(F))
			continue
		}
		x = uk(); y = uk(); remember("44", x, "0", "00"); remember("44", y, "0", "00")
		if (preset == "generic") {
			printf "r-%d,%s,%s,2024-03-%02dT10:00:00Z,%d,%s,answered,%s,%s\n", i, \
				q(fmt("44", x, "0", "00", pick(F))), q(fmt("44", y, "0", "00", pick(F))), \
				1 + i % 28, pick(4000), ip(), \
				q("call back " fmt("44", x, "0", "00", pick(F)) " or " email() " from " ip() ", ref " fmt("44", y, "0", "00", pick(F))), \
				q("dropped " fmt("44", y, "0", "00", pick(F)))
			continue
		}
		if (pick(4) == 0) {
			# an internal call: extension e calls extension f, both
			# named again in the caller id and the dial string
			e = 100 + pick(100); f = 100 + pick(100)
			sx = e; sy = f
			cx = pick(4) ? e : script(e, 2)
			dl = pick(2) ? "PJSIP/" f ",30" : "PJSIP/" f "&PJSIP/" e ",20"
		} else {
			sx = fmt("44", x, "0", "00", pick(F)); sy = fmt("44", y, "0", "00", pick(F))
			cx = fmt("44", x, "0", "00", pick(F))
			dl = "PJSIP/" fmt("44", y, "0", "00", pick(F)) "@trunk,30,tT"
		}
		line = sprintf("%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%d,%d,%s,%s,%s,%s", \
			q(""), q(sx), q(sy), q("ctx"), \
			q("\"Name " i "\" <" cx ">"), q("PJSIP/" x "-0001"), \
			q(""), q("Dial"), q(dl), \
			q(sprintf("2024-03-%02d 10:00:00", 1 + i % 28)), q(""), q("2024-03-01 10:00:05"), \
			5, 0, q("NO ANSWER"), q("DOCUMENTATION"), q(x ".1"), q(fmt("44", y, "0", "00", pick(F))))
		if (preset == "newcdr")
			line = line sprintf(",%s,%s,%d", q(fmt("44", x, "0", "00", pick(F))), q(x ".1"), i)
		print line
	}
}
