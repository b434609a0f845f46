# A thin wrapper over Meson.  The two commands that matter:
#   make run    set up, build and start the node on its embedded defaults
#   make test   set up, build with sanitizers, run every test
MESON_FLAGS ?=
RELEASE := build/release
TEST := build/test
FUZZ := build/fuzz

.PHONY: all build run demo test bench fuzz clean

all: build

$(RELEASE)/build.ninja:
	meson setup $(RELEASE) --buildtype=release -Dtests=false $(MESON_FLAGS)

build: $(RELEASE)/build.ninja
	ninja -C $(RELEASE)

# linkd answering Chainlink's contracts on a local chain (scripts/demo)
demo:
	scripts/demo

run:
	scripts/setup
	$(MAKE) build
	scripts/run-node $(ARGS)

$(TEST)/build.ninja:
	meson setup $(TEST) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
		-Dwerror=true $(MESON_FLAGS)

# The fuzz build is also the clang build: it compiles the library, the node
# and the examples with clang and -Werror.
$(FUZZ)/build.ninja:
	CC=clang meson setup $(FUZZ) --buildtype=debugoptimized -Dfuzzing=true -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true $(MESON_FLAGS)

test:
	scripts/setup --test
	$(MAKE) $(TEST)/build.ninja $(FUZZ)/build.ninja
	ninja -C $(TEST)
	ninja -C $(FUZZ)
	scripts/run-tests $(TEST) $(FUZZ)

fuzz: $(FUZZ)/build.ninja
	ninja -C $(FUZZ)
	LINKD_FUZZ_SECONDS=$${LINKD_FUZZ_SECONDS:-300} scripts/run-tests $(TEST) $(FUZZ)

bench:
	scripts/setup --bench
	bench/health/run
	bench/nurse/run
	bench/store/run
	bench/pipeline/run
	bench/scheduler/run
	bench/api/run
	bench/crypto/run
	bench/evm/run
	bench/oracle/run

clean:
	rm -rf build
