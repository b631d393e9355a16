package retry

import (
	"context"
	"strconv"

	rpcerrdetails "google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/metadata"

	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
	"github.com/bulwarkrpc/bulwark/internal/reqctx"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
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
	ri, ok := firstDetail[rpcerrdetails.RequestInfo](err)
	return ri.GetRequestId(), ok && reqctx.Valid(ri.GetRequestId())
}

// laterAttempt returns the context of attempt n > 1 of a call: ctx with
// grpc-previous-rpc-attempts and, unless id is "", x-request-id, in one
// metadata append.
func laterAttempt(ctx context.Context, n int, id string) context.Context {
	if id == "" {
		return metadata.AppendToOutgoingContext(ctx, retrystate.PreviousAttemptsHeader, strconv.Itoa(n-1))
	}
	return metadata.AppendToOutgoingContext(ctx, retrystate.PreviousAttemptsHeader, strconv.Itoa(n-1), requestid.MetadataKey, id)
}
