# Asterisk cdr_csv (Master.csv) records for throughput runs, deterministic by
# seed: synthetic UK drama-range numbers with a skewed (repeating) popularity,
# written as E.164, national and 00-prefixed, in src, dst, clid and lastdata.
#   awk -v n=500000 -v seed=11 -f bench/gen-asterisk.awk > ast.csv
BEGIN {
	if (n == "") n = 500000
	if (seed == "") seed = 11
	srand(seed)
	for (i = 0; i < n; i++) {
		# the product of two uniforms favours small indexes: some numbers call a lot
		a = int(1000 * rand() * rand()); b = int(1000 * rand() * rand())
		src = (i % 3 == 0) ? sprintf("+44207946%04d", a) : (i % 3 == 1) ? sprintf("0207946%04d", a) : sprintf("07700900%03d", a % 1000)
		dst = (i % 2) ? sprintf("+44207946%04d", b) : sprintf("0044 113 496 0%03d", b % 1000)
		printf "\"\",\"%s\",\"%s\",\"from-internal\",\"\"\"Caller %d\"\" <%s>\",\"PJSIP/ext-%08x\",\"PJSIP/trunk-%08x\",\"Dial\",\"PJSIP/%s@trunk,30,tT\",\"2024-03-%02d %02d:%02d:%02d\",\"2024-03-%02d %02d:%02d:%02d\",\"2024-03-%02d %02d:%02d:%02d\",%d,%d,\"ANSWERED\",\"DOCUMENTATION\",\"1709284502.%d\",\"\"\n", src, dst, a, src, i, i + 1, dst, 1 + i % 28, i % 24, i % 60, (i * 7) % 60, 1 + i % 28, i % 24, i % 60, (i * 7 + 5) % 60, 1 + i % 28, i % 24, (i + 3) % 60, (i * 7) % 60, 10 + i % 900, i % 900, i
	}
}
