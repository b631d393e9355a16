package outlier

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
)

// An Option configures a Builder.
type Option interface {
	apply(*options)
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	name       string
	metrics    *Metrics
	logger     *slog.Logger
	classifier outcome.Classifier
	errs       []error
}

func (o *options) fail(format string, args ...any) {
	o.errs = append(o.errs, fmt.Errorf("outlier: "+format, args...))
}

// WithName sets the name under which the Builder is registered and selected
// in a service config. Give each Builder with its own metrics or logger its
// own name, such as "bulwark_outlier_detection_payments". Default:
// "bulwark_outlier_detection".
func WithName(name string) Option {
	return optionFunc(func(o *options) {
		if strings.TrimSpace(name) == "" || strings.ToLower(name) != name {
			o.fail("WithName(%q): must be a non-empty lower-case name", name)
			return
		}
		o.name = name
	})
}

// WithMetrics records ejections into m, which the user registers with a
// Prometheus registry; one Metrics may serve several Builders. Default: no
// metrics.
func WithMetrics(m *Metrics) Option {
	return optionFunc(func(o *options) {
		if m == nil {
			o.fail("WithMetrics(nil): must not be nil")
			return
		}
		o.metrics = m
	})
}

// WithLogger logs each ejection (at level Warn) and each return (at Info)
// through l. Default: no logs.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o *options) {
		if l == nil {
			o.fail("WithLogger(nil): must not be nil")
			return
		}
		o.logger = l
	})
}

// WithClassifier sets how an attempt's error becomes an outcome: Success
// counts for the endpoint, RetryableFailure and FatalFailure against it,
// and the rest (Ignored, LocalReject, Shed) not at all. An attempt without
// error is a success without asking the classifier. The context given to
// the classifier is the attempt's; when the retry interceptor's per-attempt
// timeout ended the attempt, Attempt.AttemptTimedOut is set and the context
// has no deadline. Default: outcome.Default.
func WithClassifier(c outcome.Classifier) Option {
	return optionFunc(func(o *options) {
		if c == nil {
			o.fail("WithClassifier(nil): must not be nil")
			return
		}
		o.classifier = c
	})
}

func newOptions(opts []Option) (*options, error) {
	o := &options{name: defaultName, classifier: outcome.Default}
	for _, opt := range opts {
		if opt == nil {
			o.fail("nil Option")
			continue
		}
		opt.apply(o)
	}
	if len(o.errs) > 0 {
		return nil, errors.Join(o.errs...)
	}
	return o, nil
}
