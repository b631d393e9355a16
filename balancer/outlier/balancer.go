package outlier

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"

	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/endpoint"
)

// defaultName is the name under which importing the package registers the
// policy (with no metrics and no logger) in grpc-go's balancer registry.
const defaultName = "bulwark_outlier_detection"

func init() {
	balancer.Register(&Builder{name: defaultName, classifier: outcome.Default})
}

// Builder builds the policy for each channel that selects it by name. It
// is a balancer.Builder and a balancer.ConfigParser; register it with
// balancer.Register, during initialisation as grpc-go requires, to use its
// metrics and logger.
type Builder struct {
	name       string
	metrics    *Metrics
	logger     *slog.Logger
	classifier outcome.Classifier
}

// New returns a Builder, or an error naming each invalid option. Register
// it with balancer.Register (in an init function or at the start of main,
// before any channel uses it) and select it with DialOption or a service
// config that names it.
func New(opts ...Option) (*Builder, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	return &Builder{name: o.name, metrics: o.metrics, logger: o.logger, classifier: o.classifier}, nil
}

// Name returns the name the Builder is registered under.
func (bb *Builder) Name() string { return bb.name }

// ParseConfig parses the policy's JSON configuration: gRFC A50's fields
// (interval, baseEjectionTime, maxEjectionTime, maxEjectionPercent,
// successRateEjection, failurePercentageEjection, childPolicy) with A50's
// names, units and defaults, plus consecutiveFailures (default 5; 0 turns
// the rule off). It rejects invalid values with an error naming the field.
func (bb *Builder) ParseConfig(js json.RawMessage) (serviceconfig.LoadBalancingConfig, error) {
	return parseConfig(js)
}

// DialOption returns a grpc.DialOption that makes the policy, with config
// (its JSON configuration; "" for the defaults), the channel's default
// load-balancing policy, or the error of ParseConfig. A service config from
// the resolver still takes precedence, as for grpc.WithDefaultServiceConfig.
// The Builder must be registered under its name.
func (bb *Builder) DialOption(config string) (grpc.DialOption, error) {
	if config == "" {
		config = "{}"
	}
	if _, err := parseConfig(json.RawMessage(config)); err != nil {
		return nil, err
	}
	name, err := json.Marshal(bb.name)
	if err != nil {
		return nil, fmt.Errorf("outlier: DialOption: %w", err)
	}
	return grpc.WithDefaultServiceConfig(fmt.Sprintf(`{"loadBalancingConfig":[{%s:%s}]}`, name, config)), nil
}

// Build implements balancer.Builder.
func (bb *Builder) Build(cc balancer.ClientConn, opts balancer.BuildOptions) balancer.Balancer {
	endpoint.Activate() // the retry interceptor gives calls a slot from now on
	b := &outlierBalancer{
		cc:        cc,
		bopts:     opts,
		bld:       bb,
		target:    opts.Target.String(),
		endpoints: make(map[string]*endpointState),
		all:       make(map[*endpointState]struct{}),
		cfg:       defaultConfig(),
	}
	b.consecutive.Store(b.cfg.consecutiveFailures)
	return b
}

// outlierBalancer is the policy of one channel. Lock order: childMu, then mu.
// Calls into the child hold childMu (grpc-go requires them to be
// serialised, and the interval timer and the consecutive-failure rule call
// the child from their own goroutines); the child's calls back into the
// ClientConn and its SubConns take only mu.
type outlierBalancer struct {
	cc     balancer.ClientConn
	bopts  balancer.BuildOptions
	bld    *Builder
	target string

	consecutive atomic.Uint32 // the consecutive-failure limit; 0: off

	childMu   sync.Mutex
	child     balancer.Balancer
	childName string

	mu        sync.Mutex
	cfg       *config
	endpoints map[string]*endpointState // by address
	all       map[*endpointState]struct{}
	ejected   int
	timer     *time.Timer
	closed    bool
}

// endpointState is what the policy knows of one endpoint; it outlives
// resolver updates that keep one of the endpoint's addresses.
type endpointState struct {
	id     endpoint.ID
	active atomic.Pointer[counts] // written by every finished attempt
	spare  *counts                // the other bucket, under mu
	// fails counts failures since the last success.
	fails atomic.Uint32

	// Under outlierBalancer.mu.
	addrs      []string
	subConns   map[*subConn]struct{}
	ejected    bool
	ejectedAt  time.Time
	multiplier uint32
	removed    bool
}

type counts struct {
	success atomic.Uint32
	failure atomic.Uint32
}

func newEndpointState(addrs []string) *endpointState {
	ep := &endpointState{id: endpoint.ID{Addr: addrs[0]}, addrs: addrs, spare: new(counts), subConns: make(map[*subConn]struct{})}
	ep.active.Store(new(counts))
	return ep
}

// UpdateClientConnState implements balancer.Balancer.
func (b *outlierBalancer) UpdateClientConnState(s balancer.ClientConnState) error {
	cfg, _ := s.BalancerConfig.(*config)
	if cfg == nil {
		cfg = defaultConfig()
	}
	b.childMu.Lock()
	var evs []event
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.childMu.Unlock()
		return nil
	}
	evs = b.updateEndpointsLocked(s.ResolverState, evs)
	evs = b.setConfigLocked(cfg, evs)
	var notify []func()
	if cfg.successRate == nil && cfg.failurePercentage == nil && cfg.consecutiveFailures == 0 {
		// No rule left: every endpoint returns, and starts afresh.
		for ep := range b.all {
			if ep.ejected {
				evs, notify = b.unejectLocked(ep, evs, notify)
			}
			ep.multiplier = 0
		}
	}
	b.mu.Unlock()

	if b.child == nil || b.childName != cfg.childName {
		if b.child != nil {
			b.child.Close()
		}
		b.child = balancer.Get(cfg.childName).Build(&ccWrapper{ClientConn: b.cc, b: b}, b.bopts)
		b.childName = cfg.childName
	}
	// round_robin and weighted_round_robin ask their pick_first children
	// for health updates, through which ejections reach them. pick_first
	// alone is not asked, as in grpc-go: it keeps its one connection, and
	// ejections are only counted.
	for _, f := range notify {
		f()
	}
	err := b.child.UpdateClientConnState(balancer.ClientConnState{
		ResolverState:  s.ResolverState,
		BalancerConfig: cfg.childConfig,
	})
	b.childMu.Unlock()
	b.emit(evs)
	return err
}

// updateEndpointsLocked replaces the list of endpoints, keeping the state
// of each endpoint that still has one of its addresses.
func (b *outlierBalancer) updateEndpointsLocked(rs resolver.State, evs []event) []event {
	byAddr, all := b.matchEndpointsLocked(addressGroups(rs))
	for ep := range b.all {
		if _, kept := all[ep]; kept {
			continue
		}
		ep.removed = true
		if ep.ejected {
			ep.ejected = false
			b.ejected--
			evs = append(evs, event{kind: eventForget, addr: ep.id.Addr})
		}
	}
	if d := len(all) - len(b.all); d != 0 {
		evs = append(evs, event{kind: eventEndpoints, delta: d})
	}
	// SubConns follow the endpoint of their address.
	for ep := range b.all {
		for sc := range ep.subConns {
			if to := byAddr[sc.addr]; to != nil && to != ep {
				delete(ep.subConns, sc)
				to.subConns[sc] = struct{}{}
				sc.ep.Store(to)
				sc.ejected = to.ejected
			}
		}
	}
	b.endpoints, b.all = byAddr, all
	return evs
}

// addressGroups returns the addresses of each endpoint of rs, or one
// address per endpoint for a resolver that gives only addresses.
func addressGroups(rs resolver.State) [][]string {
	var groups [][]string
	if len(rs.Endpoints) == 0 {
		for _, a := range rs.Addresses {
			groups = append(groups, []string{a.Addr})
		}
		return groups
	}
	for _, e := range rs.Endpoints {
		var addrs []string
		for _, a := range e.Addresses {
			addrs = append(addrs, a.Addr)
		}
		if len(addrs) > 0 {
			groups = append(groups, addrs)
		}
	}
	return groups
}

// matchEndpointsLocked gives each group of addresses the state of the
// endpoint that held one of them, so that the others keep their counts and
// ejections, or a new state; it returns the endpoints by address and the
// set of them.
func (b *outlierBalancer) matchEndpointsLocked(groups [][]string) (map[string]*endpointState, map[*endpointState]struct{}) {
	byAddr := make(map[string]*endpointState, len(b.endpoints))
	all := make(map[*endpointState]struct{}, len(groups))
	for _, addrs := range groups {
		var ep *endpointState
		for _, a := range addrs {
			if old := b.endpoints[a]; old != nil {
				if _, taken := all[old]; !taken {
					ep = old
					break
				}
			}
		}
		if ep == nil {
			ep = newEndpointState(addrs)
		}
		ep.addrs = addrs
		all[ep] = struct{}{}
		for _, a := range addrs {
			if byAddr[a] == nil {
				byAddr[a] = ep
			}
		}
	}
	return byAddr, all
}

// setConfigLocked applies a new configuration, restarting the interval
// timer when its interval changed.
func (b *outlierBalancer) setConfigLocked(cfg *config, evs []event) []event {
	old := b.cfg
	b.cfg = cfg
	b.consecutive.Store(cfg.consecutiveFailures)
	if b.timer == nil || old.interval != cfg.interval {
		if b.timer != nil {
			b.timer.Stop()
		}
		b.timer = time.AfterFunc(cfg.interval, b.tick)
	}
	return evs
}

// ResolverError implements balancer.Balancer.
func (b *outlierBalancer) ResolverError(err error) {
	b.childMu.Lock()
	defer b.childMu.Unlock()
	if b.child != nil {
		b.child.ResolverError(err)
	}
}

// UpdateSubConnState implements balancer.Balancer; SubConns report through
// their listeners instead.
func (b *outlierBalancer) UpdateSubConnState(balancer.SubConn, balancer.SubConnState) {}

// ExitIdle implements balancer.Balancer.
func (b *outlierBalancer) ExitIdle() {
	b.childMu.Lock()
	defer b.childMu.Unlock()
	if b.child != nil {
		b.child.ExitIdle()
	}
}

// Close implements balancer.Balancer.
func (b *outlierBalancer) Close() {
	b.childMu.Lock()
	var evs []event
	b.mu.Lock()
	b.closed = true
	if b.timer != nil {
		b.timer.Stop()
	}
	for range b.ejected {
		evs = append(evs, event{kind: eventForget})
	}
	if n := len(b.all); n > 0 {
		evs = append(evs, event{kind: eventEndpoints, delta: -n})
	}
	b.ejected = 0
	b.mu.Unlock()
	if b.child != nil {
		b.child.Close()
	}
	b.childMu.Unlock()
	b.emit(evs)
}

// readyLocked counts the endpoints that are ready and not ejected.
func (b *outlierBalancer) readyLocked() int {
	n := 0
	for ep := range b.all {
		if ep.ejected {
			continue
		}
		for sc := range ep.subConns {
			if sc.readyLocked() {
				n++
				break
			}
		}
	}
	return n
}

// ccWrapper is the ClientConn the child sees: its SubConns are wrapped, and
// its pickers too.
type ccWrapper struct {
	balancer.ClientConn
	b *outlierBalancer
}

// NewSubConn wraps the SubConn the child asks for.
func (w *ccWrapper) NewSubConn(addrs []resolver.Address, opts balancer.NewSubConnOptions) (balancer.SubConn, error) {
	sc := &subConn{b: w.b, listener: opts.StateListener}
	if len(addrs) > 0 {
		sc.addr = addrs[0].Addr
	}
	opts.StateListener = sc.onState
	//lint:ignore SA1019 a policy that wraps a child must pass its SubConns through; grpc-go's own wrapping policies do the same
	inner, err := w.ClientConn.NewSubConn(addrs, opts)
	if err != nil {
		return nil, err
	}
	sc.SubConn = inner
	b := w.b
	b.mu.Lock()
	if ep := b.endpoints[sc.addr]; ep != nil {
		sc.ep.Store(ep)
		ep.subConns[sc] = struct{}{}
		sc.ejected = ep.ejected
	}
	b.mu.Unlock()
	return sc, nil
}

// RemoveSubConn unwraps sc for the parent.
func (w *ccWrapper) RemoveSubConn(sc balancer.SubConn) {
	sc.Shutdown()
}

// UpdateAddresses unwraps sc for the parent.
func (w *ccWrapper) UpdateAddresses(sc balancer.SubConn, addrs []resolver.Address) {
	//lint:ignore SA1019 passed through for a child policy that still calls it
	sc.UpdateAddresses(addrs)
}

// UpdateState wraps the child's picker.
func (w *ccWrapper) UpdateState(s balancer.State) {
	b := w.b
	b.mu.Lock()
	closed, ready := b.closed, b.readyLocked()
	b.mu.Unlock()
	if closed {
		return
	}
	if s.Picker != nil {
		s.Picker = &picker{child: s.Picker, b: b, ready: ready}
	}
	w.ClientConn.UpdateState(s)
}
