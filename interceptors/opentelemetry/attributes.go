package opentelemetry

import (
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc/codes"
)

// The attribute keys of gRFC A66, and Bulwark's own.
const (
	keyMethod = "grpc.method"
	keyStatus = "grpc.status"
	keyTarget = "grpc.target"

	keySide    = "bulwark.side"
	keyAppCode = "bulwark.app_code"
	keyReason  = "bulwark.reason"
	keyState   = "bulwark.circuit.state"
	keyFrom    = "bulwark.circuit.from"
	keyTo      = "bulwark.circuit.to"
)

// otherMethod is what A66 records for a method the server did not register,
// or a client call not marked with grpc.StaticMethod.
const otherMethod = "other"

// noStatus marks an attribute set without grpc.status.
const noStatus = codes.Code(1 << 31)

// statusNames are the codes as gRPC's status code documentation spells
// them, which A66's grpc.status uses (codes.Code.String spells them in Go
// style).
var statusNames = [...]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
	"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
}

func statusName(c codes.Code) string {
	if int(c) < len(statusNames) {
		return statusNames[c]
	}
	return "UNKNOWN"
}

// trimMethod returns a full method name without its leading slash, as A66
// records it.
func trimMethod(fullMethod string) string {
	return strings.TrimPrefix(fullMethod, "/")
}

// attrKey is what an attribute set is made of: grpc.method, grpc.target
// (empty: absent) and grpc.status (noStatus: absent), or Bulwark's own keys
// with extra.
type attrKey struct {
	method, target string
	code           codes.Code
	extra          string // the value of the instrument's extra key, or ""
}

// attrs are an attribute set as the options Add and Record take, made once
// so that recording allocates nothing.
type attrs struct {
	add    []metric.AddOption
	record []metric.RecordOption
}

// attrCache keeps the attrs of every attribute set seen: their number is
// bounded by methods × targets × codes, since unregistered methods are
// "other".
type attrCache struct {
	extraKey string   // the key for attrKey.extra; "" when unused
	m        sync.Map // attrKey -> *attrs
	methods  sync.Map // attrKey without code -> *methodAttrs
}

func (c *attrCache) get(k attrKey) *attrs {
	if v, ok := c.m.Load(k); ok {
		return v.(*attrs)
	}
	kvs := make([]attribute.KeyValue, 0, 4)
	if k.method != "" {
		kvs = append(kvs, attribute.String(keyMethod, k.method))
	}
	if k.target != "" {
		kvs = append(kvs, attribute.String(keyTarget, k.target))
	}
	if k.code != noStatus {
		kvs = append(kvs, attribute.String(keyStatus, statusName(k.code)))
	}
	if c.extraKey != "" {
		kvs = append(kvs, attribute.String(c.extraKey, k.extra))
	}
	opt := metric.WithAttributeSet(attribute.NewSet(kvs...))
	a := &attrs{add: []metric.AddOption{opt}, record: []metric.RecordOption{opt}}
	v, _ := c.m.LoadOrStore(k, a)
	return v.(*attrs)
}

// methodAttrs are the attrs of one method and target, by status: a call
// resolves them once, with one map lookup, for all its records.
type methodAttrs struct {
	cache  *attrCache
	key    attrKey
	none   *attrs // without grpc.status
	byCode [len(statusNames)]atomic.Pointer[attrs]
}

// forMethod returns the methodAttrs of method and target.
func (c *attrCache) forMethod(method, target string) *methodAttrs {
	k := attrKey{method: method, target: target, code: noStatus}
	if v, ok := c.methods.Load(k); ok {
		return v.(*methodAttrs)
	}
	v, _ := c.methods.LoadOrStore(k, &methodAttrs{cache: c, key: k, none: c.get(k)})
	return v.(*methodAttrs)
}

// code returns the attrs with grpc.status set to code.
func (m *methodAttrs) code(code codes.Code) *attrs {
	k := m.key
	k.code = code
	if int(code) >= len(m.byCode) {
		return m.cache.get(k)
	}
	if a := m.byCode[code].Load(); a != nil {
		return a
	}
	a := m.cache.get(k)
	m.byCode[code].Store(a)
	return a
}
