# Understudy: build, test, run and benchmark. `make test` and `make run` install what is missing first.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
WASM_BINDGEN_VERSION := 0.2.130
WASM_TARGET := wasm32-unknown-unknown
LITELLM_VERSION := 1.108.7
LITELLM_VENV := target/litellm-venv
CARGO_FUZZ_VERSION := 0.13.2
GECKODRIVER_VERSION := 0.37.1
export PATH := $(HOME)/.cargo/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export CHROMEDRIVER := /usr/bin/chromedriver
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER := wasm-bindgen-test-runner
export WASM_BINDGEN_TEST_TIMEOUT := 120
LOGS := target/test-logs
PKG := target/pkg
SURFACES := worker pages
WASM_FEATURES := --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
                 --enable-mutable-globals --enable-reference-types --enable-multivalue

.PHONY: all setup build dist wasm test lint test-native test-wasm test-e2e test-firefox test-fuzz lint-firefox run bench fuzz reliability clean

all: build

## setup: install what a fresh machine lacks (wasm32 target, wasm-bindgen-cli, npm tools, Chromium,
## firefox-esr and geckodriver, LiteLLM).
setup:
	@rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' || rustup target add $(WASM_TARGET)
	@if ! cargo fuzz --version 2>/dev/null | grep -q ' $(CARGO_FUZZ_VERSION)$$'; then \
	  echo "installing cargo-fuzz $(CARGO_FUZZ_VERSION)"; \
	  cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked --force; fi
	@if ! wasm-bindgen --version 2>/dev/null | grep -q ' $(WASM_BINDGEN_VERSION)$$'; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION)"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --force; fi
	@if ! geckodriver --version 2>/dev/null | head -1 | grep -qw '$(GECKODRIVER_VERSION)'; then \
	  echo "installing geckodriver $(GECKODRIVER_VERSION)"; \
	  nice -n 10 cargo install geckodriver --version $(GECKODRIVER_VERSION) --locked --force; fi
	@missing=""; for p in chromium:/usr/bin/chromium chromium-driver:/usr/bin/chromedriver firefox-esr:/usr/bin/firefox-esr openssl:/usr/bin/openssl; do \
	  [ -x "$${p#*:}" ] || missing="$$missing $${p%%:*}"; done; \
	if [ -n "$$missing" ]; then echo "installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	@if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  npm ci --no-audit --no-fund; fi
	@# LiteLLM proxy: a real third-party OpenAI-compatible server for the provider end-to-end tests.
	@if [ ! -f $(LITELLM_VENV)/.installed-$(LITELLM_VERSION) ]; then \
	  echo "installing litellm[proxy] $(LITELLM_VERSION) into $(LITELLM_VENV)"; \
	  python3 -m venv $(LITELLM_VENV) && \
	  $(LITELLM_VENV)/bin/pip install --quiet --disable-pip-version-check 'litellm[proxy]==$(LITELLM_VERSION)' && \
	  touch $(LITELLM_VENV)/.installed-$(LITELLM_VERSION); fi

## build: the size-optimised wasm, dist/chrome, dist/firefox and their store zips.
## One Wasm per surface (Cargo features): `worker` for the service worker, `pages` for the library,
## side panel, options, popup and rescue frame; each carries only the exports its surface calls.
wasm: setup
	@rm -rf $(PKG)
	@for s in $(SURFACES); do \
	  cargo build --lib --release --target $(WASM_TARGET) --no-default-features --features $$s && \
	  wasm-bindgen --target web --no-typescript --out-name understudy_$$s --out-dir $(PKG) \
	    target/$(WASM_TARGET)/release/understudy.wasm && \
	  wasm-opt -Oz $(WASM_FEATURES) $(PKG)/understudy_$${s}_bg.wasm -o $(PKG)/understudy_$${s}_bg.wasm || exit 1; \
	done

build: wasm
	node extension/build.mjs $(PKG) dist

## dist: the store uploads, checked (dist/understudy-chrome.zip for the Chrome Web Store,
## dist/understudy-firefox.zip for addons.mozilla.org, linted by web-ext), and dist/store/: icons,
## the promo tile, the listing's texts (extension/store/listing.md), the privacy policy page and
## 1280x800 screenshots from the headless demo. Not part of `make test`.
dist: build
	$(MAKE) --no-print-directory lint-firefox
	node tests/tools/store.mjs

## test: everything; the last line counts the tests that ran.
test: setup
	@rm -rf $(LOGS) && mkdir -p $(LOGS)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-native
	$(MAKE) --no-print-directory test-fuzz
	$(MAKE) --no-print-directory test-wasm
	$(MAKE) --no-print-directory build
	$(MAKE) --no-print-directory test-e2e
	$(MAKE) --no-print-directory test-firefox
	$(MAKE) --no-print-directory lint-firefox
	node tests/tools/summary.mjs $(LOGS)

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --lib --target $(WASM_TARGET) -- -D warnings
	cargo clippy --tests --target $(WASM_TARGET) -- -D warnings

test-native:
	@mkdir -p $(LOGS)
	cargo test 2>&1 | tee $(LOGS)/native.log

## test-fuzz: builds the fuzz targets and replays their seed corpus (every crash ever found).
test-fuzz:
	@mkdir -p $(LOGS)
	node tests/tools/fuzz.mjs replay 2>&1 | tee $(LOGS)/fuzz.log

## fuzz: each fuzz target for FUZZ_SECONDS (60); writes target/fuzz/report.json.
fuzz: setup
	node tests/tools/fuzz.mjs run

## reliability: the figures of SECURITY.md (not part of `make test`: it takes a while): the hostile,
## XSS, fault and load end-to-end files one by one, then each fuzz target for FUZZ_SECONDS (60);
## writes target/reliability/report.json and prints it as a table; fails when a row holds less than
## it tried or a step recorded nothing.
reliability: build
	FUZZ_SECONDS=$${FUZZ_SECONDS:-60} node tests/tools/reliability.mjs

test-wasm:
	@mkdir -p $(LOGS)
	cargo test --target $(WASM_TARGET) --test web_browser 2>&1 | tee $(LOGS)/wasm-browser.log
	cargo test --target $(WASM_TARGET) --test web_service_worker 2>&1 | tee $(LOGS)/wasm-service-worker.log

test-e2e:
	@mkdir -p $(LOGS)
	node --test --test-concurrency=1 tests/e2e/ 2>&1 | tee $(LOGS)/e2e.log

## test-firefox: the end-to-end subset in Firefox (firefox-esr through geckodriver, tests/firefox/).
test-firefox:
	@mkdir -p $(LOGS)
	node --test --test-concurrency=1 tests/firefox/ 2>&1 | tee $(LOGS)/firefox.log

lint-firefox:
	web-ext lint --source-dir dist/firefox --no-config-discovery --output json 2>/dev/null | node tests/tools/check-lint.mjs

## run: Chromium with the extension; headless (no display) runs the demo and exits by itself.
run: build
	node tests/demo/run.mjs

## bench: writes target/bench/report.json and prints it as a table.
bench: build
	node tests/bench/bench.mjs

clean:
	rm -rf dist target/pkg target/test-logs target/bench target/demo target/fuzz target/reliability fuzz/target
