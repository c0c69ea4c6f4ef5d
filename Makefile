# urtc: one non-recursive Makefile.
#
#   make               library (build/liburtc.a, build/liburtc.so) and programs
#   make test          build and run every test (T=net/timer runs only tests/net/timer_test)
#   make asan | tsan   the same tests under ASan+UBSan or TSan, in build/<san>/
#   make bench         build/urtc-bench
#   make fuzz          libFuzzer targets with clang, in build/fuzz/<name>
#   make demo          build and start the demo call server
#   make deps          install the Debian packages the build and tests need
#   make install PREFIX=/usr/local, make format, make format-check, make check-layers
#
# V=1 shows commands. WERROR=1 makes warnings errors (CI sets it). BUILD=dir puts a build
# elsewhere (parallel work trees); SAN=asan|tsan|fuzz selects a variant.

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:

V ?= 0
Q := $(if $(filter 1,$(V)),,@)
msg = $(if $(filter 1,$(V)),,@printf '  %-6s %s\n' $(1) $(2);)

SAN ?=
ifeq ($(SAN),)
BUILD ?= build
else
BUILD ?= build/$(SAN)
endif
ifeq ($(SAN),fuzz)
CC := clang
endif

PREFIX ?= /usr/local

# ---------------------------------------------------------------------------------------------
# Debian packages. `make deps` installs the missing ones; every build and test target needs it.
DEB_PKGS := gcc make pkg-config liburing-dev libssl-dev libsrtp2-dev libusrsctp-dev \
	libopus-dev libvpx-dev libopenh264-dev libck-dev libcriterion-dev libjansson-dev \
	clang libclang-rt-14-dev clang-format iproute2 python3 \
	python3-aioice coturn nodejs curl python3-websockets python3-aiortc chromium firefox-esr tshark \
	janus gnuplot-nox

# npm packages for the browser tests (playwright-core drives Debian's chromium; it never
# downloads a browser): every package-lock.json under tests/.
NPM_LOCKS := $(shell find tests -name package-lock.json -not -path '*/node_modules/*' 2>/dev/null)

# pkg-config names. Evaluated once, at first use (after `deps` has run on a fresh machine).
PKGS := liburing libssl libcrypto libsrtp2 usrsctp opus vpx openh264 jansson
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $$(shell pkg-config --libs $(PKGS)))$(PKG_LIBS)

WARNFLAGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wformat=2 \
	-Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARNFLAGS += -Werror
endif
OPTFLAGS ?= -O2 -g
SANFLAGS :=
ifeq ($(SAN),asan)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPTFLAGS := -O1 -g
endif
ifeq ($(SAN),tsan)
SANFLAGS := -fsanitize=thread
OPTFLAGS := -O1 -g
# Criterion cannot start under TSan (Snaipe/Criterion#274): tests build against a shim of its
# API (tests/support/tsan/) and run the multi-threaded tests unless T says otherwise.
TSAN_TESTS := engine/shard engine/peer engine/pc engine/sfu net/queue net/tcp net/ring rtc/sctp
T ?= $(TSAN_TESTS)
endif
ifeq ($(SAN),fuzz)
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
OPTFLAGS := -O1 -g
endif

CFLAGS_ALL = $(if $(filter tsan,$(SAN)),-Itests/support/tsan -Wno-format-zero-length) -std=gnu11 $(OPTFLAGS) $(WARNFLAGS) $(SANFLAGS) -fPIC -fvisibility=hidden \
	-D_GNU_SOURCE -I. -Iinclude -DTST_SRC_DIR='"$(CURDIR)"' $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lck -lpthread -lm $(LDLIBS)
LDFLAGS_ALL = $(SANFLAGS) $(LDFLAGS)

# ---------------------------------------------------------------------------------------------
# Sources. A folder's *.c files make up the library, except *_test.c, *_fuzz.c and
# *_main.c (a program's entry point: <dir>/<name>_main.c becomes build/urtc-<name>).
LIB_SRC := $(filter-out %_test.c %_fuzz.c %_main.c, \
	$(wildcard net/*.c rtc/*/*.c codecs/*.c engine/*.c signaling/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB_A := $(BUILD)/liburtc.a
LIB_SO := $(BUILD)/liburtc.so

BENCH_SRC := $(wildcard bench/*.c)
BENCH_OBJ := $(BENCH_SRC:%.c=$(BUILD)/obj/%.o)
BENCH_BIN := $(BUILD)/urtc-bench

MAIN_SRC := $(wildcard signaling/*_main.c)
MAIN_BIN := $(patsubst %_main.c,$(BUILD)/urtc-%,$(notdir $(MAIN_SRC)))

EXAMPLE_SRC := $(wildcard examples/*.c)
EXAMPLE_BIN := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)

SUPPORT_SRC := $(wildcard tests/support/*.c)
CRITERION_LIB := -lcriterion
ifeq ($(SAN),tsan)
SUPPORT_SRC += tests/support/tsan/runner.c
CRITERION_LIB :=
endif
SUPPORT_OBJ := $(SUPPORT_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(shell find tests -name '*_test.c' -not -path 'tests/fixtures/*' | sort)
TEST_BIN := $(TEST_SRC:%.c=$(BUILD)/%)
ifneq ($(T),)
TEST_RUN := $(filter $(addprefix $(BUILD)/tests/,$(addsuffix _test,$(T))),$(TEST_BIN))
else
TEST_RUN := $(TEST_BIN)
endif

# Fuzz targets: tests/fuzz/<name>_fuzz.c. `make fuzz` builds them with libFuzzer; `make test`
# builds them with a plain main (tests/fuzz/replay.c) that replays tests/fuzz/corpus/<name>/.
FUZZ_SRC := $(wildcard tests/fuzz/*_fuzz.c)
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/%_fuzz.c=%)
REPLAY_BIN := $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay/%)

ALL_OBJ := $(LIB_OBJ) $(BENCH_OBJ) $(SUPPORT_OBJ) $(MAIN_SRC:%.c=$(BUILD)/obj/%.o) \
	$(EXAMPLE_SRC:%.c=$(BUILD)/obj/%.o) $(TEST_SRC:%.c=$(BUILD)/obj/%.o) \
	$(FUZZ_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/tests/fuzz/replay.o

# ---------------------------------------------------------------------------------------------
.PHONY: all lib test asan tsan bench fuzz fuzz-run demo deps install format format-check \
	check-layers check-symbols clean

ifeq ($(SAN),fuzz)
all: fuzz
else
all: lib $(BENCH_BIN) $(MAIN_BIN) $(EXAMPLE_BIN)
endif
lib: $(LIB_A) $(LIB_SO)
bench: $(BENCH_BIN)

deps:
	$(Q)missing=""; \
	have=" $$(dpkg-query -W -f='$${Package} $${Status}\n' $(DEB_PKGS) 2>/dev/null | \
		awk '$$NF == "installed" && $$(NF-1) == "ok" { printf "%s ", $$1 }')"; \
	for p in $(DEB_PKGS); do case "$$have" in *" $$p "*) ;; *) missing="$$missing $$p";; esac; done; \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$missing"; \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	$(Q)if [ -n "$(NPM_LOCKS)" ] && ! command -v npm >/dev/null; then \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends npm; fi
	$(Q)for lock in $(NPM_LOCKS); do d=$${lock%/package-lock.json}; \
		[ -d $$d/node_modules ] || { echo "make deps: npm ci in $$d"; \
		npm ci --prefix $$d --no-audit --no-fund --loglevel=error || exit 1; }; done

$(ALL_OBJ): | deps

$(BUILD)/obj/%.o: %.c
	$(call msg,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(LIB_OBJ)
	$(call msg,LD,$@)
	$(Q)$(CC) -shared $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BENCH_BIN): $(BENCH_OBJ) $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/urtc-%: $(BUILD)/obj/signaling/%_main.o $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/examples/%: $(BUILD)/obj/examples/%.o $(LIB_A)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(SUPPORT_OBJ) $(LIB_A)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CRITERION_LIB) $(LDLIBS_ALL)

# tests/bench/: the load generator's helpers are linked in (the rest of bench/ needs main.c).
$(BUILD)/tests/bench/%: $(BUILD)/obj/tests/bench/%.o $(BUILD)/obj/bench/load_core.o $(SUPPORT_OBJ) $(LIB_A)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CRITERION_LIB) $(LDLIBS_ALL)

$(BUILD)/fuzz-replay/%: $(BUILD)/obj/tests/fuzz/%_fuzz.o $(BUILD)/obj/tests/fuzz/replay.o $(LIB_A)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

# Tests run from the top of the tree. Each binary is a Criterion runner; replay binaries feed
# every file of their corpus to the fuzz target once. Then the exported-symbol check.
# The programs too: tests/signaling and tests/peer run urtc-server, urtc-peer and examples/.
# Each run's output is also kept in $(BUILD)/test-logs/; a failed run is named again at the end
# with its failure lines, so that the tail of a CI log says what failed.
ifneq ($(T),)
TEST_DEPS := $(TEST_RUN) $(BENCH_BIN) $(MAIN_BIN) $(EXAMPLE_BIN)
else
TEST_DEPS := $(TEST_BIN) $(REPLAY_BIN) $(BENCH_BIN) $(MAIN_BIN) $(EXAMPLE_BIN)
endif
test: lib $(TEST_DEPS)
	$(Q)logs=$(BUILD)/test-logs; rm -rf $$logs; mkdir -p $$logs; failed=; \
	run() { log=$$logs/$$(echo "$$1" | tr / _).log; echo "== $$*"; \
		{ "$$@"; echo $$? >$$log.rc; } 2>&1 | tee $$log; \
		[ "$$(cat $$log.rc)" = 0 ] || failed="$$failed $$log"; }; \
	for t in $(TEST_RUN); do \
		run $$t $(if $(filter tsan,$(SAN)),,--short-filename) $(TEST_ARGS); done; \
	if [ -z "$(T)" ]; then for r in $(REPLAY_BIN); do \
		run $$r tests/fuzz/corpus/$${r##*/}; done; fi; \
	[ -z "$$failed" ] && exit 0; for log in $$failed; do \
		echo "== FAILED ($$(cat $$log.rc)): $$log"; \
		grep -E '\[(FAIL|----)\]|Sanitizer|ERROR|FAIL|not ok' $$log | tail -40; done; \
	exit 1
	$(Q)if [ -z "$(SAN)" ]; then $(MAKE) --no-print-directory check-symbols; fi

asan:
	$(Q)$(MAKE) --no-print-directory SAN=asan test
tsan:
	$(Q)$(MAKE) --no-print-directory SAN=tsan test

ifeq ($(SAN),fuzz)
FUZZ_BIN := $(FUZZ_NAMES:%=$(BUILD)/%)
fuzz: $(FUZZ_BIN)
$(BUILD)/%: $(BUILD)/obj/tests/fuzz/%_fuzz.o $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS_ALL)
# Runs every target for FUZZ_SECONDS on a copy of its corpus (new inputs stay in build/).
FUZZ_SECONDS ?= 30
fuzz-run: $(FUZZ_BIN)
	$(Q)fail=0; for n in $(FUZZ_NAMES); do mkdir -p $(BUILD)/corpus/$$n; \
		echo "== fuzz $$n ($(FUZZ_SECONDS) s)"; \
		$(BUILD)/$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
			-artifact_prefix=$(BUILD)/crash-$$n- $(BUILD)/corpus/$$n tests/fuzz/corpus/$$n \
			>$(BUILD)/$$n.log 2>&1 || { fail=1; tail -40 $(BUILD)/$$n.log; }; done; exit $$fail
else
fuzz:
	$(Q)$(MAKE) --no-print-directory SAN=fuzz fuzz
fuzz-run:
	$(Q)$(MAKE) --no-print-directory SAN=fuzz fuzz-run
endif

# Only urtc_* may leave the shared library (-fvisibility=hidden plus URTC_API).
check-symbols: $(LIB_SO)
	$(Q)bad=$$(nm -D --defined-only $(LIB_SO) | awk '{print $$3}' | \
		grep -vE '^(urtc_|_init$$|_fini$$|_edata$$|_end$$|__bss_start$$)' || true); \
	if [ -n "$$bad" ]; then echo "check-symbols: exported beyond urtc_*:"; echo "$$bad"; exit 1; fi; \
	echo "check-symbols: ok"

demo: all
	$(Q)if [ -x $(BUILD)/urtc-server ]; then exec $(BUILD)/urtc-server $(DEMO_ARGS); \
	else echo "make demo: urtc-server is not built yet (see README: status)"; exit 1; fi

SRC_DIRS := include net rtc codecs engine signaling bench examples tests
FORMAT_FILES = $(shell find $(SRC_DIRS) -name '*.[ch]' -not -path 'tests/fixtures/*')
format:
	$(Q)clang-format -i $(FORMAT_FILES)
format-check:
	$(Q)clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: ok"
check-layers:
	$(Q).ci/check-layers.sh

install: lib
	$(Q)install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/urtc
	$(Q)install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	$(Q)install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/
	$(Q)install -m 644 include/urtc/*.h $(DESTDIR)$(PREFIX)/include/urtc/
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@PKGS@|$(PKGS)|' urtc.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/urtc.pc
	@echo "installed urtc in $(DESTDIR)$(PREFIX)"

clean:
	rm -rf build

-include $(ALL_OBJ:.o=.d)
