package greeter

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// maxConfigBody bounds the JSON body /faults reads.
const maxConfigBody = 4 << 10

// FaultsHandler serves the Config of svc: GET answers it as JSON; POST and
// PUT change the fields given, either as a JSON object in the body (for
// example {"fail_rate": 0.3, "fail_code": "UNAVAILABLE"}; the content type
// is not checked, so curl -d works) or as query parameters (for example
// ?latency=200ms&capacity=4), and answer with the Config now in force. A
// change that Validate refuses changes nothing and is answered with 400 and
// {"error": "..."}.
func FaultsHandler(svc *Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			writeJSON(w, http.StatusOK, svc.Config())
			return
		case http.MethodPost, http.MethodPut:
		default:
			w.Header().Set("Allow", "GET, HEAD, POST, PUT")
			writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method " + r.Method + " not allowed"})
			return
		}
		cfg := svc.Config()
		err := patchFromRequest(&cfg, r)
		if err == nil {
			err = svc.SetConfig(cfg)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, svc.Config())
	})
}

type errorBody struct {
	Error string `json:"error"`
}

// patchFromRequest applies the query parameters of r, then its JSON body
// if it has one, to c.
func patchFromRequest(c *Config, r *http.Request) error {
	if err := c.ApplyQuery(r.URL.Query()); err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxConfigBody+1))
	if err != nil {
		return fmt.Errorf("greeter: reading the body: %w", err)
	}
	if len(body) > maxConfigBody {
		return fmt.Errorf("greeter: body larger than %d bytes", maxConfigBody)
	}
	if len(body) == 0 {
		return nil
	}
	return json.Unmarshal(body, c)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v) // the client went away: nothing to do
}

// configHandler serves POST /config: it reads a whole Live as JSON from the
// body (at most MaxLiveBytes; the content type is not checked, so curl -d
// works) and applies it with Server.Reconfigure. It answers 200 with the
// Live now in force, 400 with {"error": "..."} when the JSON or the values
// are refused (then nothing changed), and 413 when the body is too large.
func configHandler(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only application/json: a browser cannot send it to another
		// origin without asking first (a CORS preflight, which this
		// server does not answer), so a web page cannot change the limits.
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
			writeJSON(w, http.StatusUnsupportedMediaType, errorBody{Error: "greeter: POST /config takes Content-Type: application/json"})
			return
		}
		l, err := ReadLive(http.MaxBytesReader(w, r.Body, MaxLiveBytes))
		if err != nil {
			code := http.StatusBadRequest
			if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
				code = http.StatusRequestEntityTooLarge
			}
			writeJSON(w, code, errorBody{Error: err.Error()})
			return
		}
		if err := s.Reconfigure(l); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, s.Live())
	})
}
