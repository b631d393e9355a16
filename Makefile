# Bulwark's developer commands. Two are all a new machine needs:
#   make demo   runs the greeter example (server and client on 127.0.0.1)
#   make test   runs the whole suite: generated-code check, race tests with
#               leak checks, a fuzz smoke of every fuzz target, the Node.js
#               interop test, in the library module and the examples module
# Everything else (buf, protoc plugins, npm packages) is installed on first
# use into .bin/ and node_modules/ folders of this checkout.

SHELL       := bash
.SHELLFLAGS := -eu -o pipefail -c
GO          ?= go
GOTOOL      := $(GO) tool -modfile=tools/go.mod
BIN         := .bin
BUF         := tools/node_modules/.bin/buf
# Fuzz smoke budget per target, in executions. A count, not a duration: with a
# duration, Go 1.26's fuzz coordinator can fail a target with a spurious
# "context deadline exceeded" when -fuzztime expires mid-execution
# (golang/go#75804, fixed in Go 1.27). A count has no deadline to race.
FUZZTIME    ?= 10000x
BENCHCOUNT  ?= 6
BENCHTIME   ?= 100ms
BENCHCPU    ?= 1,2
GENERATED   := proto examples/greeter/gen internal/testpb
# The modules whose code is Bulwark's own: the library and its examples
# (bench/ and tools/ have targets of their own).
MODULES     := . examples

.PHONY: all demo test unit fuzz interop-deps check-generate check-metrics generate lint bench bench-e2e clean api check-api

all: test

## demo: build and run the greeter example end to end.
demo: $(BIN)/greeter-server $(BIN)/greeter-client $(BIN)/greeter-demo $(BIN)/greeter-replicas
	$(BIN)/greeter-demo -bin $(BIN)
	$(BIN)/greeter-replicas -bin $(BIN)

$(BIN)/greeter-%: FORCE
	cd examples && $(GO) build -o $(CURDIR)/$@ ./greeter/$*

## test: everything CI runs.
test: check-generate check-api lint unit fuzz check-metrics
	@echo "make test: all checks passed"

## check-metrics: the greeter server's /metrics passes promtool check metrics.
check-metrics: $(BIN)/greeter-server $(BIN)/greeter-client
	scripts/check-metrics.sh $(BIN)

## unit: race tests with leak checks, shuffled, for the library, its
## examples (the Node.js interop test included) and bench.
unit: interop-deps
	@for mod in $(MODULES); do \
	  echo "unit: $$mod"; \
	  (cd $$mod && $(GO) vet ./... && $(GO) test -race -shuffle=on -count=1 -timeout=10m ./...) || exit 1; \
	done
	cd bench && $(GO) vet ./... && $(GO) test -count=1 -run=. -bench=^$$ ./...

## fuzz: a short smoke run of every fuzz target (FUZZTIME executions each),
## each run from its own module's directory.
fuzz:
	@for mod in $(MODULES); do \
	  for dir in $$(cd $$mod && grep -rl --include='*_test.go' '^func Fuzz' --exclude-dir=node_modules --exclude-dir=bench --exclude-dir=tools --exclude-dir=examples . | xargs -r -n1 dirname | sort -u); do \
	    for target in $$(grep -h '^func Fuzz' $$mod/$$dir/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	      echo "fuzz $$mod $$dir $$target ($(FUZZTIME))"; \
	      (cd $$mod && $(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) $$dir) > /tmp/bulwark-fuzz.log 2>&1 || { cat /tmp/bulwark-fuzz.log; exit 1; }; \
	    done; \
	  done; \
	done

## api: write the library's public API to api/bulwark.txt and print how many
## exported identifiers each package has (what counts: internal/cmd/apicount).
api:
	$(GO) run ./internal/cmd/apicount -o api/bulwark.txt

## check-api: fail when api/bulwark.txt is stale, or when the API exceeds
## 300 exported identifiers in all or 50 in one package.
check-api:
	$(GO) run ./internal/cmd/apicount -check -o api/bulwark.txt -max-total 300 -max-package 50

## interop-deps: the Node.js gRPC client used by the interop test.
interop-deps: examples/greeter/interop/node_modules/.package-lock.json

examples/greeter/interop/node_modules/.package-lock.json: examples/greeter/interop/package-lock.json
	npm ci --prefix examples/greeter/interop --no-audit --no-fund --ignore-scripts --loglevel=error

## generate: regenerate the Go code from the .proto files.
generate: $(BUF) $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc
	$(BUF) lint
	$(BUF) generate

## check-generate: fail when the committed generated code is stale.
check-generate: generate
	@git add -N $(GENERATED) 2>/dev/null || true
	@git diff --exit-code --stat -- $(GENERATED) || { echo "generated code is stale: run make generate and commit"; exit 1; }

## lint: formatting, vet, staticcheck (library and examples) and buf lint.
lint: $(BUF)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	@for mod in $(MODULES); do \
	  echo "lint: $$mod"; \
	  (cd $$mod && $(GO) vet ./... && $(GO) tool -modfile=$(CURDIR)/tools/go.mod staticcheck ./...) || exit 1; \
	done
	$(BUF) lint

## bench: Bulwark's benchmarks, then the side-by-side ones against peers
## (bench/run.sh interleaves BENCHCOUNT rounds and prints benchstat tables
## with /impl as columns, and the README's markdown table). About 4 minutes.
bench:
	@mkdir -p $(BIN)
	$(GO) test -run='^$$' -bench=. -skip='^BenchmarkOverloadLoopback$$' -benchmem -benchtime=$(BENCHTIME) -count=$(BENCHCOUNT) -cpu=$(BENCHCPU) ./... | tee $(BIN)/bench-bulwark.txt
	$(GOTOOL) benchstat $(BIN)/bench-bulwark.txt
	BENCHTIME=$(BENCHTIME) BENCHCOUNT=$(BENCHCOUNT) BENCHCPU=$(BENCHCPU) GO=$(GO) bench/run.sh $(BIN)/bench-peers.txt

## bench-e2e: whole calls over TCP (client and server in one process) with
## each stack against bare gRPC: paired ratios over E2EROUNDS interleaved
## rounds of E2ECALLS calls each, as a markdown table (bench/cmd/e2e). The
## raw figures go to .bin/bench-e2e.txt. About 2 minutes with the defaults.
E2EROUNDS ?= 6
E2ECALLS  ?= 20000
bench-e2e:
	@mkdir -p $(BIN)
	cd bench && $(GO) run ./cmd/e2e -rounds=$(E2EROUNDS) -calls=$(E2ECALLS) 2> >(tee ../$(BIN)/bench-e2e.txt >&2)

$(BUF): tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund --loglevel=error
	@touch $@

$(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc: tools/go.mod tools/go.sum
	@mkdir -p $(BIN)
	$(GO) build -modfile=tools/go.mod -o $(BIN)/ google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc

clean:
	rm -rf $(BIN) tools/node_modules examples/greeter/interop/node_modules

FORCE:
