package errdetails

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/bulwarkrpc/bulwark/internal/wire"
	bulwarkv1 "github.com/bulwarkrpc/bulwark/proto/bulwark/v1"
)

// Size limits of an encoded status (see internal/wire).
const (
	maxStatusBytes  = wire.MaxStatusBytes
	maxMessageBytes = wire.MaxMessageBytes
)

// genericInternalMessage is all a caller learns of an error that cannot be
// sent as it is.
const genericInternalMessage = "internal error"

// GRPCStatus returns the status e is sent as, so that status.FromError,
// status.Code and gRPC itself see its code. An error decoded from the wire
// returns the status it was decoded from. Otherwise the status has e's gRPC
// code and Message, and these details, each at most once:
//   - google.rpc.ErrorInfo: reason Code, domain Domain, metadata Details as
//     strings;
//   - bulwark.v1.ApplicationError: retryable (false when RetryAfter is
//     negative, so that clients stop without reading the trailer),
//     unprocessed, time, retry delay and typed Details;
//   - google.rpc.RetryInfo when e is retryable and RetryAfter is positive;
//   - google.rpc.RequestInfo when RequestID is set;
//   - google.rpc.BadRequest, PreconditionFailure, QuotaFailure and
//     ResourceInfo when e has violations, preconditions, quotas or a resource.
//
// The cause and Debug are never included (the error boundary adds them as
// google.rpc.DebugInfo only when its operator opts in). The encoded
// status stays within 4096 bytes: long strings are cut and optional
// details dropped in a fixed order (debug info, then typed details and
// lists, then metadata and field violations) rather than failing the call.
// An e that Validate refuses is sent as INTERNAL with code CodeInternal.
func (e *ApplicationError) GRPCStatus() *status.Status {
	if e.wire != nil {
		return e.wire
	}
	return status.FromProto(e.encode(false))
}

// debugStatus is GRPCStatus plus google.rpc.DebugInfo holding the cause and
// Debug. Only the error boundary calls it (through internal/wire), and only
// when the operator opts in: it sends internals to the caller.
func (e *ApplicationError) debugStatus() *status.Status {
	if e.wire != nil {
		return e.wire
	}
	return status.FromProto(e.encode(true))
}

// Levels of encode, from everything to the bare minimum; each drops or cuts
// more than the one before.
const (
	levelFull = iota
	levelShortDebug
	levelNoDebug
	levelShortStrings
	levelNoOptional
	levelNoMetadata
	levelMinimal
)

func (e *ApplicationError) encode(debug bool) *spb.Status {
	src := e
	if e.Validate() != nil {
		src = &ApplicationError{
			Code:      CodeInternal,
			Message:   genericInternalMessage,
			GRPCCode:  codes.Internal,
			Domain:    e.Domain,
			Time:      e.Time,
			RequestID: e.RequestID,
			Debug:     e.Debug,
			cause:     fmt.Errorf("%v (sent as %s: %w)", e.Error(), CodeInternal, e.Validate()),
		}
	}
	for level := levelFull; ; level++ {
		st := src.build(level, debug)
		if level == levelMinimal || proto.Size(st) <= maxStatusBytes {
			return st
		}
	}
}

// build encodes e at the given level.
func (e *ApplicationError) build(level int, debug bool) *spb.Status {
	b := newBuilder(e, level)
	b.errorInfo()
	app := b.application()
	if app.RetryDelay != nil {
		b.add(&errdetails.RetryInfo{RetryDelay: app.RetryDelay})
	}
	if e.RequestID != "" {
		b.add(&errdetails.RequestInfo{RequestId: truncate(e.RequestID, b.idMax)})
	}
	if level < levelNoMetadata && len(e.Violations) > 0 {
		b.badRequest()
	}
	if level < levelNoOptional {
		b.optional()
	}
	if debug && level < levelNoDebug {
		if di := e.debugInfo(level == levelShortDebug); di != nil {
			b.add(di)
		}
	}
	return b.st
}

// builder encodes an ApplicationError at one level of build: the level
// sets how long strings and lists may be (0: no limit).
type builder struct {
	e                              *ApplicationError
	level                          int
	strMax, listMax, msgMax, idMax int
	st                             *spb.Status
}

func newBuilder(e *ApplicationError, level int) *builder {
	b := &builder{e: e, level: level, msgMax: maxMessageBytes}
	switch {
	case level >= levelMinimal:
		b.strMax, b.listMax, b.msgMax, b.idMax = 64, 0, 128, 64
	case level >= levelNoMetadata:
		b.strMax, b.listMax, b.msgMax, b.idMax = 128, 4, 128, 128
	case level >= levelShortStrings:
		b.strMax, b.listMax, b.idMax = 128, 8, 128
	}
	b.st = &spb.Status{Code: int32(e.GRPCCode), Message: truncate(e.Message, b.msgMax)}
	return b
}

// cut cuts a string to the level's length.
func (b *builder) cut(s string) string { return truncate(s, b.strMax) }

// add appends m to the status's details.
func (b *builder) add(m proto.Message) {
	a, err := anypb.New(m)
	if err == nil { // marshalling these messages cannot fail
		b.st.Details = append(b.st.Details, a)
	}
}

// errorInfo adds the google.rpc.ErrorInfo, with the details as metadata
// above levelNoMetadata.
func (b *builder) errorInfo() {
	e := b.e
	info := &errdetails.ErrorInfo{Reason: e.Code, Domain: b.cut(e.Domain)}
	if b.level < levelNoMetadata && len(e.Details) > 0 {
		info.Metadata = make(map[string]string, len(e.Details))
		for _, k := range limitKeys(e.Details, b.listMax) {
			info.Metadata[b.cut(k)] = b.cut(detailString(e.Details[k]))
		}
	}
	b.add(info)
}

// application adds the bulwark.v1.ApplicationError, with the typed
// details above levelNoOptional, and returns it.
func (b *builder) application() *bulwarkv1.ApplicationError {
	e := b.e
	app := &bulwarkv1.ApplicationError{
		Code:        e.Code,
		Domain:      b.cut(e.Domain),
		Retryable:   e.Retryable && e.RetryAfter >= 0, // a negative delay asks not to retry
		Unprocessed: e.Unprocessed,
	}
	if !e.Time.IsZero() {
		app.CreateTime = timestamppb.New(e.Time)
	}
	if e.RetryAfter > 0 && e.Retryable {
		app.RetryDelay = durationpb.New(e.RetryAfter)
	}
	if b.level < levelNoOptional && len(e.Details) > 0 {
		app.Details = make(map[string]*structpb.Value, len(e.Details))
		for _, k := range limitKeys(e.Details, b.listMax) {
			app.Details[b.cut(k)] = detailValue(e.Details[k], b.strMax)
		}
	}
	b.add(app)
	return app
}

// badRequest adds the field violations as google.rpc.BadRequest.
func (b *builder) badRequest() {
	br := &errdetails.BadRequest{}
	for _, v := range limit(b.e.Violations, b.listMax) {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: b.cut(v.Field), Description: b.cut(v.Description), Reason: b.cut(v.Reason),
		})
	}
	b.add(br)
}

// optional adds the preconditions, quotas and resource.
func (b *builder) optional() {
	e := b.e
	if len(e.Preconditions) > 0 {
		pf := &errdetails.PreconditionFailure{}
		for _, v := range limit(e.Preconditions, b.listMax) {
			pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{
				Type: b.cut(v.Type), Subject: b.cut(v.Subject), Description: b.cut(v.Description),
			})
		}
		b.add(pf)
	}
	if len(e.Quotas) > 0 {
		qf := &errdetails.QuotaFailure{}
		for _, v := range limit(e.Quotas, b.listMax) {
			qf.Violations = append(qf.Violations, &errdetails.QuotaFailure_Violation{
				Subject: b.cut(v.Subject), Description: b.cut(v.Description),
			})
		}
		b.add(qf)
	}
	if r := e.Resource; r != nil {
		b.add(&errdetails.ResourceInfo{
			ResourceType: b.cut(r.Type), ResourceName: b.cut(r.Name), Owner: b.cut(r.Owner), Description: b.cut(r.Description),
		})
	}
}

// debugInfo returns the DebugInfo of e, or nil when it has no cause and no
// Debug. short keeps 512 bytes of detail and the first 16 stack lines, each
// cut to 128 bytes.
func (e *ApplicationError) debugInfo(short bool) *errdetails.DebugInfo {
	var detail string
	var stack []string
	if e.Debug != nil {
		detail, stack = e.Debug.Detail, e.Debug.Stack
	}
	if detail == "" && e.cause != nil {
		detail = e.cause.Error()
	}
	if detail == "" && len(stack) == 0 {
		return nil
	}
	if short {
		detail = truncate(detail, 512)
		short := make([]string, 0, 16)
		for _, line := range limit(stack, 16) {
			short = append(short, truncate(line, 128))
		}
		stack = short
	}
	return &errdetails.DebugInfo{Detail: detail, StackEntries: stack}
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence, and
// replaces invalid UTF-8, which protobuf strings must not hold. n <= 0 means
// no limit.
func truncate(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if n <= 0 || len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// limit returns the first n elements of s; n <= 0 means all.
func limit[T any](s []T, n int) []T {
	if n > 0 && len(s) > n {
		return s[:n]
	}
	return s
}

// limitKeys returns the keys of m in sorted order, at most n of them
// (n <= 0: all), so that what is dropped does not depend on map order.
func limitKeys(m map[string]any, n int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return limit(keys, n)
}

// detailString renders a detail value for ErrorInfo.metadata.
func detailString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case fmt.Stringer:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case nil:
		return ""
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}

// detailValue converts a detail value to a protobuf Value, cutting strings
// to strMax bytes (<= 0: no limit). What structpb cannot hold is sent as its
// text.
func detailValue(v any, strMax int) *structpb.Value {
	if s, ok := v.(string); ok {
		return structpb.NewStringValue(truncate(s, strMax))
	}
	if _, ok := v.(fmt.Stringer); !ok {
		if pv, err := structpb.NewValue(v); err == nil {
			if strMax <= 0 || proto.Size(pv) <= 2*strMax {
				return pv
			}
		}
	}
	return structpb.NewStringValue(truncate(detailString(v), strMax))
}
