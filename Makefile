# cdrmin: plain GNU make.
#   make          build build/cdrmin and build/libcdrmin.a
#   make run      install what is missing, build, filter the shipped sample
#   make test     install what is missing, build, run the whole suite (unit,
#                 end-to-end, the real Kamailio + SIPp run, the SIP capture runs)
#   make asan     the suite under AddressSanitizer + UBSan (no recover)
#   make valgrind the unit tests and the shell suites under valgrind memcheck
#   make fixtures regenerate golden outputs on purpose (review the diff)
#   make install  PREFIX=/usr/local DESTDIR=
#   make fuzz     libFuzzer targets (clang), FUZZ_SECONDS=60 each, corpora in build-fuzz/
#   make fuzz-replay FILES=...  run the fuzz targets on files, built with gcc (no clang)

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc

# Debian packages the build and the unit tests need; the end-to-end run with a
# real CDR producer also needs Kamailio and SIPp (tests/kamailio.sh), and the
# SIP capture tests tcpdump.
DEB_PKGS = gcc make pkg-config libsodium-dev libxxhash-dev libcriterion-dev libpcap-dev \
           libosip2-dev libssl-dev zlib1g-dev libzstd-dev
TEST_PKGS = kamailio sip-tester tcpdump strace

PKGS      = libsodium libxxhash libpcap libosip2 libcrypto zlib libzstd
WARN      = -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wcast-qual -Wwrite-strings -Wvla
OPT      ?= -O2 -g
SAN      ?=
CFLAGS   ?=
CPPFLAGS += -D_GNU_SOURCE -Iinclude
ALL_CFLAGS = -std=c17 $(OPT) $(WARN) $(SAN) -MMD -MP $(CFLAGS)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null || \
               echo -lsodium -lxxhash -lpcap -losipparser2 -losip2 -lcrypto -lz -lzstd)
LIBS       = $(PKG_LIBS) -lm

LIB_SRC  = $(filter-out src/main.c src/cli_store.c,$(wildcard src/*.c))
LIB_OBJ  = $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
TEST_SRC = $(wildcard tests/test_*.c) tests/support.c
TEST_OBJ = $(TEST_SRC:tests/%.c=$(BUILD)/tobj/%.o)

BIN  = $(BUILD)/cdrmin
LIB  = $(BUILD)/libcdrmin.a
UNIT = $(BUILD)/unit
TRICKLE = $(BUILD)/trickle

.PHONY: all run test unit e2e kamailio sip store segment-kill test-deps asan valgrind fixtures clean install deps
.DELETE_ON_ERROR:

all: $(BIN)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tobj/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(ALL_CFLAGS) -Wno-missing-prototypes -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/obj/main.o $(BUILD)/obj/cli_store.o $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(TRICKLE): tests/trickle.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $<

$(UNIT): $(TEST_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIB) -lcriterion $(LIBS)

# Installs the Debian packages that are missing (apt-get; sudo when not root).
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "installing:$$missing"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

DEMO_KEY = $(BUILD)/demo.key
$(DEMO_KEY): | $(BIN)
	$(BIN) keygen $@

run: deps
	@$(MAKE) --no-print-directory all $(DEMO_KEY)
	$(BIN) -r rules/asterisk.rules -k $(DEMO_KEY) --stats fixtures/asterisk/master.csv

unit: $(UNIT)
	$(UNIT) --jobs 2

e2e: $(BIN) $(TRICKLE)
	CDRMIN=$(BIN) TRICKLE=$(TRICKLE) sh tests/e2e.sh
	CDRMIN=$(BIN) sh tests/formats.sh

kamailio: $(BIN)
	CDRMIN=$(BIN) sh tests/kamailio.sh

sip: $(BIN)
	CDRMIN=$(BIN) sh tests/sip.sh

store: $(BIN)
	CDRMIN=$(BIN) sh tests/store.sh

# The retained store's segments under SIGKILL at 100 random points.
segment-kill: $(LIB)
	CDRMIN_LIB=$(LIB) SAN="$(SAN)" sh tests/segment-kill.sh

test-deps:
	@$(MAKE) --no-print-directory DEB_PKGS="$(TEST_PKGS)" deps

# The suites `make test` runs, and those `make asan` runs again under the
# sanitizers; each suite's section below adds itself.
TEST_SUITES = unit e2e kamailio sip store segment-kill
ASAN_SUITES = unit e2e kamailio sip store segment-kill

test: deps test-deps
	@$(MAKE) --no-print-directory all $(UNIT)
	@$(MAKE) --no-print-directory $(TEST_SUITES)

asan: deps test-deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" $(ASAN_SUITES)

# The threaded code (-j: the reader, the workers, the ordered writer, the
# cache counters read while workers run) under ThreadSanitizer: a report
# goes to stderr and exits 66, which tests/jobs.sh sees as a difference.
TSAN_SUITES = jobs
.PHONY: tsan
tsan: deps test-deps
	@$(MAKE) --no-print-directory BUILD=build-tsan OPT="-O1 -g" SAN="-fsanitize=thread" $(TSAN_SUITES)

# I/O faults (tests/faults.sh): output to /dev/full and to a closed pipe,
# unreadable inputs, and every input family under short reads and writes,
# EINTR and EAGAIN injected by tests/faultio.c, an LD_PRELOAD library built
# without sanitizers (under make asan the script preloads the binary's ASan
# runtime first). setpriv (util-linux) makes a file unreadable for root.
FAULTIO = $(BUILD)/faultio.so
TEST_PKGS += util-linux
.PHONY: faults

$(FAULTIO): tests/faultio.c
	@mkdir -p $(@D)
	$(CC) -std=c17 $(OPT) $(WARN) -fPIC -shared -o $@ $< -ldl

faults: $(BIN) $(FAULTIO)
	CDRMIN=$(BIN) FAULTIO=$(FAULTIO) sh tests/faults.sh

TEST_SUITES += faults
ASAN_SUITES += faults

# Operations (tests/ops.sh): gzip and zstd archives of every input family,
# corrupt and truncated ones, a bomb; the progress bar on a terminal
# (script, util-linux); --stats-json read by python3; SIGHUP log rotation.
TEST_PKGS += zstd python3
.PHONY: ops

ops: $(BIN)
	CDRMIN=$(BIN) sh tests/ops.sh

TEST_SUITES += ops
ASAN_SUITES += ops

# -j N (tests/jobs.sh): every line format at -j 2 and 3 and at chunk sizes
# down to 1 byte gives the bytes, rejections, counters and exit status of -j 1.
.PHONY: jobs

jobs: $(BIN) $(BUILD)/bench-bin/gen
	CDRMIN=$(BIN) GEN=$(BUILD)/bench-bin/gen sh tests/jobs.sh

TEST_SUITES += jobs
ASAN_SUITES += jobs

# Key rotation and key memory (tests/keys.sh): a key schedule's switch at an
# epoch boundary, its refusals, `check`, store find/export under two keys, and
# a running cdrmin's /proc (core size 0, not dumpable; setpriv, util-linux,
# runs it as another user when the suite runs as root).
TEST_PKGS += util-linux
.PHONY: keys

keys: $(BIN)
	CDRMIN=$(BIN) sh tests/keys.sh

TEST_SUITES += keys
ASAN_SUITES += keys

# Operations, part 2 (README *Man page and install*, *Live capture as a
# systemd service*, *Sharding*, *Kafka*): the man page renders without
# warnings and has every option of --help, make install puts it in place
# (tests/man.sh); the example unit passes systemd-analyze, and its commands
# capture on lo as nobody with CAP_NET_RAW alone (tests/systemd.sh: setpriv,
# strace); GNU parallel shards give one run's bytes (tests/shard.sh); kcat
# round trips through librdkafka's mock cluster (tests/kafka.sh).
TEST_PKGS += man-db groff-base systemd util-linux strace python3 parallel kcat
.PHONY: man systemd shard kafka

man: $(BIN)
	CDRMIN=$(BIN) BUILD=$(BUILD) sh tests/man.sh

systemd: $(BIN)
	CDRMIN=$(BIN) sh tests/systemd.sh

shard: $(BIN)
	CDRMIN=$(BIN) sh tests/shard.sh

kafka: $(BIN)
	CDRMIN=$(BIN) sh tests/kafka.sh

TEST_SUITES += man systemd shard kafka
ASAN_SUITES += man systemd shard kafka

# Benchmark (bench/, README *Benchmark*). `bench` installs BENCH_PKGS when
# missing, generates BENCH_MB MiB per case into BENCH_DIR (reused while the
# generator and the arguments stay the same), runs cdrmin, the baselines and
# the peers BENCH_RUNS times each (median), with -j N for N in BENCH_JOBS
# when cdrmin has -j, and writes bench/results.md and bench/throughput.png.
# `bench-smoke` (make test) checks the generator and the tools in seconds.
BENCH_MB    ?= 1024
BENCH_RUNS  ?= 3
BENCH_JOBS  ?= 1 2
BENCH_SEED  ?= 1
BENCH_DIR   ?= $(BUILD)/bench-data
BENCH_BIN    = $(BUILD)/bench-bin
BENCH_TOOLS  = $(BENCH_BIN)/gen $(BENCH_BIN)/runner $(BENCH_BIN)/linecopy
BENCH_PKGS   = miller tshark gnuplot-nox python3 gzip zstd
TEST_PKGS   += python3
.PHONY: bench bench-smoke bench-tools

$(BENCH_BIN)/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MF /dev/null -o $@ $< -lm

bench-tools: $(BENCH_TOOLS)

bench: deps
	@$(MAKE) --no-print-directory DEB_PKGS="$(BENCH_PKGS)" deps
	@$(MAKE) --no-print-directory all bench-tools
	CDRMIN=$(BIN) GEN=$(BENCH_BIN)/gen RUNNER=$(BENCH_BIN)/runner LINECOPY=$(BENCH_BIN)/linecopy \
	  BENCH_MB=$(BENCH_MB) BENCH_RUNS=$(BENCH_RUNS) BENCH_JOBS="$(BENCH_JOBS)" \
	  BENCH_SEED=$(BENCH_SEED) BENCH_DIR=$(BENCH_DIR) BENCH_OUT=bench CC="$(CC)" sh bench/bench.sh

bench-smoke: $(BIN) $(BENCH_TOOLS)
	CDRMIN=$(BIN) BENCH_BIN=$(BENCH_BIN) sh bench/smoke.sh

TEST_SUITES += bench-smoke
ASAN_SUITES += bench-smoke

# No leak through errors (tests/rejectleak.sh): every reject reason of every
# input family, and the commands' errors, with marked values; stderr, the
# summary and stdout scanned for them in every written form (python3).
TEST_PKGS += python3
.PHONY: rejectleak

rejectleak: $(BIN)
	CDRMIN=$(BIN) sh tests/rejectleak.sh

TEST_SUITES += rejectleak
ASAN_SUITES += rejectleak

# The plain-hash attack (tests/plainhash.sh, helper tests/plainhash.c): SHA-256
# of 10^7 numbers in every encoding matches none of their pseudonyms, and all
# of them once the pseudonyms are replaced by plain SHA-256 (the control).
# make asan runs it whole (some 2.5 minutes); make valgrind on 10^5 numbers.
PLAINHASH = $(BUILD)/plainhash
.PHONY: plainhash

$(PLAINHASH): tests/plainhash.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(ALL_CFLAGS) -MF /dev/null -o $@ $< $(LIBS)

plainhash: $(BIN) $(PLAINHASH)
	CDRMIN=$(BIN) PLAINHASH=$(PLAINHASH) sh tests/plainhash.sh

TEST_SUITES += plainhash
# under the sanitizers too: some 2.5 minutes (10^7 numbers through an ASan build)
ASAN_SUITES += plainhash

# valgrind memcheck over the suites that can run under it: the unit tests
# (every Criterion worker followed), and the shell suites with CDRMIN set to
# valgrind and the binary. Each process logs to $(VG_DIR)/vg.PID.log: a
# definite leak, an invalid read or write, a use of uninitialised memory or
# a bad free in any process is a finding, even where a test does not look at
# the exit status (which is 99 then). Findings and failed suites fail the
# target, after every suite has run. A section adds a suite whose rule is
# `CDRMIN=... sh tests/NAME.sh` with VALGRIND_SUITES += NAME.
VG_DIR   = $(BUILD)/valgrind
VALGRIND = valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
           --show-leak-kinds=definite --log-file=$(CURDIR)/$(VG_DIR)/vg.%p.log
# The unit tests but one: key/residue_scan_finds_planted_copies reads the
# whole process through /proc/self/mem, which under valgrind holds the
# tool's own copies of what the test planted.
VG_UNIT_FILTER = !(key/residue_scan_finds_planted_copies)
VG_BIN   = $(VALGRIND) $(CURDIR)/$(BIN)
# The store suite's SIGKILL runs (100 in make test) are 40 under valgrind:
# a killed process reports nothing at exit, and the 100 took 7 of the
# 52 minutes of the whole target; the recovery runs between them are checked.
VG_KILL_RUNS = 40
# The jobs suite's -j/--chunk pairs against -j 1: five of its ten under
# valgrind (each thread count; chunks read by the main thread, in ranges,
# and the default; the ten took 10 of the 52 minutes), all ten in make
# test, make asan and make tsan.
VG_JOBS_PAIRS = 2:1 3:601 2:64 3:4096 2:0
# Not here: keys (its live run reads the process's /proc entries, which are
# valgrind's), faults (preloads a library into cdrmin), segment-kill (its own
# helper, killed at random), bench-smoke, man, systemd (no cdrmin run to check).
VALGRIND_SUITES = unit e2e formats store sip kamailio ops jobs shard kafka hostile rejectleak plainhash

valgrind: deps test-deps
	@command -v valgrind >/dev/null || $(MAKE) --no-print-directory DEB_PKGS=valgrind deps
	@$(MAKE) --no-print-directory all $(TRICKLE) $(UNIT) $(PLAINHASH) replay-bins $(BENCH_BIN)/gen
	@rm -rf $(VG_DIR); mkdir -p $(VG_DIR); fail=""; t0=$$(date +%s); \
	for s in $(VALGRIND_SUITES); do \
	  t=$$(date +%s); echo "valgrind: $$s"; \
	  case $$s in \
	    unit) $(VALGRIND) --trace-children=yes $(UNIT) --jobs 2 --filter '$(VG_UNIT_FILTER)' ;; \
	    e2e) TRICKLE=$(TRICKLE) CDRMIN="$(VG_BIN)" sh tests/e2e.sh ;; \
	    plainhash) PLAINHASH_N=100000 PLAINHASH=$(PLAINHASH) CDRMIN="$(VG_BIN)" sh tests/plainhash.sh ;; \
	    hostile) CDRMIN="$(VG_BIN)" REPLAY=$(BUILD)/replay sh tests/hostile.sh ;; \
	    jobs) JOBS_PAIRS="$(VG_JOBS_PAIRS)" CDRMIN="$(VG_BIN)" GEN=$(BENCH_BIN)/gen sh tests/jobs.sh ;; \
	    store) STORE_KILL_RUNS=$(VG_KILL_RUNS) CDRMIN="$(VG_BIN)" sh tests/store.sh ;; \
	    *) CDRMIN="$(VG_BIN)" sh tests/$$s.sh ;; \
	  esac || fail="$$fail $$s"; \
	  echo "valgrind: $$s: $$(($$(date +%s) - t)) s"; \
	done; \
	found=$$(find $(VG_DIR) -name 'vg.*.log' -size +0c | sort); \
	for f in $$found; do echo "--- $$f"; head -n 40 $$f; done; \
	[ -z "$$found" ] || fail="$$fail (memcheck findings in $$(echo $$found | wc -w) processes)"; \
	echo "valgrind: $$(ls $(VG_DIR) | wc -l) processes checked in $$(($$(date +%s) - t0)) s"; \
	if [ -n "$$fail" ]; then echo "valgrind: FAILED:$$fail"; exit 1; fi; echo "valgrind: no findings"

fixtures: $(BIN)
	CDRMIN=$(BIN) sh tests/golden.sh --regenerate

# The binary, the presets, the README, the man page, and the example
# systemd unit (its /usr/local paths rewritten to PREFIX) with the
# sysusers.d file of its user.
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/cdrmin/rules \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/cdrmin
	install -m 0644 rules/*.rules $(DESTDIR)$(PREFIX)/share/cdrmin/rules/
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/cdrmin/README.md
	install -m 0644 src/cdrmin.1 $(DESTDIR)$(PREFIX)/share/man/man1/cdrmin.1
	sed 's|/usr/local/|$(PREFIX)/|g' 'src/systemd/cdrmin-capture@.service' > \
	  '$(DESTDIR)$(UNITDIR)/cdrmin-capture@.service'
	chmod 0644 '$(DESTDIR)$(UNITDIR)/cdrmin-capture@.service'
	install -m 0644 src/systemd/cdrmin.sysusers $(DESTDIR)$(SYSUSERSDIR)/cdrmin.conf

clean:
	rm -rf build build-asan

# Fuzzing (tests/fuzz/). `fuzz` builds each target with libFuzzer, ASan and
# UBSan in build-fuzz/ (clang installed with apt-get when missing; not a
# `deps` package: `make test` does not need it) and runs it FUZZ_SECONDS
# seconds on its corpus build-fuzz/corpus/<target>/, which grows from run to
# run, seeded from fixtures/, rules/, ../shared/corpus/, tests/fuzz/seeds/
# and the target's regression inputs tests/hostile/<target>/ (every input
# that ever crashed it). A finding is saved as
# build-fuzz/artifacts/<target>-crash-... and fails the run. `fuzz-replay`
# links the same targets to tests/fuzz/replay.c with gcc (ASan + UBSan) and
# runs them on FILES, or on the seeds, regression inputs and corpora.
FUZZ_CC      ?= clang
FUZZ_DEB     ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?=
FUZZ_TARGETS  = fuzz_csv fuzz_rules fuzz_scrub fuzz_json fuzz_linefmt fuzz_sip fuzz_packet fuzz_calls \
                fuzz_store
FUZZ_DIR      = build-fuzz
FUZZ_SAN      = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
REPLAY_CC    ?= gcc
REPLAY_SAN   ?= -fsanitize=address,undefined -fno-sanitize-recover=all
FILES        ?=
SIP_TORTURE   = ../shared/corpus/sip-torture
FUZZ_SEEDS_fuzz_csv   = $(wildcard fixtures/*/*.csv)
FUZZ_SEEDS_fuzz_rules = $(wildcard rules/*.rules)
FUZZ_SEEDS_fuzz_scrub = $(wildcard fixtures/*/*.csv $(SIP_TORTURE)/*.dat)
FUZZ_SEEDS_fuzz_json  = $(wildcard fixtures/*/*.jsonl fixtures/kamailio/acc-json.log)
FUZZ_SEEDS_fuzz_linefmt = $(wildcard fixtures/kannel/*.log tests/kamailio/sample-acc.log)
FUZZ_SEEDS_fuzz_sip   = $(wildcard $(SIP_TORTURE)/*.dat tests/hostile/sip/*.sip)
FUZZ_SEEDS_fuzz_packet = $(wildcard ../shared/corpus/pcap/*.pcap fixtures/sip/*.pcap)
FUZZ_SEEDS_fuzz_calls = $(wildcard tests/fuzz/seeds/fuzz_calls/*)
FUZZ_SEEDS_fuzz_store = $(wildcard tests/fuzz/seeds/fuzz_store/*)
# Seeds and regression inputs of each target, as shell assignments seeds_<target>="...".
FUZZ_SEED_VARS = $(foreach t,$(FUZZ_TARGETS),seeds_$(t)="$(FUZZ_SEEDS_$(t)) $(wildcard tests/hostile/$(t)/*)";)
FUZZ_HDR      = $(wildcard include/cdrmin/*.h) tests/utf8_model.h

.PHONY: fuzz fuzz-bins fuzz-replay replay-bins fuzz-clean

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB) $(FUZZ_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(ALL_CFLAGS) -MF /dev/null -o $@ $< $(LIB) $(LIBS)

$(BUILD)/replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIB) $(FUZZ_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(ALL_CFLAGS) -MF /dev/null -o $@ $< tests/fuzz/replay.c $(LIB) $(LIBS)

fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
replay-bins: $(FUZZ_TARGETS:%=$(BUILD)/replay/%)

# Known attacks (tests/hostile/) through the binary, and the regression
# inputs and seeds through the replay binaries built with $(CC): part of
# `make test`, and of `make asan` under the sanitizers.
.PHONY: hostile
hostile: $(BIN) replay-bins
	CDRMIN=$(BIN) REPLAY=$(BUILD)/replay sh tests/hostile.sh
TEST_SUITES += hostile
ASAN_SUITES += hostile
TEST_PKGS += python3

# The corpora are merged back into few files (-merge=1) after each run, so
# that they do not grow without bound from CI run to CI run.
fuzz: deps
	@command -v $(FUZZ_CC) >/dev/null || $(MAKE) --no-print-directory DEB_PKGS="$(FUZZ_DEB)" deps
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_DIR) CC=$(FUZZ_CC) OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="$(FUZZ_SAN)" fuzz-bins
	@$(FUZZ_SEED_VARS) fail=""; for t in $(FUZZ_TARGETS); do \
	  eval seeds=\"\$$seeds_$$t\"; \
	  rm -rf $(FUZZ_DIR)/seeds/$$t; \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/seeds/$$t $(FUZZ_DIR)/artifacts; \
	  for f in $$seeds; do cp -f "$$f" $(FUZZ_DIR)/seeds/$$t/; done; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  $(FUZZ_DIR)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -timeout=20 \
	    -rss_limit_mb=2048 -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- $(FUZZ_FLAGS) \
	    $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/seeds/$$t 2>$(FUZZ_DIR)/$$t.log; rc=$$?; \
	  grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|#[0-9]+ +DONE)' $(FUZZ_DIR)/$$t.log; \
	  if [ $$rc -ne 0 ]; then \
	    tail -n 60 $(FUZZ_DIR)/$$t.log; fail="$$fail $$t"; \
	  else \
	    rm -rf $(FUZZ_DIR)/corpus/$$t.min; mkdir -p $(FUZZ_DIR)/corpus/$$t.min; \
	    $(FUZZ_DIR)/fuzz/$$t -merge=1 $(FUZZ_DIR)/corpus/$$t.min $(FUZZ_DIR)/corpus/$$t \
	      2>$(FUZZ_DIR)/$$t.merge.log && \
	      { rm -rf $(FUZZ_DIR)/corpus/$$t; mv $(FUZZ_DIR)/corpus/$$t.min $(FUZZ_DIR)/corpus/$$t; }; \
	    echo "fuzz: $$t corpus $$(ls $(FUZZ_DIR)/corpus/$$t | wc -l) files"; \
	  fi; \
	done; \
	if [ -n "$$fail" ]; then echo "fuzz: FINDINGS in:$$fail (see $(FUZZ_DIR)/*.log, $(FUZZ_DIR)/artifacts/)"; exit 1; fi; \
	echo "fuzz: no findings"

fuzz-replay: deps
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_DIR)/gcc CC=$(REPLAY_CC) OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="$(REPLAY_SAN)" replay-bins
	@$(FUZZ_SEED_VARS) set -e; for t in $(FUZZ_TARGETS); do \
	  if [ -n "$(FILES)" ]; then files="$(FILES)"; else \
	    eval files=\"\$$seeds_$$t\"; \
	    files="$$files $$(find $(FUZZ_DIR)/corpus/$$t -type f 2>/dev/null)"; \
	  fi; \
	  echo "replay: $$t on $$(echo $$files | wc -w) files"; \
	  $(FUZZ_DIR)/gcc/replay/$$t $$files 2>$(FUZZ_DIR)/replay-$$t.log || \
	    { tail -n 60 $(FUZZ_DIR)/replay-$$t.log; exit 1; }; \
	done; echo "replay: all ran"

fuzz-clean:
	rm -rf $(FUZZ_DIR)

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/obj/main.d $(BUILD)/obj/cli_store.d
