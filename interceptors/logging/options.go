package logging

import (
	"log/slog"

	"google.golang.org/grpc/codes"
)

// An Option configures Logging.
type Option interface {
	apply(*options)
}

type options struct {
	serverLevels, clientLevels func(codes.Code) slog.Level
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithLevels sets the level of the record for each code on the server and
// the client. A nil func keeps the default for that side. Default: on the
// server, OK at Debug; codes that blame the caller (CANCELLED,
// INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, UNAUTHENTICATED) at Info;
// UNKNOWN, UNIMPLEMENTED, INTERNAL and DATA_LOSS at Error; the rest at
// Warn. On the client, OK at Debug; UNKNOWN, UNIMPLEMENTED, INTERNAL and
// DATA_LOSS at Warn; the rest at Info.
func WithLevels(server, client func(codes.Code) slog.Level) Option {
	return optionFunc(func(o *options) {
		if server != nil {
			o.serverLevels = server
		}
		if client != nil {
			o.clientLevels = client
		}
	})
}

// serverLevels are the default levels of the server's records (see
// WithLevels).
func serverLevels(c codes.Code) slog.Level {
	switch c {
	case codes.OK:
		return slog.LevelDebug
	case codes.Canceled, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.Unauthenticated:
		return slog.LevelInfo
	case codes.Unknown, codes.Unimplemented, codes.Internal, codes.DataLoss:
		return slog.LevelError
	}
	return slog.LevelWarn
}

// clientLevels are the default levels of the client's records (see
// WithLevels).
func clientLevels(c codes.Code) slog.Level {
	switch c {
	case codes.OK:
		return slog.LevelDebug
	case codes.Unknown, codes.Unimplemented, codes.Internal, codes.DataLoss:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}
