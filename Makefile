# Tally — the two commands a newcomer needs: `make run` and `make test`.
# Both install the Debian packages the build needs (as root; otherwise they say what to install),
# build, and then run the service or every test.

DEBIAN_PACKAGES := liblz4-dev libsqlite3-dev pkg-config prometheus postgresql chromium chromium-driver curl python3 python3-venv
SWIFT ?= swift
DATA ?= ./tally-data
PORT ?= 8080
# Suites run one at a time: many tests start servers and wait for child processes, and with two
# cores (two cooperative threads) parallel suites starved each other into timeouts (3 failures in a
# parallel run of 319 tests, 168 s and 1 in a serial one, measured 2026-12-01). TEST_FLAGS= runs them
# in parallel again.
TEST_FLAGS ?= --no-parallel
# libFuzzer targets (Fuzz/, see docs/FUZZING.md): built apart from the normal build, in .build-fuzz,
# with the fuzzer and address sanitizers; `make fuzz` runs each for FUZZ_SECONDS, `make test` for
# FUZZ_SMOKE_SECONDS.
FUZZ_TARGETS := FuzzBatchDecoder FuzzSegmentScanner FuzzEventCodec FuzzSnapshot FuzzCommandJSON
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 4
FUZZ_BUILD = TALLY_FUZZ=1 $(SWIFT) build -c release --scratch-path .build-fuzz --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address

.PHONY: run test build release deps bench bench-http clean lint format check-alerts check-metrics fuzz fuzz-build fuzz-smoke api-check overlay-browser-test

deps:
	@missing=""; \
	for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = "0" ]; then \
			echo "installing:$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing < /dev/null; \
		else \
			echo "missing Debian packages:$$missing"; \
			echo "install them with: sudo apt-get install$$missing"; \
			exit 1; \
		fi; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "swift is not on PATH (expected Swift 6.3 at /opt/swift)"; exit 1; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The service on the embedded default: every partition of ./tally-data in one process, on port 8080.
run: release
	.build/release/tally serve --data $(DATA) --port $(PORT)

# The toolchain's formatter, with the checked-in .swift-format: any finding fails the build.
lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift

# The alert rules parse, and each fires (or stays quiet) on the recorded series of its unit tests.
check-alerts: deps
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts_test.yml

# Every metric the dashboard and the alert rules use is exported by a running server (serve --demo, a
# coordinator and a shard whose lease expires).
check-metrics: build
	scripts/check-metrics.sh .build/debug/tally

# The fuzz targets run for a few seconds each (their sanitized build from scratch took 7.5 minutes
# on an idle machine here, see docs/FUZZING.md); TALLY_SKIP_FUZZ=1 leaves them out.
test: deps lint check-alerts $(if $(TALLY_SKIP_FUZZ),,fuzz-smoke)
	$(SWIFT) build --build-tests
	scripts/check-metrics.sh .build/debug/tally
	$(SWIFT) test --skip-build $(TEST_FLAGS)
	scripts/api-check.sh .build/debug/tally
	scripts/overlay-browser-test.sh .build/debug/tally .build/overlay-artifacts

# Schemathesis (from PyPI, in a throwaway virtualenv) against a real `tally serve`: every operation of
# docs/openapi.yaml with every check, at least 1,000 cases, 0 failures (scripts/schemathesis.toml).
api-check: build
	scripts/api-check.sh .build/debug/tally

# The OBS overlays in headless Chromium (Debian's chromium and chromium-driver; Selenium from PyPI in a
# throwaway virtualenv): each page renders, shows an update a command causes, and a draw lands on the
# API's winner; screenshots in .build/overlay-artifacts.
overlay-browser-test: build
	scripts/overlay-browser-test.sh .build/debug/tally .build/overlay-artifacts

# One build of every target: building the fuzz products one `--product` at a time makes SwiftPM forget
# the targets outside each product and rebuild them on the next run.
fuzz-build: deps
	$(FUZZ_BUILD)

# Every fuzz target for FUZZ_SECONDS (default 60) each; a crash fails and keeps the input.
fuzz: fuzz-build
	scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Every fuzz target for a few seconds: a regression check, not a search.
fuzz-smoke: fuzz-build
	scripts/fuzz.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

bench: release
	.build/release/tally bench

# Durable commands through tally serve against a bare Hummingbird app (the ceiling), in one run.
bench-http: release
	.build/release/tally bench http

clean:
	rm -rf .build .build-fuzz
