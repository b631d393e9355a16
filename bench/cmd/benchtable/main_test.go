package main

import (
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const input = `goos: linux
BenchmarkChainClient/deadline=caller/impl=bulwark-2         	  842941	       278.4 ns/op	       0 B/op	       0 allocs/op
BenchmarkChainClient/deadline=caller/impl=grpcmiddleware-2  	  138690	      1680 ns/op	     416 B/op	       7 allocs/op
BenchmarkChainClient/deadline=caller/impl=bulwark-2         	  842941	       300.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkChainClient/deadline=caller/impl=grpcmiddleware-2  	  138690	      1720 ns/op	     416 B/op	       7 allocs/op
BenchmarkChainClient/deadline=caller/impl=bulwark-2         	  842941	       310.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkChainClient/deadline=caller/impl=grpcmiddleware-2  	  138690	      1700 ns/op	     416 B/op	       7 allocs/op
BenchmarkChainClient/deadline=caller/impl=bare-2            	58319905	         3.493 ns/op	       0 B/op	       0 allocs/op
BenchmarkGRPCUnary/net=tcp/impl=failsafe-1                  	    2067	     99408 ns/op	   17098 B/op	     315 allocs/op
BenchmarkGRPCUnary/net=tcp/impl=bulwark-1                   	    5508	     59424 ns/op	   10160 B/op	     176 allocs/op
BenchmarkRetry/impl=grpcmiddleware-2                        	    5508	     800 ns/op
BenchmarkRetry/impl=bulwark-nobudget-2                      	    5508	     400 ns/op
BenchmarkNoImpl-2                                           	    5508	     59424 ns/op
BenchmarkGRPCUnary/net=tcp/impl=bulwark
some log line
PASS
`

func TestTable(t *testing.T) {
	for _, tc := range []struct {
		name, filter, want string
	}{
		{"all", "", `**ChainClient** (median time and allocations per call; ratio = time / bulwark's)

| case | bulwark | grpcmiddleware | bare |
|---|---:|---:|---:|
| deadline=caller cpu=2 | 300 ns, 0 allocs | 1.70 µs, 7 allocs (5.67×) | 3.49 ns, 0 allocs (0.012×) |

**GRPCUnary** (median time and allocations per call; ratio = time / bulwark's)

| case | bulwark | failsafe |
|---|---:|---:|
| net=tcp cpu=1 | 59.4 µs, 176 allocs | 99.4 µs, 315 allocs (1.67×) |

**Retry** (median time and allocations per call; ratio = time / bulwark-nobudget's)

| case | bulwark-nobudget | grpcmiddleware |
|---|---:|---:|
| cpu=2 | 400 ns | 800 ns (2.00×) |
`},
		{"filter", "GRPC", `**GRPCUnary** (median time and allocations per call; ratio = time / bulwark's)

| case | bulwark | failsafe |
|---|---:|---:|
| net=tcp cpu=1 | 59.4 µs, 176 allocs | 99.4 µs, 315 allocs (1.67×) |
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rs results
			var re *regexp.Regexp
			if tc.filter != "" {
				re = regexp.MustCompile(tc.filter)
			}
			if err := rs.parse(strings.NewReader(input), re); err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			rs.write(&out, "bulwark")
			if out.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), tc.want)
			}
		})
	}
}

func TestSplitName(t *testing.T) {
	for _, tc := range []struct {
		full, fn, rest, impl string
		ok                   bool
	}{
		{"BenchmarkChainClient/deadline=caller/log=on/impl=bulwark-2", "ChainClient", "deadline=caller log=on cpu=2", "bulwark", true},
		{"BenchmarkRetryUnarySuccess/impl=failsafe-run", "RetryUnarySuccess", "", "failsafe-run", true},
		{"BenchmarkRetryUnarySuccess/impl=failsafe-run-8", "RetryUnarySuccess", "cpu=8", "failsafe-run", true},
		{"BenchmarkBreakerSuccess/impl=gobreaker/api=do-2", "BreakerSuccess", "api=do cpu=2", "gobreaker", true},
		{"BenchmarkClosedSuccess-2", "", "", "", false},
	} {
		fn, rest, impl, ok := splitName(tc.full)
		if fn != tc.fn || rest != tc.rest || impl != tc.impl || ok != tc.ok {
			t.Errorf("splitName(%q) = %q, %q, %q, %v; want %q, %q, %q, %v", tc.full, fn, rest, impl, ok, tc.fn, tc.rest, tc.impl, tc.ok)
		}
	}
}
