package interceptors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/method"
	"github.com/bulwarkrpc/bulwark/internal/pbjson"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
)

// maxServiceConfig bounds the service config WithServiceConfig takes.
const maxServiceConfig = 1 << 20

// scJSON is the part of gRPC's service config (grpc/service_config.proto,
// in its JSON form) that Bulwark reads itself, because grpc-go exposes no
// hedgingPolicy and no retryThrottling; the other fields are gRPC's.
type scJSON struct {
	MethodConfig []struct {
		Name          []scName        `json:"name"`
		Timeout       *string         `json:"timeout"`
		RetryPolicy   json.RawMessage `json:"retryPolicy"`
		HedgingPolicy *struct {
			MaxAttempts         *int    `json:"maxAttempts"`
			HedgingDelay        *string `json:"hedgingDelay"`
			NonFatalStatusCodes []any   `json:"nonFatalStatusCodes"`
		} `json:"hedgingPolicy"`
	} `json:"methodConfig"`
	RetryThrottling *struct {
		MaxTokens  *float64 `json:"maxTokens"`
		TokenRatio *float64 `json:"tokenRatio"`
	} `json:"retryThrottling"`
}

type scName struct {
	Service string `json:"service"`
	Method  string `json:"method"`
}

// scExtras is what Bulwark applies from a service config besides what
// gRPC's method config gives: each method's hedging and the channel's
// retry throttling.
type scExtras struct {
	json string
	// hedging holds, for every name a methodConfig claims ("/svc/method",
	// "svc", or "" for the default), its hedging CallOptions: nil when
	// that methodConfig has no hedgingPolicy. It is nil when none has.
	hedging    map[string][]grpc.CallOption
	throttling *[2]float64 // maxTokens, tokenRatio
}

// hedgingFor returns the hedging CallOptions of fullMethod from the
// methodConfig that applies to it, as gRPC chooses one: the method's own,
// else its service's, else the default. A methodConfig applies whole, so
// a method with its own methodConfig without hedging is not hedged.
func (x *scExtras) hedgingFor(fullMethod string) []grpc.CallOption {
	if x == nil || x.hedging == nil {
		return nil
	}
	if o, ok := x.hedging[fullMethod]; ok {
		return o
	}
	if svc, _, ok := method.Parse(fullMethod); ok {
		if o, ok := x.hedging[svc]; ok {
			return o
		}
	}
	return x.hedging[""]
}

// parseServiceConfig checks js against the service config's schema for the
// fields Bulwark reads and returns them. Errors name the field.
func parseServiceConfig(js string) (*scExtras, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("interceptors: WithServiceConfig: "+format, args...)
	}
	if len(js) > maxServiceConfig {
		return nil, fail("%d bytes; at most %d", len(js), maxServiceConfig)
	}
	var sc scJSON
	dec := json.NewDecoder(strings.NewReader(js))
	if err := dec.Decode(&sc); err != nil {
		return nil, fail("not a service config: %v", err)
	}
	if dec.More() {
		return nil, fail("not a service config: data after the JSON object")
	}
	x := &scExtras{json: js}
	seen := map[string]bool{}
	claims := map[string][]grpc.CallOption{}
	for i, mc := range sc.MethodConfig {
		// A methodConfig that names nothing applies to nothing, as gRPC
		// ignores it; the default is named by {} (no service, no method).
		var keys []string
		for _, n := range mc.Name {
			switch {
			case n.Service == "" && n.Method != "":
				return nil, fail("methodConfig[%d].name: a method (%q) needs its service", i, n.Method)
			case n.Method == "":
				keys = append(keys, n.Service)
			default:
				keys = append(keys, "/"+n.Service+"/"+n.Method)
			}
		}
		for _, k := range keys {
			if seen[k] {
				return nil, fail("methodConfig[%d].name: %q is named twice", i, k)
			}
			seen[k] = true
		}
		if mc.Timeout != nil {
			if _, err := parseDuration(*mc.Timeout); err != nil {
				return nil, fail("methodConfig[%d].timeout: %v", i, err)
			}
		}
		for _, k := range keys {
			claims[k] = nil
		}
		h := mc.HedgingPolicy
		if h == nil {
			continue
		}
		if len(mc.RetryPolicy) > 0 && !bytes.Equal(bytes.TrimSpace(mc.RetryPolicy), []byte("null")) {
			return nil, fail("methodConfig[%d]: retryPolicy and hedgingPolicy are mutually exclusive", i)
		}
		if h.MaxAttempts == nil || *h.MaxAttempts < 2 {
			return nil, fail("methodConfig[%d].hedgingPolicy.maxAttempts: must be at least 2", i)
		}
		// Larger values are treated as the Retrier's cap when a call is
		// made (retrystate.Clamp): 5, gRFC A6's, unless retry.WithAttemptsCap
		// raises it.
		attempts := min(*h.MaxAttempts, retrystate.AttemptsCeiling)
		var delay time.Duration
		if h.HedgingDelay != nil {
			d, err := parseDuration(*h.HedgingDelay)
			if err != nil {
				return nil, fail("methodConfig[%d].hedgingPolicy.hedgingDelay: %v", i, err)
			}
			delay = d
		}
		if len(h.NonFatalStatusCodes) > 0 {
			// Bulwark's outcome table decides which failures send the next
			// hedge at once, as for retryableStatusCodes.
			for _, c := range h.NonFatalStatusCodes {
				if !validCode(c) {
					return nil, fail("methodConfig[%d].hedgingPolicy.nonFatalStatusCodes: unknown code %v", i, c)
				}
			}
		}
		opts := []grpc.CallOption{retrystate.Clamp(retry.WithHedging(delay, attempts)).(retry.CallOption)}
		for _, k := range keys {
			claims[k] = opts
			x.hedging = claims
		}
	}
	if t := sc.RetryThrottling; t != nil {
		if t.MaxTokens == nil || !(*t.MaxTokens > 0 && *t.MaxTokens <= 1000) {
			return nil, fail("retryThrottling.maxTokens: must be in (0, 1000]")
		}
		if t.TokenRatio == nil || !(*t.TokenRatio > 0 && *t.TokenRatio <= 1000) {
			return nil, fail("retryThrottling.tokenRatio: must be in (0, 1000]")
		}
		x.throttling = &[2]float64{*t.MaxTokens, *t.TokenRatio}
	}
	return x, nil
}

// parseDuration parses a non-negative google.protobuf.Duration in JSON,
// such as "0.5s".
func parseDuration(s string) (time.Duration, error) {
	d, err := pbjson.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: %v", s, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q: must not be negative", s)
	}
	return d, nil
}

// validCode reports whether c names a gRPC status code, by its name in
// the service config (as codes.Code reads it from JSON) or its number.
func validCode(c any) bool {
	switch v := c.(type) {
	case float64:
		return v == math.Trunc(v) && v >= 0 && v <= 16
	case string:
		var code codes.Code
		return code.UnmarshalJSON([]byte(strconv.Quote(v))) == nil
	}
	return false
}

var errHedgingNeedsRetry = errors.New("interceptors: WithServiceConfig: a hedgingPolicy needs WithRetry, whose Retrier hedges")
