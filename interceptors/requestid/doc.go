// Package requestid carries a request id through a call: read from the
// incoming x-request-id metadata or made up, put on the context, sent on
// outgoing calls, and returned to callers in google.rpc.RequestInfo when a
// call fails.
package requestid
