# shadowmilter - see README.md.
#
#   make            build build/shadowmilter
#   make demo       install build deps if missing, build, run the bundled report through
#                   a private Postfix with the milter and print what each mailbox received
#   make demo-replay the same report through "shadowmilter replay" (offline, dry run)
#   make check      install build deps if missing, run all tests, then again under ASan+UBSan
#   make bench      run the benchmarks in tests/bench/
#   make crash-trial SIGKILL the daemon KILLS times (1000) while reports stream in through a
#                   private Postfix; prints "kills N, lost N, doubled N" (not in make check)
#   make fuzz       every libFuzzer target in tests/fuzz/ for FUZZ_SECONDS each (clang)
#   make install    PREFIX=/usr/local DESTDIR= : program, templates, man pages, examples
#   make deb        a Debian package in $(BUILD)/deb/ (contrib/debian/, dpkg-buildpackage), checked by lintian

CC      ?= cc
# recursive makes stay quiet, so the last line of "make check" is the test summary
MAKEFLAGS += --no-print-directory
BUILD   ?= build
OPT     ?= -O2
SAN     ?=
CFLAGS  ?= $(OPT) -g
LDFLAGS ?=
WARN     = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
TEMPLATEDIR ?= $(CURDIR)/templates
# libpq and libopendkim keep their headers in subdirectories (Debian: /usr/include/postgresql, /usr/include/opendkim)
PKG_CFLAGS = -I/usr/include/postgresql -I/usr/include/opendkim
CPPFLAGS = -std=c11 -D_GNU_SOURCE -Imilter $(PKG_CFLAGS) -DSM_TEMPLATE_DIR=\"$(TEMPLATEDIR)\"
LIBS     = -lcsv -lpcre2-8 -larchive -lsqlite3 -lcurl -lcrypto -lpq -lopendkim -ljansson
THREADLIBS = -lpthread
# only the program (and the no-op milter the passthrough bench compares with) speak libmilter
MILTERLIBS = -lmilter $(THREADLIBS)

ALL_CFLAGS = $(CPPFLAGS) $(WARN) $(CFLAGS) $(SAN)

# The pipeline library: every folder of milter/ except the program shells, milter/cmd/
# (milter/README.md says what each folder owns).
SHELL_SRCS = $(wildcard milter/cmd/*.c)
LIB_SRCS   = $(filter-out $(SHELL_SRCS),$(wildcard milter/*/*.c))
LIB_OBJS   = $(LIB_SRCS:milter/%.c=$(BUILD)/lib/%.o)
PROG_SRCS  = $(filter $(wildcard $(SHELL_SRCS)),$(SHELL_SRCS))
PROG_OBJS  = $(PROG_SRCS:milter/%.c=$(BUILD)/prog/%.o)
TEST_SRCS  = $(wildcard tests/test_*.c) tests/unit_main.c tests/fakemta.c tests/fakesmtp.c tests/testmail.c tests/testrig.c tests/testsign.c tests/hostilemail.c
TEST_OBJS  = $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%.o)
BENCH_SRCS = $(wildcard tests/bench/*.c)
BENCH_BINS = $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)
# what the benchmarks share (the milter-protocol driver, the million-prefix table): linked into each
BENCH_LIB_SRCS = $(wildcard tests/bench/lib/*.c)
BENCH_LIB_OBJS = $(BENCH_LIB_SRCS:tests/bench/lib/%.c=$(BUILD)/bench/lib/%.o)

.PHONY: all deb deps demo demo-replay fuzz fuzz-build install check check-plain check-asan unit bench crash-trial clean

all: $(BUILD)/shadowmilter

# -MMD -MP: each object depends on the headers it includes (its .d file, read
# at the end), no more; an object without its .d file is remade
DEPFLAGS = -MMD -MP
$(BUILD)/lib/%.o: milter/%.c $(BUILD)/lib/%.d | $(BUILD)/lib
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<
$(BUILD)/prog/%.o: milter/%.c $(BUILD)/prog/%.d | $(BUILD)/prog
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<
$(BUILD)/tests/%.o: tests/%.c $(BUILD)/tests/%.d | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -Itests -c -o $@ $<

$(BUILD)/libshadowmilter.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/shadowmilter: $(PROG_OBJS) $(BUILD)/libshadowmilter.a
	$(CC) $(SAN) $(LDFLAGS) -o $@ $(PROG_OBJS) $(BUILD)/libshadowmilter.a $(LIBS) $(MILTERLIBS)

$(BUILD)/unit: $(TEST_OBJS) $(BUILD)/libshadowmilter.a
	$(CC) $(SAN) -o $@ $(TEST_OBJS) $(BUILD)/libshadowmilter.a $(LIBS) $(THREADLIBS)

# dkimsign: signs fixtures with the throwaway test key (tests/fixtures/dkim/) for the shell suites and the demo
$(BUILD)/dkimsign: tests/tools/dkimsign.c $(BUILD)/tests/testsign.o $(BUILD)/libshadowmilter.a
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -Itests -o $@ $< $(BUILD)/tests/testsign.o $(BUILD)/libshadowmilter.a $(LIBS)

.SECONDARY: $(BENCH_LIB_OBJS)
$(BUILD)/bench/lib/%.o: tests/bench/lib/%.c $(BUILD)/bench/lib/%.d | $(BUILD)/bench
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/bench/%: tests/bench/%.c $(BENCH_LIB_OBJS) $(BUILD)/libshadowmilter.a | $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -Itests/bench -o $@ $< $(BENCH_LIB_OBJS) $(BUILD)/libshadowmilter.a $(LIBS) \
	    $(THREADLIBS)

# bench_hostile builds issue 17's mails with the test helpers that sign them
$(BUILD)/bench/bench_hostile: tests/bench/bench_hostile.c tests/hostilemail.c tests/testsign.c tests/hostilemail.h \
    tests/testsign.h $(BUILD)/libshadowmilter.a $(HDRS) | $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< tests/hostilemail.c tests/testsign.c $(BUILD)/libshadowmilter.a \
	    $(LIBS) $(THREADLIBS)

# bench_refreshload signs its reports with the test helper too
$(BUILD)/bench/bench_refreshload: tests/bench/bench_refreshload.c $(BUILD)/tests/testsign.o $(BENCH_LIB_OBJS) \
    $(BUILD)/libshadowmilter.a | $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -Itests -Itests/bench -o $@ $< $(BUILD)/tests/testsign.o $(BENCH_LIB_OBJS) \
	    $(BUILD)/libshadowmilter.a $(LIBS) $(THREADLIBS)

$(BUILD)/bench/noop_milter: tests/bench/noop_milter.c | $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) -o $@ $< $(MILTERLIBS)

$(BUILD)/lib $(BUILD)/prog $(BUILD)/tests $(BUILD)/bench:
	mkdir -p $@

unit: $(BUILD)/unit

deps:
	@sh tests/install-deps.sh

demo: deps
	$(MAKE) all $(BUILD)/dkimsign
	@sh tests/demo-postfix.sh $(BUILD)/shadowmilter

demo-replay: deps
	$(MAKE) all $(BUILD)/dkimsign
	@sh tests/demo.sh $(BUILD)/shadowmilter

# Plain build first, then the whole suite again under ASan+UBSan in build-asan/,
# with the fuzz targets.
check: deps
	$(MAKE) check-plain
	$(MAKE) check-asan

# the stock-Debian suite (the .deb in a Debian 12 root) runs in the plain pass only
STOCK_DEBIAN ?= yes
check-plain: $(BUILD)/shadowmilter $(BUILD)/unit $(BUILD)/dkimsign
	@SM_FUZZ_SECONDS=$(SM_FUZZ_SECONDS) SM_STOCK_DEBIAN=$(STOCK_DEBIAN) sh tests/run.sh $(BUILD)

# the ASan pass also runs each fuzz target for FUZZ_CHECK_SECONDS
check-asan:
	$(MAKE) BUILD=build-asan OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    SM_FUZZ_SECONDS=$(FUZZ_CHECK_SECONDS) STOCK_DEBIAN=no check-plain

bench: $(BUILD)/shadowmilter $(BUILD)/dkimsign $(BENCH_BINS)
	@sh tests/bench/run.sh $(BUILD)

# Crash trials of the outbox (tests/crash-trial.sh; its knobs: KILLS, ACCOUNTS,
# MAX_DELAY_MS, DELIVER_RUNS, CT_DB); not part of make check.
KILLS ?= 1000
crash-trial: deps
	$(MAKE) all $(BUILD)/dkimsign
	@KILLS=$(KILLS) sh tests/crash-trial.sh $(BUILD)

# libFuzzer targets (tests/fuzz/fuzz_*.c, clang): the library is built once
# more with coverage and ASan+UBSan under $(BUILD)/fuzz/. "make fuzz" runs
# every target for FUZZ_SECONDS; make check's ASan pass runs each for
# FUZZ_CHECK_SECONDS (tests/fuzz/run.sh, seeds made from the fixtures).
FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_CHECK_SECONDS ?= 30
FUZZ_SAN       = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# clang warns about things gcc does not: warnings, but not errors, in this build
# HEADER_BLOCK_MAX at 48 KiB: fuzz_headerview crosses it in a few fields, not a MiB a run
FUZZ_CFLAGS    = $(CPPFLAGS) $(filter-out -Werror,$(WARN)) -Wno-string-concatenation -g -O1 $(FUZZ_SAN) \
    -DHEADER_BLOCK_MAX='(48 * 1024)'
FUZZ_TARGETS   = $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIB_OBJS  = $(LIB_SRCS:milter/%.c=$(BUILD)/fuzz/lib/%.o)
FUZZ_BINS      = $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)

$(BUILD)/fuzz/lib/%.o: milter/%.c $(BUILD)/fuzz/lib/%.d
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(BUILD)/fuzz/libshadowmilter.a: $(FUZZ_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzzutil.c tests/fuzz/fuzzutil.h $(BUILD)/fuzz/libshadowmilter.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Itests/fuzz -o $@ $< tests/fuzz/fuzzutil.c \
	    $(BUILD)/fuzz/libshadowmilter.a $(LIBS) -lpthread

fuzz-build: $(FUZZ_BINS)

fuzz:
	@sh tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS)

# make install [PREFIX=/usr] [DESTDIR=...]: the program, the shipped templates
# (compiled in as the default template directory), man pages, and the example
# config, customer map and systemd unit under $(DATADIR) for the admin to copy.
PREFIX  ?= /usr/local
DESTDIR ?=
DATADIR  = $(PREFIX)/share/shadowmilter
install:
	$(MAKE) BUILD=build-install TEMPLATEDIR=$(DATADIR)/templates all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(DATADIR)/templates/resolved $(DESTDIR)$(DATADIR)/templates/partials \
	    $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 build-install/shadowmilter $(DESTDIR)$(PREFIX)/sbin/shadowmilter
	install -m 644 templates/*.tmpl templates/digest*.txt templates/catalogue.csv $(DESTDIR)$(DATADIR)/templates/
	install -m 644 templates/resolved/*.tmpl $(DESTDIR)$(DATADIR)/templates/resolved/
	install -m 644 templates/partials/*.tmpl $(DESTDIR)$(DATADIR)/templates/partials/
	for l in $(notdir $(wildcard templates/??)); do \
	    install -d $(DESTDIR)$(DATADIR)/templates/$$l/resolved $(DESTDIR)$(DATADIR)/templates/$$l/partials && \
	    install -m 644 templates/$$l/*.tmpl $$(ls templates/$$l/digest*.txt 2>/dev/null) $(DESTDIR)$(DATADIR)/templates/$$l/ && \
	    install -m 644 templates/$$l/resolved/*.tmpl $(DESTDIR)$(DATADIR)/templates/$$l/resolved/ && \
	    install -m 644 templates/$$l/partials/*.tmpl $(DESTDIR)$(DATADIR)/templates/$$l/partials/ || exit 1; \
	done
	install -m 644 contrib/shadowmilter.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 contrib/shadowmilter.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 conf/shadowmilter.conf $(DESTDIR)$(DATADIR)/shadowmilter.conf.example
	install -m 644 conf/customers.csv $(DESTDIR)$(DATADIR)/customers.csv.example
	install -m 644 contrib/shadowmilter.service contrib/shadowmilter.path contrib/postfix-main.cf contrib/sendmail.mc contrib/opendkim.conf \
	    $(DESTDIR)$(DATADIR)/

# make deb: the package is built from a copy of the sources with contrib/debian/
# as its debian/ (the top level has no debian/ of its own), by dpkg-buildpackage
# and debhelper; the .deb lands in $(BUILD)/deb/. lintian must find no errors.
DEB_SRC = $(BUILD)/deb/shadowmilter
deb:
	rm -rf $(BUILD)/deb && mkdir -p $(DEB_SRC)
	tar -cf - Makefile README.md NEWS conf contrib milter templates | tar -xf - -C $(DEB_SRC)
	cp -R contrib/debian $(DEB_SRC)/debian
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc -b >../build.log 2>&1 || { tail -n 40 ../build.log; exit 1; }
	lintian --fail-on error $(BUILD)/deb/shadowmilter_*.changes
	@ls $(BUILD)/deb/shadowmilter_*.deb

clean:
	rm -rf build build-asan build-install

# the headers each object and program includes, as the compiler found them (-MMD)
DEPFILES = $(LIB_OBJS:.o=.d) $(PROG_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(FUZZ_LIB_OBJS:.o=.d) $(BENCH_LIB_OBJS:.o=.d)
$(DEPFILES):
-include $(DEPFILES) $(BUILD)/dkimsign.d $(BENCH_BINS:=.d)
