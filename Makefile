# cdrmin: plain GNU make.
#   make          build build/cdrmin and build/libcdrmin.a
#   make run      install what is missing, build, filter the shipped sample
#   make test     install what is missing, build, run the whole suite
#   make asan     the suite under AddressSanitizer + UBSan (no recover)
#   make valgrind the suite's end-to-end runs under valgrind memcheck
#   make fixtures regenerate golden outputs on purpose (review the diff)
#   make install  PREFIX=/usr/local DESTDIR=

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
CC      ?= cc

# Debian packages the build and the tests need.
DEB_PKGS = gcc make pkg-config libsodium-dev libxxhash-dev libcriterion-dev

PKGS      = libsodium libxxhash
WARN      = -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wcast-qual -Wwrite-strings -Wvla
OPT      ?= -O2 -g
SAN      ?=
CFLAGS   ?=
CPPFLAGS += -D_GNU_SOURCE -Iinclude
ALL_CFLAGS = -std=c17 $(OPT) $(WARN) $(SAN) -MMD -MP $(CFLAGS)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lsodium -lxxhash)
LIBS       = $(PKG_LIBS) -lm

LIB_SRC  = $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ  = $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
TEST_SRC = $(wildcard tests/test_*.c) tests/support.c
TEST_OBJ = $(TEST_SRC:tests/%.c=$(BUILD)/tobj/%.o)

BIN  = $(BUILD)/cdrmin
LIB  = $(BUILD)/libcdrmin.a
UNIT = $(BUILD)/unit
TRICKLE = $(BUILD)/trickle

.PHONY: all run test unit e2e asan valgrind fixtures clean install deps
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

$(BIN): $(BUILD)/obj/main.o $(LIB)
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

test: deps
	@$(MAKE) --no-print-directory all $(UNIT)
	@$(MAKE) --no-print-directory unit e2e

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" unit e2e

valgrind: deps
	@command -v valgrind >/dev/null || $(MAKE) --no-print-directory DEB_PKGS=valgrind deps
	@$(MAKE) --no-print-directory all $(TRICKLE)
	TRICKLE=$(TRICKLE) CDRMIN="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite $(CURDIR)/$(BIN)" sh tests/e2e.sh

fixtures: $(BIN)
	CDRMIN=$(BIN) sh tests/golden.sh --regenerate

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/cdrmin/rules
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/cdrmin
	install -m 0644 rules/*.rules $(DESTDIR)$(PREFIX)/share/cdrmin/rules/

clean:
	rm -rf build build-asan

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/obj/main.d
