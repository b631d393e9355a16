package errdetails

import (
	"errors"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/bulwarkrpc/bulwark/internal/wire"
	bulwarkv1 "github.com/bulwarkrpc/bulwark/proto/bulwark/v1"
)

// maxDecodeBytes bounds the statuses FromError decodes: 64 KiB. A larger
// status is left as it is: gRPC's own header limits make one unlikely, and
// decoding it would only cost memory.
const maxDecodeBytes = wire.MaxDecodeBytes

// FromError returns the ApplicationError err is, wraps, or carries in its
// status details. It understands a Bulwark status (ErrorInfo plus
// bulwark.v1.ApplicationError) and a plain AIP-193 google.rpc.ErrorInfo from
// a server that is not Bulwark. It reports false for nil, for errors with no
// status, for statuses without an ErrorInfo or ApplicationError, and for
// malformed or oversized details; it never panics.
//
// A decoded error keeps the status it came from, so status.Code and
// status.FromError still return the code and details the server sent. For
// a *status.Status, pass st.Err(). How each field is read:
//   - Code and Domain: ErrorInfo.reason and domain (or, without an ErrorInfo,
//     those of bulwark.v1.ApplicationError). An ApplicationError whose code
//     differs from the ErrorInfo's reason is ignored.
//   - GRPCCode and Message: the status's.
//   - Retryable: the ApplicationError's; without one, true when the status
//     has a RetryInfo, else the Default registry's value for the code, else
//     true only for UNAVAILABLE.
//   - RetryAfter: RetryInfo's delay, else the ApplicationError's. A
//     negative delay asks the caller not to retry: RetryAfter stays
//     negative and Retryable is false.
//   - Details: the ApplicationError's typed values, else ErrorInfo.metadata.
//   - RequestID, Violations, Preconditions, Quotas, Resource and Debug: from
//     RequestInfo, BadRequest, PreconditionFailure, QuotaFailure,
//     ResourceInfo and DebugInfo.
//
// Of each detail type only the first is read; a detail that does not
// unmarshal is skipped.
func FromError(err error) (*ApplicationError, bool) {
	switch e := err.(type) {
	case nil:
		return nil, false
	case *ApplicationError:
		if e != nil {
			return e, true
		}
	case interface{ Unwrap() error }, interface{ Unwrap() []error }, interface{ As(any) bool }:
		// Only an error that wraps or converts can hold one deeper; the
		// others (such as gRPC's status errors) skip errors.As and its
		// allocation.
		if ae := asApplicationError(err); ae != nil {
			return ae, true
		}
	}
	st, ok := status.FromError(err)
	if !ok || st == nil {
		return nil, false
	}
	return fromStatus(st)
}

// asApplicationError returns the ApplicationError in err's chain, or nil.
func asApplicationError(err error) *ApplicationError {
	var ae *ApplicationError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

// fromStatus decodes the ApplicationError carried in st's details (see
// FromError for how each field is read).
func fromStatus(st *status.Status) (*ApplicationError, bool) {
	if st == nil || st.Code() == codes.OK {
		return nil, false
	}
	p := st.Proto()
	if len(p.GetDetails()) == 0 || proto.Size(p) > maxDecodeBytes {
		return nil, false
	}
	var d decoded
	for _, a := range p.Details {
		d.add(a)
	}
	e := &ApplicationError{GRPCCode: st.Code(), Message: st.Message(), wire: st}
	if !d.identify(e) {
		return nil, false
	}
	e.Retryable = d.retryable(e)
	d.readApplication(e)
	if rd := d.retry.GetRetryDelay(); rd.IsValid() {
		e.RetryAfter = rd.AsDuration()
	}
	if e.RetryAfter < 0 {
		// A negative delay is the server asking not to retry, whatever else
		// the status says.
		e.Retryable = false
	}
	if e.Details == nil && len(d.info.GetMetadata()) > 0 {
		e.Details = make(map[string]any, len(d.info.Metadata))
		for k, v := range d.info.Metadata {
			e.Details[k] = v
		}
	}
	d.readLists(e)
	return e, true
}

// identify sets e's code and domain from the ErrorInfo, or without one from
// the ApplicationError, and drops an ApplicationError whose code differs.
// It reports false when the status names no code.
func (d *decoded) identify(e *ApplicationError) bool {
	switch {
	case d.info != nil:
		e.Code, e.Domain = d.info.GetReason(), d.info.GetDomain()
		if d.app != nil && d.app.GetCode() != e.Code {
			d.app = nil
		}
	case d.app != nil:
		e.Code, e.Domain = d.app.GetCode(), d.app.GetDomain()
	}
	return e.Code != ""
}

// retryable is the ApplicationError's retryability; without one, true when
// the status has a RetryInfo, else the Default registry's for the code,
// else true only for UNAVAILABLE.
func (d *decoded) retryable(e *ApplicationError) bool {
	switch {
	case d.app != nil:
		return d.app.GetRetryable()
	case d.retry != nil:
		return true
	}
	if k, ok := Default.lookup(e.Code); ok {
		return k.Retryable
	}
	return e.GRPCCode == codes.Unavailable
}

// readApplication reads what only bulwark.v1.ApplicationError carries.
func (d *decoded) readApplication(e *ApplicationError) {
	if d.app == nil {
		return
	}
	e.Unprocessed = d.app.GetUnprocessed()
	if t := d.app.GetCreateTime(); t.IsValid() {
		e.Time = t.AsTime()
	}
	if rd := d.app.GetRetryDelay(); rd.IsValid() {
		e.RetryAfter = rd.AsDuration()
	}
	if len(d.app.GetDetails()) > 0 {
		e.Details = make(map[string]any, len(d.app.Details))
		for k, v := range d.app.Details {
			e.Details[k] = v.AsInterface()
		}
	}
}

// readLists reads the request id, the violations, the resource and the
// debug information.
func (d *decoded) readLists(e *ApplicationError) {
	e.RequestID = d.request.GetRequestId()
	for _, v := range d.badRequest.GetFieldViolations() {
		e.Violations = append(e.Violations, FieldViolation{Field: v.GetField(), Description: v.GetDescription(), Reason: v.GetReason()})
	}
	for _, v := range d.precondition.GetViolations() {
		e.Preconditions = append(e.Preconditions, PreconditionViolation{Type: v.GetType(), Subject: v.GetSubject(), Description: v.GetDescription()})
	}
	for _, v := range d.quota.GetViolations() {
		e.Quotas = append(e.Quotas, QuotaViolation{Subject: v.GetSubject(), Description: v.GetDescription()})
	}
	if r := d.resource; r != nil {
		e.Resource = &Resource{Type: r.GetResourceType(), Name: r.GetResourceName(), Owner: r.GetOwner(), Description: r.GetDescription()}
	}
	if di := d.debug; di != nil {
		e.Debug = &Debug{Detail: di.GetDetail(), Stack: di.GetStackEntries()}
	}
}

// decoded holds the first detail of each type a status carries.
type decoded struct {
	info         *errdetails.ErrorInfo
	app          *bulwarkv1.ApplicationError
	retry        *errdetails.RetryInfo
	request      *errdetails.RequestInfo
	badRequest   *errdetails.BadRequest
	precondition *errdetails.PreconditionFailure
	quota        *errdetails.QuotaFailure
	resource     *errdetails.ResourceInfo
	debug        *errdetails.DebugInfo
}

// add unmarshals a if it is a detail type d does not hold yet.
func (d *decoded) add(a *anypb.Any) {
	switch a.MessageName() {
	case "google.rpc.ErrorInfo":
		unmarshalOnce(a, &d.info)
	case "bulwark.v1.ApplicationError":
		unmarshalOnce(a, &d.app)
	case "google.rpc.RetryInfo":
		unmarshalOnce(a, &d.retry)
	case "google.rpc.RequestInfo":
		unmarshalOnce(a, &d.request)
	case "google.rpc.BadRequest":
		unmarshalOnce(a, &d.badRequest)
	case "google.rpc.PreconditionFailure":
		unmarshalOnce(a, &d.precondition)
	case "google.rpc.QuotaFailure":
		unmarshalOnce(a, &d.quota)
	case "google.rpc.ResourceInfo":
		unmarshalOnce(a, &d.resource)
	case "google.rpc.DebugInfo":
		unmarshalOnce(a, &d.debug)
	}
}

// unmarshalOnce unmarshals a into a new *T stored in *dst, unless *dst is
// already set. A value that does not unmarshal leaves *dst nil.
func unmarshalOnce[T any, PT interface {
	*T
	proto.Message
}](a *anypb.Any, dst *PT) {
	if *dst != nil {
		return
	}
	m := PT(new(T))
	if proto.Unmarshal(a.GetValue(), m) == nil {
		*dst = m
	}
}

// retryDelay returns the server's retry delay hint that err carries: the
// google.rpc.RetryInfo of its status (with or without an ErrorInfo beside
// it), or the RetryAfter of a retryable in-process ApplicationError. ok
// reports whether the caller may retry after the delay. A negative delay,
// returned with ok false, is the server asking not to retry at all (as a
// negative grpc-retry-pushback-ms is). It reports 0 and false when there is
// no hint, and for a status larger than maxDecodeBytes.
func retryDelay(err error) (d time.Duration, ok bool) {
	if err == nil {
		return 0, false
	}
	var ae *ApplicationError
	if errors.As(err, &ae) && ae != nil && ae.wire == nil {
		return ae.RetryAfter, ae.Retryable && ae.RetryAfter > 0
	}
	st, ok := status.FromError(err)
	if !ok || st == nil {
		return 0, false
	}
	p := st.Proto()
	if proto.Size(p) > maxDecodeBytes {
		return 0, false
	}
	for _, a := range p.GetDetails() {
		if a.MessageName() != "google.rpc.RetryInfo" {
			continue
		}
		var ri *errdetails.RetryInfo
		if unmarshalOnce(a, &ri); ri.GetRetryDelay().IsValid() {
			d := ri.GetRetryDelay().AsDuration()
			return d, d >= 0
		}
		return 0, false
	}
	return 0, false
}
