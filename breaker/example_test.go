package breaker_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/bulwarkrpc/bulwark/breaker"
)

func Example() {
	b, err := breaker.New(
		breaker.WithConsecutiveFailures(3),
		breaker.WithOpenDuration(10*time.Second, time.Minute),
		breaker.WithOpenJitter(0),
		breaker.WithOnStateChange(func(from, to breaker.State) {
			fmt.Println("breaker:", from, "->", to)
		}),
	)
	if err != nil {
		panic(err)
	}
	defer b.Close()

	for range 4 {
		// The two-step API: ask, call, report.
		p, err := b.Allow()
		if err != nil {
			var oe *breaker.OpenError
			errors.As(err, &oe)
			fmt.Println("refused:", errors.Is(err, breaker.ErrOpen), oe.RefusesFor() > 9*time.Second)
			continue
		}
		p.Done(breaker.Failed) // the call failed: connection refused
	}

	_, err = b.Allow()
	fmt.Println("refused after the trip:", errors.Is(err, breaker.ErrOpen))
	fmt.Println(b.Counts().ConsecutiveFailures, "consecutive failures tripped it")
	// Output:
	// breaker: closed -> open
	// refused: true true
	// refused after the trip: true
	// 3 consecutive failures tripped it
}

func ExampleBreaker_SetMode() {
	b, err := breaker.New()
	if err != nil {
		panic(err)
	}
	defer b.Close()

	b.SetMode(breaker.ModeForcedOpen) // take the dependency out of service
	_, err = b.Allow()
	fmt.Println(b.State(), err)

	b.SetMode(breaker.ModeMetricsOnly) // watch what the settings would do
	_, err = b.Allow()
	fmt.Println(b.State(), err)
	// Output:
	// forced_open breaker: circuit open
	// closed <nil>
}

func ExampleBreaker_Reconfigure() {
	b, err := breaker.New(breaker.WithConsecutiveFailures(5))
	if err != nil {
		panic(err)
	}
	defer b.Close()
	for range 3 {
		p, _ := b.Allow()
		p.Done(breaker.Failed)
	}
	// Lower the threshold: the three failures so far still count.
	if err := b.Reconfigure(breaker.WithConsecutiveFailures(4)); err != nil {
		panic(err)
	}
	p, _ := b.Allow()
	p.Done(breaker.Failed)
	fmt.Println(b.State())
	// An invalid option changes nothing.
	fmt.Println(b.Reconfigure(breaker.WithFailureRate(2)))
	// Output:
	// open
	// breaker: WithFailureRate(2): must be in (0, 1]
}
