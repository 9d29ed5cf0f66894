# optd build. Libraries come from pkg-config (libmicrohttpd, jansson, sqlite3,
# libcurl, libcrypto, cmocka); libphonenumber ships no .pc file, so its shim
# (src/core/phone_shim.cc) links -lphonenumber directly, and -lprotobuf (which
# libphonenumber-dev brings) to read the metadata the library carries.
#   make            build/optd (optimised, with debug symbols)
#   make SAN=1      build/asan/optd and tests under AddressSanitizer + UBSan
#   make FUZZ=1 fuzz  libFuzzer targets in build/fuzz/ (clang)
#   make tools      test drivers in build/tests/template/ (the template
#                   renderer that tests/template/run.sh compares)
#   make run        install what is missing, build, run `optd serve`
#   make check      install what is missing, build everything, run every
#                   test suite (also under the sanitizers); last line
#                   "N passed, N failed"

PKGS := libmicrohttpd jansson sqlite3 libpq libcurl libcrypto icu-uc

ifeq ($(FUZZ),1)
CC := clang
CXX := clang++
BUILD := build/fuzz
OPT := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
else ifeq ($(SAN),1)
BUILD := build/asan
OPT := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
       -fno-sanitize-recover=undefined
else
BUILD := build
OPT := -g -O2
endif

WARN := -Wall -Wextra -Werror
CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -Isrc -MMD -MP \
          $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CXXFLAGS := -std=c++17 $(OPT) $(WARN) -Isrc -MMD -MP
LDLIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lphonenumber -lprotobuf -lpthread

SRC_C := $(shell find src -name '*.c' ! -name main.c | sort)
SRC_CC := $(shell find src -name '*.cc' | sort)
WEB_SRC := $(sort $(wildcard web/*))
OBJ := $(SRC_C:%.c=$(BUILD)/%.o) $(SRC_CC:%.cc=$(BUILD)/%.o) \
       $(BUILD)/gen/assets.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:%.c=$(BUILD)/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:%.c=$(BUILD)/%)
TOOL_SRC := $(wildcard tests/template/*.c)
TOOL_BIN := $(TOOL_SRC:%.c=$(BUILD)/%)

.PHONY: all unit fuzz tools run check deps clean

all: $(BUILD)/optd

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

# web/ is compiled in (lib/assets.h): its files become one C table.
$(BUILD)/gen/assets.c: $(WEB_SRC) scripts/embed.sh
	@mkdir -p $(dir $@)
	scripts/embed.sh $(WEB_SRC) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/assets.o: $(BUILD)/gen/assets.c
	$(CC) $(CFLAGS) -c $< -o $@

# C++ links the libphonenumber shim's runtime.
$(BUILD)/optd: $(OBJ) $(BUILD)/src/main.o
	$(CXX) $(OPT) -o $@ $^ $(LDLIBS)

unit: $(UNIT_BIN)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(OBJ)
	$(CXX) $(OPT) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

fuzz: $(FUZZ_BIN)

$(BUILD)/tests/fuzz/%: $(BUILD)/tests/fuzz/%.o $(OBJ)
	$(CXX) $(subst fuzzer-no-link,fuzzer,$(OPT)) -o $@ $^ $(LDLIBS)

tools: $(TOOL_BIN)

$(BUILD)/tests/template/%: $(BUILD)/tests/template/%.o $(OBJ)
	$(CXX) $(OPT) -o $@ $^ $(LDLIBS)

deps:
	@scripts/deps.sh run

run: deps
	@$(MAKE) --no-print-directory all
	./build/optd serve

check: deps
	@scripts/deps.sh test
	@scripts/test.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
