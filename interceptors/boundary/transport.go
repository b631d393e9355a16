package boundary

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// unavailableMessage is all a caller learns of a transport error of one of
// the server's own outgoing calls.
const unavailableMessage = "upstream unavailable"

// Full names of the detail types the boundary looks at.
const (
	debugInfoName        = "google.rpc.DebugInfo"
	badRequestName       = "google.rpc.BadRequest"
	retryInfoName        = "google.rpc.RetryInfo"
	applicationErrorName = "bulwark.v1.ApplicationError"
)

// dialPhrases are what grpc-go's error for a failed connection says; no
// handler writes them itself.
var dialPhrases = []string{"connection error: desc =", "transport: Error while dialing"}

// transportPhrases open or appear in the messages grpc-go gives the errors
// it makes itself on the client side (connection, resolver, transport and
// HTTP/2 failures), which name addresses and connection states.
var transportPhrases = []string{
	"connection error:",
	"transport:",
	"last connection error:",
	"last resolver error:",
	"name resolver error:",
	"produced zero addresses",
	"error reading from server",
	"connection closed",
	"the connection is draining",
	"failed to exit idle mode",
	"grpc: the client connection is closing",
	"server closed the stream without sending trailers",
	"stream terminated by RST_STREAM",
	"unexpected HTTP status code received from server",
	"dial tcp",
	"dial unix",
	"connect: connection refused",
}

// address matches an IPv4 or bracketed IPv6 address, with or without a
// port.
var address = regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){3}\b|\[[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(?:%\w+)?\]`)

// transportError reports whether st is an error grpc-go made for a failed
// call rather than a status a server sent, on a status without details
// with one of the codes grpc-go gives its own errors: for a status an
// outgoing call returned (received), a message in grpc-go's words or one
// that names a network address; for any other, grpc-go's words for a
// failed connection only, so that a handler's own status is never mistaken
// for one.
func transportError(st *status.Status, received bool) bool {
	switch st.Code() {
	case codes.Unavailable, codes.Internal, codes.Unknown, codes.Canceled:
	default:
		return false
	}
	if len(st.Proto().GetDetails()) > 0 {
		return false
	}
	msg := st.Message()
	phrases := dialPhrases
	if received {
		phrases = transportPhrases
	}
	for _, p := range phrases {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return received && address.MatchString(msg)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
