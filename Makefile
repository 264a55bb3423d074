# mongoose-go build, run and test targets. `make run` and `make test` are the two
# commands the README promises work on a fresh machine.

GO        ?= go
BIN       := bin/mongoose-go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/mongoose-go/mongoose-go/cmd.Version=$(VERSION)
PKGS      := ./...
FUZZTIME  ?= 5s

.PHONY: build run test vet unit race fuzz fuzz-short bench bench-domains bench-chat bench-scale lint clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

run: build
	./$(BIN) serve

# vet, every test with the race detector, then a few seconds of each fuzz target.
test: vet race fuzz-short

vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

race:
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

unit:
	$(GO) test -count=1 $(PKGS)

# Fuzz targets: package and name. Each runs FUZZTIME in `make fuzz`, 3s in `make test`.
FUZZ_TARGETS := \
	./xmpp/xmlstream:FuzzParse \
	./xmpp/xmlstream:FuzzRoundTrip \
	./xmpp/jid:FuzzParse

fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; done

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3s

bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 $(PKGS)

bench-domains:
	$(GO) test -run='^$$' -bench='DomainCreateREST' -benchtime=5000x -count=1 ./node/server/
	$(GO) test -run='^$$' -bench='Restart100kDomains' -benchtime=3x -count=1 ./node/server/

bench-chat:
	$(GO) test -run='^$$' -bench='Chat' -benchtime=200000x -count=1 ./node/server/

# Issue 7's scale figures: 100,000 domains on a three-node cluster (visibility, heap),
# chat and logins over 100,000 domains vs one, chat while creating domains at
# 24,000/min. Each benchmark does a fixed amount of work, hence 1x; about three minutes
# in all.
bench-scale:
	$(GO) test -run='^$$' -bench='DomainVisibility100k|ChatScaleDomains|LoginScaleDomains|ChatWhileCreatingDomains' -benchtime=1x -count=1 -timeout 15m ./node/server/

lint: vet

clean:
	rm -rf bin
