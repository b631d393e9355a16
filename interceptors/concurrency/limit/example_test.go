package limit_test

import (
	"fmt"
	"time"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency/limit"
)

func ExampleNewGradient() {
	g, err := limit.NewGradient(limit.GradientConfig{Initial: 50})
	if err != nil {
		panic(err)
	}
	// A server with room for 10 calls at a time, each taking 20 ms alone,
	// receives more than it can take: latency grows with the calls that
	// wait. The limit comes down to what it can serve about as fast.
	for range 200 {
		rtt := 20 * time.Millisecond * time.Duration(max(g.Limit(), 10)) / 10
		g.Update(limit.Sample{RTT: rtt, InFlight: g.Limit(), Calls: 20})
	}
	fmt.Println("limit between 10 and 20:", g.Limit() >= 10 && g.Limit() <= 20)
	// Output:
	// limit between 10 and 20: true
}

func ExampleNewAIMD() {
	a, err := limit.NewAIMD(limit.AIMDConfig{Initial: 10})
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Update(limit.Sample{Calls: 8, InFlight: 10, RTT: time.Millisecond}))
	fmt.Println(a.Update(limit.Sample{Calls: 8, InFlight: 11, Drops: 2}))
	// Output:
	// 11
	// 9
}
