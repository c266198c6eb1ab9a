# cdrmin: plain GNU make.
#   make          build build/cdrmin and build/libcdrmin.a
#   make run      install what is missing, build, filter the shipped sample
#   make test     install what is missing, build, run the whole suite (unit,
#                 end-to-end, the real Kamailio + SIPp run, the SIP capture runs)
#   make asan     the suite under AddressSanitizer + UBSan (no recover)
#   make valgrind the suite's end-to-end runs under valgrind memcheck
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
           libosip2-dev libssl-dev
TEST_PKGS = kamailio sip-tester tcpdump strace

PKGS      = libsodium libxxhash libpcap libosip2 libcrypto
WARN      = -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wcast-qual -Wwrite-strings -Wvla
OPT      ?= -O2 -g
SAN      ?=
CFLAGS   ?=
CPPFLAGS += -D_GNU_SOURCE -Iinclude
ALL_CFLAGS = -std=c17 $(OPT) $(WARN) $(SAN) -MMD -MP $(CFLAGS)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null || \
               echo -lsodium -lxxhash -lpcap -losipparser2 -losip2 -lcrypto)
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
	sh tests/segment-kill.sh

test-deps:
	@$(MAKE) --no-print-directory DEB_PKGS="$(TEST_PKGS)" deps

# The suites `make test` runs, and those `make asan` runs again under the
# sanitizers; each suite's section below adds itself.
TEST_SUITES = unit e2e kamailio sip store segment-kill
ASAN_SUITES = unit e2e kamailio sip store

test: deps test-deps
	@$(MAKE) --no-print-directory all $(UNIT)
	@$(MAKE) --no-print-directory $(TEST_SUITES)

asan: deps test-deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" $(ASAN_SUITES)

valgrind: deps
	@command -v valgrind >/dev/null || $(MAKE) --no-print-directory DEB_PKGS=valgrind deps
	@$(MAKE) --no-print-directory all $(TRICKLE)
	TRICKLE=$(TRICKLE) CDRMIN="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite $(CURDIR)/$(BIN)" sh tests/e2e.sh
	CDRMIN="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite $(CURDIR)/$(BIN)" sh tests/formats.sh

fixtures: $(BIN)
	CDRMIN=$(BIN) sh tests/golden.sh --regenerate

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/cdrmin/rules
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/cdrmin
	install -m 0644 rules/*.rules $(DESTDIR)$(PREFIX)/share/cdrmin/rules/

clean:
	rm -rf build build-asan

# Fuzzing (tests/fuzz/). `fuzz` builds each target with libFuzzer, ASan and
# UBSan in build-fuzz/ (clang installed with apt-get when missing; not a
# `deps` package: `make test` does not need it) and runs it FUZZ_SECONDS
# seconds on its corpus build-fuzz/corpus/<target>/, which grows from run to
# run, seeded from fixtures/, rules/ and ../shared/corpus/sip-torture/. A
# finding is saved as build-fuzz/artifacts/<target>-crash-... and fails the
# run. `fuzz-replay` links the same targets to tests/fuzz/replay.c with gcc
# (ASan + UBSan) and runs them on FILES, or on the seeds and corpora.
FUZZ_CC      ?= clang
FUZZ_DEB     ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?=
FUZZ_TARGETS  = fuzz_csv fuzz_rules fuzz_scrub fuzz_json fuzz_linefmt fuzz_sip fuzz_packet fuzz_calls
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
FUZZ_SEEDS_fuzz_sip   = $(wildcard $(SIP_TORTURE)/*.dat)
FUZZ_SEEDS_fuzz_packet = $(wildcard ../shared/corpus/pcap/*.pcap fixtures/sip/*.pcap)
FUZZ_SEEDS_fuzz_calls =
FUZZ_HDR      = $(wildcard include/cdrmin/*.h)

.PHONY: fuzz fuzz-bins fuzz-replay replay-bins fuzz-clean

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB) $(FUZZ_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(ALL_CFLAGS) -MF /dev/null -o $@ $< $(LIB) $(LIBS)

$(BUILD)/replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIB) $(FUZZ_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(ALL_CFLAGS) -MF /dev/null -o $@ $< tests/fuzz/replay.c $(LIB) $(LIBS)

fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
replay-bins: $(FUZZ_TARGETS:%=$(BUILD)/replay/%)

fuzz: deps
	@command -v $(FUZZ_CC) >/dev/null || $(MAKE) --no-print-directory DEB_PKGS="$(FUZZ_DEB)" deps
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_DIR) CC=$(FUZZ_CC) OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="$(FUZZ_SAN)" fuzz-bins
	@fail=""; for t in $(FUZZ_TARGETS); do \
	  case $$t in \
	    fuzz_csv) seeds="$(FUZZ_SEEDS_fuzz_csv)";; \
	    fuzz_rules) seeds="$(FUZZ_SEEDS_fuzz_rules)";; \
	    fuzz_scrub) seeds="$(FUZZ_SEEDS_fuzz_scrub)";; \
	    fuzz_json) seeds="$(FUZZ_SEEDS_fuzz_json)";; \
	    fuzz_linefmt) seeds="$(FUZZ_SEEDS_fuzz_linefmt)";; \
	    fuzz_sip) seeds="$(FUZZ_SEEDS_fuzz_sip)";; \
	    fuzz_packet) seeds="$(FUZZ_SEEDS_fuzz_packet)";; \
	    fuzz_calls) seeds="$(FUZZ_SEEDS_fuzz_calls)";; \
	  esac; \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/seeds/$$t $(FUZZ_DIR)/artifacts; \
	  for f in $$seeds; do cp -f "$$f" $(FUZZ_DIR)/seeds/$$t/; done; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  $(FUZZ_DIR)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- $(FUZZ_FLAGS) \
	    $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/seeds/$$t 2>$(FUZZ_DIR)/$$t.log; rc=$$?; \
	  grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|#[0-9]+ +DONE)' $(FUZZ_DIR)/$$t.log; \
	  if [ $$rc -ne 0 ]; then \
	    tail -n 60 $(FUZZ_DIR)/$$t.log; fail="$$fail $$t"; \
	  fi; \
	done; \
	if [ -n "$$fail" ]; then echo "fuzz: FINDINGS in:$$fail (see $(FUZZ_DIR)/*.log, $(FUZZ_DIR)/artifacts/)"; exit 1; fi; \
	echo "fuzz: no findings"

fuzz-replay: deps
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_DIR)/gcc CC=$(REPLAY_CC) OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="$(REPLAY_SAN)" replay-bins
	@set -e; for t in $(FUZZ_TARGETS); do \
	  if [ -n "$(FILES)" ]; then files="$(FILES)"; else \
	    case $$t in \
	      fuzz_csv) files="$(FUZZ_SEEDS_fuzz_csv)";; \
	      fuzz_rules) files="$(FUZZ_SEEDS_fuzz_rules)";; \
	      fuzz_scrub) files="$(FUZZ_SEEDS_fuzz_scrub)";; \
	      fuzz_json) files="$(FUZZ_SEEDS_fuzz_json)";; \
	      fuzz_linefmt) files="$(FUZZ_SEEDS_fuzz_linefmt)";; \
	      fuzz_sip) files="$(FUZZ_SEEDS_fuzz_sip)";; \
	      fuzz_packet) files="$(FUZZ_SEEDS_fuzz_packet)";; \
	      fuzz_calls) files="$(FUZZ_SEEDS_fuzz_calls)";; \
	    esac; \
	    files="$$files $$(find $(FUZZ_DIR)/corpus/$$t -type f 2>/dev/null)"; \
	  fi; \
	  echo "replay: $$t on $$(echo $$files | wc -w) files"; \
	  $(FUZZ_DIR)/gcc/replay/$$t $$files 2>$(FUZZ_DIR)/replay-$$t.log || \
	    { tail -n 60 $(FUZZ_DIR)/replay-$$t.log; exit 1; }; \
	done; echo "replay: all ran"

fuzz-clean:
	rm -rf $(FUZZ_DIR)

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/obj/main.d $(BUILD)/obj/cli_store.d
