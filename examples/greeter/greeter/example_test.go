package greeter_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
)

func ExampleParseFault() {
	f, err := greeter.ParseFault("error=DB_ERROR, delay=250ms, after=2")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Error, f.Delay, f.After)
	fmt.Println(f)

	_, err = greeter.ParseFault("explode")
	fmt.Println(err)
	// Output:
	// DB_ERROR 250ms 2
	// error=DB_ERROR,delay=250ms,after=2
	// greeter: greeter-fault: "explode": unknown fault (want error=, plain-error, panic, delay=, retry-after= or after=)
}

func ExampleErrorFor() {
	for _, code := range []string{"EXTERNAL_SERVICE_ERROR", "UNAVAILABLE"} {
		err := greeter.ErrorFor(code, 0)
		ae, ok := errdetails.FromError(err)
		if !ok {
			fmt.Printf("%s: plain status %v\n", code, status.Code(err))
			continue
		}
		fmt.Printf("%s: %v %q retryable=%t service=%v\n", code, ae.GRPCCode, ae.Message, ae.Retryable, ae.Details["service"])
	}
	// Output:
	// EXTERNAL_SERVICE_ERROR: Unavailable "weather-api unavailable" retryable=true service=weather-api
	// UNAVAILABLE: plain status Unavailable
}

func ExampleService_SetConfig() {
	svc, err := greeter.New(greeter.Config{Chaos: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	// An outage: every call fails with UNAVAILABLE.
	if err := svc.Update(func(c *greeter.Config) { c.FailRate, c.FailCode = 1, "UNAVAILABLE" }); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := json.Marshal(svc.Config())
	fmt.Println(string(b))
	fmt.Println(svc.SetConfig(greeter.Config{FailRate: 2}))
	// Output:
	// {"fail_rate":1,"fail_code":"UNAVAILABLE","latency":"0s","slow_rate":0,"slow_latency":"0s","retry_after":"0s","capacity":0,"chaos":true}
	// greeter: fail rate 2: must be between 0 and 1
}

func ExampleReadLive() {
	l, err := greeter.ReadLive(strings.NewReader(`{"limit": 2, "breaker_open": "250ms"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := json.Marshal(l) // what was left out takes its default
	fmt.Println(string(b))

	_, err = greeter.ReadLive(strings.NewReader(`{"limit": 2, "max_deadline": "soon"}`))
	fmt.Println(err)
	_, err = greeter.ReadLive(strings.NewReader(`{"limt": 2}`))
	fmt.Println(err)
	// Output:
	// {"limit":2,"min_remaining":"1ms","max_deadline":"0s","breaker_failures":0,"breaker_open":"250ms"}
	// greeter: live config: max_deadline: time: invalid duration "soon"
	// greeter: live config: json: unknown field "limt"
}
