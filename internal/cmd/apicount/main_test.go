package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testModule is a module with one of each thing apicount lists or skips.
const testModule = "testdata/mod"

// wantAPI is the API file of testModule.
const wantAPI = header + `a, const KindOne Kind = iota
a, const KindThree Kind
a, const KindTwo Kind
a, const MaxItems = 10
a, const MinItems = 1
a, const Timeout = 5 * time.Second
a, func Map[T, U any]([]T, func(T) U) []U
a, func New(string, ...Option) (*Thing, error)
a, method (*List[T]) Len() int
a, method (*Thing) Do(context.Context, int, int) error
a, method (Thing) Value() int
a, type Event = Thing
a, type Kind uint8
a, type List[T any] struct
a, type Observer interface { OnDone, OnEvent }
a, type Observer interface, OnDone(error) bool
a, type Observer interface, OnEvent(context.Context, Event)
a, type Observer interface, embedded Option
a, type Option interface { unexported methods }
a, type Thing struct
a, type Thing struct, Handler func(context.Context, int) (bool, error)
a, type Thing struct, Name string
a, type Thing struct, X int
a, type Thing struct, Y int
a, type Thing struct, embedded Kind
a, var Default = ...
a, var ErrA = errors.New("a: failed")
a/b, func B()
`

// wantCounts is what run prints for testModule, before its last line.
const wantCounts = `package                          types funcs methods consts vars total
a                                    6     2       5      6    2    21
a/b                                  0     1       0      0    0     1
total                                6     3       5      6    2    22
`

func TestWrite(t *testing.T) {
	file := filepath.Join(t.TempDir(), "api", "test.txt")
	var out bytes.Buffer
	if err := run([]string{"-o", file}, testModule, &out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != wantAPI {
		t.Errorf("API file:\n%s\nwant:\n%s\ndiff:\n%s", got, wantAPI, diff(wantAPI, string(got)))
	}
	if !strings.HasPrefix(out.String(), wantCounts) {
		t.Errorf("printed:\n%s\nwant it to start with:\n%s", out.String(), wantCounts)
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string // the API file's content; "" for none
		args    []string
		wantErr []string // each in the error; none for no error
		wantOut string   // in the output
	}{
		{name: "up to date", file: wantAPI, wantOut: "is up to date"},
		{name: "missing", wantErr: []string{"is stale", "+ a/b, func B()"}},
		{
			name:    "stale",
			file:    strings.Replace(wantAPI, "a/b, func B()\n", "a/b, func C()\n", 1),
			wantErr: []string{"is stale: run make api", "- a/b, func C()", "+ a/b, func B()"},
		},
		{
			name:    "a package over its limit",
			file:    wantAPI,
			args:    []string{"-max-package", "20"},
			wantErr: []string{"package a has 21 exported identifiers; the limit is 20"},
			wantOut: "21  over 20",
		},
		{
			name:    "the total over its limit",
			file:    wantAPI,
			args:    []string{"-max-total", "21"},
			wantErr: []string{"the module has 22 exported identifiers; the limit is 21"},
		},
		{name: "at the limits", file: wantAPI, args: []string{"-max-total", "22", "-max-package", "21"}},
		{name: "no limits", file: wantAPI, args: []string{"-max-total", "0", "-max-package", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "api.txt")
			if tc.file != "" {
				if err := os.WriteFile(file, []byte(tc.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			err := run(append([]string{"-check", "-o", file}, tc.args...), testModule, &out)
			if len(tc.wantErr) == 0 && err != nil {
				t.Errorf("error %v; want none", err)
			}
			if len(tc.wantErr) > 0 && err == nil {
				t.Errorf("no error; want one with %q", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if err != nil && !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("output lacks %q:\n%s", tc.wantOut, out.String())
			}
			got, _ := os.ReadFile(file)
			if string(got) != tc.file {
				t.Errorf("-check changed the file")
			}
		})
	}
}

func TestArgs(t *testing.T) {
	for _, args := range [][]string{{"-max-total", "x"}, {"extra"}} {
		if err := run(args, testModule, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q): no error", args)
		}
	}
}

// TestModule runs on Bulwark itself: the library's packages are listed, and
// nothing from the directories that hold no public API.
func TestModule(t *testing.T) {
	pkgs, err := scan("../../..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range pkgs {
		seen[p.path] = true
		for _, skip := range []string{"internal", "proto", "examples", "bench", "tools"} {
			if p.path == skip || strings.HasPrefix(p.path, skip+"/") || strings.Contains(p.path, "/"+skip+"/") {
				t.Errorf("package %s is listed", p.path)
			}
		}
	}
	for _, want := range []string{"breaker", "errdetails", "interceptors"} {
		if !seen[want] {
			t.Errorf("package %s is not listed", want)
		}
	}
}
