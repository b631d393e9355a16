package logging

import (
	"log/slog"
	"testing"

	"google.golang.org/grpc/codes"
)

func TestDefaultLevels(t *testing.T) {
	for c, want := range map[codes.Code][2]slog.Level{
		codes.OK:               {slog.LevelDebug, slog.LevelDebug},
		codes.NotFound:         {slog.LevelInfo, slog.LevelInfo},
		codes.Unavailable:      {slog.LevelWarn, slog.LevelInfo},
		codes.Internal:         {slog.LevelError, slog.LevelWarn},
		codes.DeadlineExceeded: {slog.LevelWarn, slog.LevelInfo},
	} {
		if s, cl := serverLevels(c), clientLevels(c); s != want[0] || cl != want[1] {
			t.Errorf("%v: server %v client %v; want %v", c, s, cl, want)
		}
	}
}
