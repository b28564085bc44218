# airstrap — the two commands that matter are `make demo` and `make test`.
SHELL := /bin/bash
ARCH := $(shell node -p 'process.arch === "x64" ? "amd64" : process.arch')

.PHONY: deps build lint typecheck test demo demo-down bench dist image clean

deps:
	@scripts/install-deps.sh

# lint, typecheck, build and test run the package.json scripts of the same name, so `make test`
# runs every npm script but `format` (test/scripts/npm-scripts.test.ts checks that one's files).
build: deps
	@npm run --silent build

lint: deps
	npm run --silent lint

typecheck: deps
	npm run --silent typecheck

test: deps lint typecheck build
	npm run --silent test

demo: build
	@scripts/demo.sh

demo-down: build
	@if [ "$$(id -u)" -eq 0 ] && command -v systemd-nspawn >/dev/null; then node bin/airstrap.js lab down -f examples/lab.yaml; fi
	@rm -rf out/demo

bench: build
	@scripts/run-benches.sh bench

dist: build
	@scripts/dist.sh dist/airstrap-linux-$(ARCH)

# airstrap's container image (OCI layout + docker-archive) from the executable, without Docker.
image: dist
	@node bin/airstrap.js image build --executable dist/airstrap-linux-$(ARCH) --output dist/image

clean:
	rm -rf build dist out
