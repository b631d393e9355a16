// Package requestid carries a request id through a call: read from the
// incoming x-request-id metadata or made up, put on the context, sent on
// outgoing calls, and returned to callers in google.rpc.RequestInfo when a
// call fails.
//
// A client call without an id costs nothing: the server makes one. When
// such a call is retried, the retry interceptor sends the id the server
// gave the failed attempt on every later attempt (see package retry), so
// the server's log holds all of the call's attempts under one id.
package requestid
