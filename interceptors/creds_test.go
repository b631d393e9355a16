package interceptors_test

import (
	"context"
	"net"

	"google.golang.org/grpc/credentials"
)

// insecureCreds lets the benchmarks build a ClientConn that never dials.
type insecureCreds struct{}

func (insecureCreds) ClientHandshake(_ context.Context, _ string, c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c, nil, nil
}
func (insecureCreds) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c, nil, nil
}
func (insecureCreds) Info() credentials.ProtocolInfo          { return credentials.ProtocolInfo{} }
func (insecureCreds) Clone() credentials.TransportCredentials { return insecureCreds{} }
func (insecureCreds) OverrideServerName(string) error         { return nil }
