package retry

import (
	"context"
	"strconv"

	rpcerrdetails "google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
)

// laterRequestID returns the request id that the attempts after the first
// of a call send, so that the server logs every attempt of the call under
// one id, given err, the first failed attempt's error (nil for a hedge):
// the id the server gave that attempt (google.rpc.RequestInfo in err's
// status), else the context's (requestid.FromContext), else a new one. It
// returns "" when the outgoing metadata already carries x-request-id (the
// requestid client interceptor sends the caller's id there): every attempt
// sends that one. A call whose first attempt succeeds never gets here.
func laterRequestID(ctx context.Context, err error) string {
	if len(metadata.ValueFromOutgoingContext(ctx, requestid.MetadataKey)) > 0 {
		return ""
	}
	if id, ok := requestInfoID(err); ok {
		return id
	}
	if id, ok := requestid.FromContext(ctx); ok {
		return id
	}
	return requestid.New()
}

// requestInfoID returns the valid request id of err's RequestInfo detail.
func requestInfoID(err error) (string, bool) {
	st, ok := status.FromError(err)
	if !ok || st == nil {
		return "", false
	}
	for _, d := range st.Details() {
		if ri, ok := d.(*rpcerrdetails.RequestInfo); ok {
			id := ri.GetRequestId()
			return id, requestid.Valid(id)
		}
	}
	return "", false
}

// laterAttempt returns the context of attempt n > 1 of a call: ctx with
// grpc-previous-rpc-attempts and, unless id is "", x-request-id, in one
// metadata append.
func laterAttempt(ctx context.Context, n int, id string) context.Context {
	if id == "" {
		return metadata.AppendToOutgoingContext(ctx, PreviousAttemptsKey, strconv.Itoa(n-1))
	}
	return metadata.AppendToOutgoingContext(ctx, PreviousAttemptsKey, strconv.Itoa(n-1), requestid.MetadataKey, id)
}
