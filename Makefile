# Ledgerline build. `make run` and `make test` are all a newcomer needs;
# cgo flags for whisper.cpp are set here, never by hand (scripts/with-whisper).
SHELL := bash
GO ?= go
WITH_WHISPER := scripts/with-whisper
BIN := bin/ledgerline
MODEL ?= base
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The version `ledgerline --version` prints; a build outside a checkout says "dev".
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
GO_LDFLAGS := $(if $(VERSION),-X main.buildVersion=$(VERSION))
# CUDA=1 also builds whisper.cpp's CUDA backend and links it (needs the CUDA toolkit's nvcc, on PATH or
# in $CUDA_HOME); every target that builds or links whisper.cpp, `make bench` included, then uses that build.
ifeq ($(CUDA),1)
export WHISPER_CUDA := 1
endif

.PHONY: all deps whisper build run test lint fuzz bench soak eval sample clean release-deps release release-test

all: build

deps:
	@bash scripts/deps.sh

whisper: deps
	@bash scripts/whisper.sh >/dev/null

build: whisper
	$(WITH_WHISPER) $(GO) build -ldflags "$(GO_LDFLAGS)" -o $(BIN) ./cmd/ledgerline

run: build
	@LISTEN="$(LISTEN)" bash scripts/run.sh $(BIN) $(MODEL)

test: build
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(WITH_WHISPER) $(GO) vet ./...
	$(WITH_WHISPER) $(GO) test -count=1 ./...

lint: whisper
	$(WITH_WHISPER) $(GO) run $(STATICCHECK) ./...

# Longer fuzzing than the seed corpus run by `make test`.
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzReadWAV -fuzztime=120s ./stream/
	for f in FuzzOpenAudio FuzzOpenFLAC FuzzOpenMP3 FuzzOpenOpus; do \
		$(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=60s ./stream/ || exit 1; done

# The reliability checks (run by `make test` too) at larger loads, with a table of their figures.
soak: whisper
	LEDGERLINE_SOAK=1 $(WITH_WHISPER) $(GO) test -count=1 -v -timeout 60m ./reliability/

bench: deps
	@WITH_CLI=1 bash scripts/whisper.sh >/dev/null
	@WITH_CLI=1 $(WITH_WHISPER) bash scripts/bench.sh

# Precision, recall and F1 of commitment detection on the labelled sets.
eval: build
	$(BIN) ledger eval --data detect/eval/testdata

sample:
	bash scripts/make-sample.sh

# Release archives for Linux amd64 and arm64 in dist/, with dist/SHA256SUMS (docs/install.md).
# release-deps installs the cross compiler, the other architecture's libraries and qemu-user.
release-deps:
	@RELEASE=1 bash scripts/deps.sh

release: deps release-deps
	@VERSION="$(VERSION)" bash scripts/release.sh

# Unpacks each archive and runs its binary on the sample call (arm64 under qemu-user).
release-test: release
	LEDGERLINE_RELEASE_DIR=$(CURDIR)/dist $(WITH_WHISPER) $(GO) test -count=1 -run '^TestRelease' -v ./cmd/ledgerline/

clean:
	rm -rf bin dist
