# Ledgerline build. `make run` and `make test` are all a newcomer needs;
# cgo flags for whisper.cpp are set here, never by hand (scripts/with-whisper).
SHELL := bash
GO ?= go
WITH_WHISPER := scripts/with-whisper
BIN := bin/ledgerline
MODEL ?= base
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all deps whisper build run test lint fuzz bench soak eval sample clean

all: build

deps:
	@bash scripts/deps.sh

whisper: deps
	@bash scripts/whisper.sh >/dev/null

build: whisper
	$(WITH_WHISPER) $(GO) build -o $(BIN) ./cmd/ledgerline

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

clean:
	rm -rf bin
