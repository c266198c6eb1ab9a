# Generates records for the leak test: synthetic numbers (reserved drama and
# 555-01xx ranges), IP addresses (documentation ranges) and e-mail addresses,
# written in many forms, in number columns, caller ids, dial strings and
# free text. Every original goes to the secrets files, for the search.
#   awk -v preset=asterisk|newcdr|freeswitch|generic -v n=600 -v seed=7 \
#       -v digits=FILE -v strings=FILE -f tests/leakgen.awk
function q(s) { gsub(/"/, "\"\"", s); return "\"" s "\"" }
function pick(k) { return int(rand() * k) }
# A UK national significant number (10 digits) in a drama range.
function uk() {
	r = pick(3)
	if (r == 0) return sprintf("207946%04d", pick(1000))
	if (r == 1) return sprintf("7700900%03d", pick(1000))
	return sprintf("1134960%03d", pick(1000))
}
# A North American number (10 digits) in 555-0100..0199.
function na() { return sprintf("%d5550%03d", 201 + pick(98), 100 + pick(100)) }
function remember(cc, nsn, trunk, intl) {
	print cc nsn > digits
	print trunk nsn > digits
	print intl cc nsn > digits
}
# nsn written in form f; cc, trunk prefix and international prefix given.
function fmt(cc, nsn, trunk, intl, f,    a, b, c, i, s) {
	a = substr(nsn, 1, 3); b = substr(nsn, 4, 3); c = substr(nsn, 7)
	if (f == 0) return "+" cc nsn
	if (f == 1) return intl cc nsn
	if (f == 2) return trunk nsn
	if (f == 3) return "+" cc " " a " " b " " c
	if (f == 4) return "+" cc "-" a "-" b "-" c
	if (f == 5) return "(" trunk a ") " b " " c
	if (f == 6) return "tel:+" cc nsn
	if (f == 7) return trunk a "." b "." c
	if (f == 8) return "+" cc " (0)" a " " b " " c
	if (f == 9) return trunk a "/" b "/" c
	if (f == 10) { s = trunk; for (i = 1; i <= 10; i += 2) s = s " " substr(nsn, i, 2); return s }
	if (f == 11) return trunk a "\t" b "\t" c
	if (f == 12) return trunk a "\302\240" b "\302\240" c
	if (f == 13) return trunk a " - " b " - " c
	if (f == 14) return trunk a "_" b "_" c
	if (f == 15) return "+" cc "\342\200\223" a "\342\200\223" b "\342\200\223" c
	if (f == 16) return intl cc " (0)" a " " b " " c
	return "sip:+" cc nsn "@pbx.example.com"
}
function ip(   v) {
	v = pick(3)
	if (v == 0) s = sprintf("192.0.2.%d", 1 + pick(254))
	else if (v == 1) s = sprintf("198.51.100.%d", 1 + pick(254))
	else s = sprintf("2001:db8:%x:%x::%x", pick(65536), pick(65536), 1 + pick(65535))
	print s > strings
	return s
}
function email(   s) {
	s = sprintf("user%d.name@example.%s", pick(100000), pick(2) ? "com" : "org")
	print s > strings
	return s
}
BEGIN {
	srand(seed)
	F = 18
	if (preset == "generic")
		print "record_id,caller,callee,start_time,duration,caller_ip,status,notes,operator_comment"
	for (i = 0; i < n; i++) {
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
		line = sprintf("%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%d,%d,%s,%s,%s,%s", \
			q(""), q(fmt("44", x, "0", "00", pick(F))), q(fmt("44", y, "0", "00", pick(F))), q("ctx"), \
			q("\"Name " i "\" <" fmt("44", x, "0", "00", pick(F)) ">"), q("PJSIP/" x "-0001"), \
			q(""), q("Dial"), q("PJSIP/" fmt("44", y, "0", "00", pick(F)) "@trunk,30,tT"), \
			q(sprintf("2024-03-%02d 10:00:00", 1 + i % 28)), q(""), q("2024-03-01 10:00:05"), \
			5, 0, q("NO ANSWER"), q("DOCUMENTATION"), q(x ".1"), q(fmt("44", y, "0", "00", pick(F))))
		if (preset == "newcdr")
			line = line sprintf(",%s,%s,%d", q(fmt("44", x, "0", "00", pick(F))), q(x ".1"), i)
		print line
	}
}
