package logbuf_test

import (
	"fmt"
	"log/slog"

	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/logbuf"
)

func Example() {
	var logs logbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	log.Info("listening", "addr", "127.0.0.1:50051")
	fmt.Print(logs.String())
	// Output:
	// level=INFO msg=listening addr=127.0.0.1:50051
}
