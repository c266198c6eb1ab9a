# Number forms shared by the leak-test generators (tests/leakgen.awk for the
# CSV presets, tests/leakgen-lines.awk for the line formats): run as
#   awk -f tests/leakforms.awk -f tests/leakgen.awk ...
# fmt(cc, nsn, trunk, intl, f) writes a national significant number in one
# of 39 forms (E.164, prefixes, blanks and dashes of every kind, digits of
# other scripts, invisible separators, URIs); script(s, k) writes its
# digits in script k (tables made by forms_init); remember() records the
# forms to search for.
function forms_init(   d) {
	Z5 = "\342\200\213\342\200\213\342\200\213\342\200\213\342\200\213"
	split("\342\201\260 \302\271 \302\262 \302\263 \342\201\264 \342\201\265 \342\201\266 \342\201\267 \342\201\270 \342\201\271", SUP, " ")
	for (d = 0; d < 10; d++) {
		DIG[1, d ""] = "\357\274" substr("\220\221\222\223\224\225\226\227\230\231", d + 1, 1)
		DIG[2, d ""] = "\331" substr("\240\241\242\243\244\245\246\247\250\251", d + 1, 1)
		DIG[3, d ""] = "\333" substr("\260\261\262\263\264\265\266\267\270\271", d + 1, 1)
		DIG[4, d ""] = "\340\245" substr("\246\247\250\251\252\253\254\255\256\257", d + 1, 1)
		DIG[5, d ""] = "\340\247" substr("\246\247\250\251\252\253\254\255\256\257", d + 1, 1)
		DIG[6, d ""] = "\340\271" substr("\220\221\222\223\224\225\226\227\230\231", d + 1, 1)
		DIG[7, d ""] = "\340\257" substr("\246\247\250\251\252\253\254\255\256\257", d + 1, 1)
		DIG[8, d ""] = "\341\237" substr("\240\241\242\243\244\245\246\247\250\251", d + 1, 1)
		DIG[9, d ""] = "\341\201" substr("\200\201\202\203\204\205\206\207\210\211", d + 1, 1)
		DIG[10, d ""] = "\360\235\237" substr("\216\217\220\221\222\223\224\225\226\227", d + 1, 1)
		DIG[11, d ""] = SUP[d + 1]
	}
}
function pick(k) { return int(rand() * k) }
function na() { return sprintf("%d5550%03d", 201 + pick(98), 100 + pick(100)) }
function remember(cc, nsn, trunk, intl) {
	print cc nsn > digits
	print trunk nsn > digits
	print intl cc nsn > digits
}
function script(s, k,   i, ch, r) {
	r = ""
	for (i = 1; i <= length(s); i++) {
		ch = substr(s, i, 1)
		r = r (ch ~ /[0-9]/ ? DIG[k, ch] : ch)
	}
	return r
}
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
	# other scripts' digits, alone and with Unicode separators
	if (f == 17) return script(trunk nsn, 1)
	if (f == 18) return script("+" cc " " a " " b " " c, 2)
	if (f == 19) return script(trunk a "\302\267" b "\302\267" c, 3)
	if (f == 20) return script(intl cc "\357\274\215" a "\357\274\215" b "\357\274\215" c, 4)
	if (f == 21) return "<sip:" script(trunk nsn, 2) "@trunk>"
	# Unicode separators: U+2014, U+2015, U+00B7, U+2027, U+3000, U+FF0D
	if (f == 22) return trunk a "\342\200\224" b "\342\200\224" c
	if (f == 23) return "+" cc "\342\200\225" a "\342\200\225" b "\342\200\225" c
	if (f == 24) return trunk a "\302\267" b "\302\267" c
	if (f == 25) return intl cc "\342\200\247" a "\342\200\247" b "\342\200\247" c
	if (f == 26) return "+" cc "\343\200\200" a "\343\200\200" b "\343\200\200" c
	if (f == 27) return trunk a " \357\274\215 " b " \357\274\215 " c
	# more scripts, each with another separator: U+200B zero width space,
	# U+00AD soft hyphen, U+2060 word joiner, U+FF0E, U+30FC, U+FE63, U+2043
	if (f == 28) return script(trunk a "\342\200\213" b "\342\200\213" c, 5)
	if (f == 29) return script("+" cc "\302\255" a "\302\255" b "\302\255" c, 6)
	if (f == 30) return script(intl cc "\342\201\240" a "\342\201\240" b "\342\201\240" c, 7)
	if (f == 31) return script(trunk a "\357\274\216" b "\357\274\216" c, 8)
	if (f == 32) return script(trunk a "\343\203\274" b "\343\203\274" c, 9)
	if (f == 33) return script("+" cc "\357\271\243" a "\357\271\243" b "\357\271\243" c, 10)
	if (f == 34) return script(trunk a "\342\201\203" b "\342\201\203" c, 11)
	# invisible characters: a run of five zero width spaces between groups, a
	# number inside bidi isolates (U+2066 .. U+2069), soft hyphens between digits
	if (f == 35) return trunk a Z5 b Z5 c
	if (f == 36) return "\342\201\246+" cc " " a " " b " " c "\342\201\251"
	if (f == 37) { s = ""; for (i = 1; i <= length(nsn); i++) s = s substr(nsn, i, 1) "\302\255"; return trunk s }
	return "sip:+" cc nsn "@pbx.example.com"
}
