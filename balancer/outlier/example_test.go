package outlier_test

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bulwarkrpc/bulwark/balancer/outlier"
)

// A channel whose policy ejects bad replicas, with its metrics and logs.
func Example() {
	metrics := outlier.NewMetrics(false)
	prometheus.NewRegistry().MustRegister(metrics)
	policy, err := outlier.New(
		outlier.WithName("bulwark_outlier_detection_orders"),
		outlier.WithMetrics(metrics),
		outlier.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))),
	)
	if err != nil {
		panic(err)
	}
	balancer.Register(policy) // during initialisation, as grpc-go requires

	lb, err := policy.DialOption(`{
		"interval": "5s",
		"failurePercentageEjection": {"threshold": 50, "enforcementPercentage": 100, "minimumHosts": 3, "requestVolume": 20},
		"childPolicy": [{"round_robin": {}}]
	}`)
	if err != nil {
		panic(err)
	}
	conn, err := grpc.NewClient("dns:///orders.internal:443", lb, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	fmt.Println(policy.Name())

	_, err = policy.DialOption(`{"maxEjectionPercent": 101, "interval": "10"}`)
	fmt.Println(err)
	// Output:
	// bulwark_outlier_detection_orders
	// outlier: config: interval = "10": want a number of seconds ending in "s", such as "10s"
	// outlier: config: maxEjectionPercent = 101: must be at most 100
}
