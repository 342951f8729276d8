# Berth's entry points. `make up` and `make test` work on a fresh Debian machine as root:
# each installs what is missing first.
.PHONY: deps build lint typecheck check test test-unit test-integration up bench-deps clean

deps:
	@scripts/install-deps

build: deps
	@npm run --silent build

lint: deps
	@npx --no-install biome check .

typecheck: deps
	@npx --no-install tsc -p tsconfig.json --noEmit

check: lint typecheck

test: build check
	@node scripts/run-tests.mjs

test-unit: build
	@node scripts/run-tests.mjs --unit

test-integration: build
	@node scripts/run-tests.mjs --integration

# Starts Berth in the foreground: a single-node cluster (`berth server` with its embedded node agent).
up: build
	@scripts/up

bench-deps:
	@scripts/install-bench-deps

clean:
	rm -rf dist
