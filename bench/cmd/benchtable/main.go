// Command benchtable turns the output of `go test -bench` into markdown
// tables that put implementations side by side, with each one's time as a
// multiple of Bulwark's, for the README.
//
// A benchmark takes part when one element of its name is impl=NAME (as in
// BenchmarkChainClient/deadline=caller/impl=bulwark-2); the other elements
// and the GOMAXPROCS suffix make its row. Each cell is the median of the
// runs (-count) of time per operation and allocations per operation, and
// the ratio of that time to the base implementation's in the same row:
// 3.1× means three times Bulwark's time. A table without the base
// implementation compares with the first one whose name starts with it
// (bulwark-nobudget). There is one table per benchmark
// function, with a column per implementation in the order they first
// appear.
//
// Usage:
//
//	benchtable [-base bulwark] [-filter regexp] [file ...]
//
// With no file it reads standard input. For the statistics (confidence
// intervals, significance), use benchstat on the same files.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	base := flag.String("base", "bulwark", "the implementation other columns are compared with")
	filter := flag.String("filter", "", "only benchmarks whose name matches this regular expression")
	flag.Parse()
	var re *regexp.Regexp
	if *filter != "" {
		var err error
		if re, err = regexp.Compile(*filter); err != nil {
			fmt.Fprintln(os.Stderr, "benchtable: -filter:", err)
			os.Exit(2)
		}
	}
	var rs results
	if flag.NArg() == 0 {
		if err := rs.parse(os.Stdin, re); err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
	}
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err == nil {
			err = rs.parse(f, re)
			_ = f.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
	}
	if len(rs.groups) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark with an impl= element in its name")
		os.Exit(1)
	}
	rs.write(os.Stdout, *base)
}

// sample is what the runs of one benchmark of one implementation measured.
type sample struct {
	ns, allocs []float64
}

// row is one line of a table: the benchmark's name without impl=, and a
// sample per implementation.
type row struct {
	name  string
	impls map[string]*sample
}

// group is one table: the rows of one benchmark function.
type group struct {
	name  string
	impls []string // columns, in order of appearance
	rows  []*row
	index map[string]*row
}

type results struct {
	groups []*group
	index  map[string]*group
}

// parse reads benchmark lines from r; lines that are not results are
// skipped, as benchstat does.
func (rs *results) parse(r io.Reader, re *regexp.Regexp) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(fields[1]); err != nil {
			continue // a benchmark's name printed before its result, or a log line
		}
		if re != nil && !re.MatchString(fields[0]) {
			continue
		}
		fn, rowName, impl, ok := splitName(fields[0])
		if !ok {
			continue
		}
		s := rs.sample(fn, rowName, impl)
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return fmt.Errorf("%s: %q is not a number", fields[0], fields[i])
			}
			switch fields[i+1] {
			case "ns/op":
				s.ns = append(s.ns, v)
			case "allocs/op":
				s.allocs = append(s.allocs, v)
			}
		}
	}
	return sc.Err()
}

// splitName splits a benchmark's full name into its function, the rest of
// its name without the impl= element (its GOMAXPROCS suffix, if any, as
// cpu=N), and the implementation.
func splitName(full string) (fn, rest, impl string, ok bool) {
	procs := ""
	if i := strings.LastIndexByte(full, '-'); i > 0 {
		if _, err := strconv.Atoi(full[i+1:]); err == nil {
			full, procs = full[:i], full[i:]
		}
	}
	parts := strings.Split(full, "/")
	var kept []string
	for _, p := range parts[1:] {
		if v, found := strings.CutPrefix(p, "impl="); found {
			impl = v
			continue
		}
		kept = append(kept, p)
	}
	if impl == "" {
		return "", "", "", false
	}
	if procs != "" {
		kept = append(kept, "cpu="+procs[1:])
	}
	return strings.TrimPrefix(parts[0], "Benchmark"), strings.Join(kept, " "), impl, true
}

func (rs *results) sample(fn, rowName, impl string) *sample {
	if rs.index == nil {
		rs.index = map[string]*group{}
	}
	g := rs.index[fn]
	if g == nil {
		g = &group{name: fn, index: map[string]*row{}}
		rs.index[fn] = g
		rs.groups = append(rs.groups, g)
	}
	r := g.index[rowName]
	if r == nil {
		r = &row{name: rowName, impls: map[string]*sample{}}
		g.index[rowName] = r
		g.rows = append(g.rows, r)
	}
	if !slices.Contains(g.impls, impl) {
		g.impls = append(g.impls, impl)
	}
	s := r.impls[impl]
	if s == nil {
		s = &sample{}
		r.impls[impl] = s
	}
	return s
}

// write prints one markdown table per group.
func (rs *results) write(w io.Writer, base string) {
	for i, g := range rs.groups {
		if i > 0 {
			fmt.Fprintln(w)
		}
		base := baseOf(g.impls, base)
		cols := g.impls
		if j := slices.Index(cols, base); j > 0 {
			cols = append([]string{base}, slices.Delete(slices.Clone(cols), j, j+1)...)
		}
		fmt.Fprintf(w, "**%s** (median time and allocations per call; ratio = time / %s's)\n\n", g.name, base)
		fmt.Fprintf(w, "| %s | %s |\n", "case", strings.Join(cols, " | "))
		fmt.Fprintf(w, "|---|%s\n", strings.Repeat("---:|", len(cols)))
		for _, r := range g.rows {
			cells := make([]string, len(cols))
			baseNS := -1.0
			if s := r.impls[base]; s != nil && len(s.ns) > 0 {
				baseNS = median(s.ns)
			}
			for k, impl := range cols {
				s := r.impls[impl]
				if s == nil || len(s.ns) == 0 {
					cells[k] = "–"
					continue
				}
				ns := median(s.ns)
				cell := formatNS(ns)
				if len(s.allocs) > 0 {
					cell += fmt.Sprintf(", %s allocs", strconv.FormatFloat(median(s.allocs), 'f', -1, 64))
				}
				if impl != base && baseNS > 0 {
					cell += fmt.Sprintf(" (%s×)", formatRatio(ns/baseNS))
				}
				cells[k] = cell
			}
			name := r.name
			if name == "" {
				name = "–"
			}
			fmt.Fprintf(w, "| %s | %s |\n", name, strings.Join(cells, " | "))
		}
	}
}

// baseOf returns base if impls has it, else the first of impls whose name
// starts with base (bulwark-nobudget for bulwark), else base.
func baseOf(impls []string, base string) string {
	if slices.Contains(impls, base) {
		return base
	}
	for _, impl := range impls {
		if strings.HasPrefix(impl, base) {
			return impl
		}
	}
	return base
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// formatNS prints a duration given in ns with about three significant
// digits, in ns, µs or ms.
func formatNS(ns float64) string {
	unit, v := "ns", ns
	switch {
	case ns >= 1e6:
		unit, v = "ms", ns/1e6
	case ns >= 1e3:
		unit, v = "µs", ns/1e3
	}
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + " " + unit
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + " " + unit
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + " " + unit
}

func formatRatio(r float64) string {
	if r >= 10 {
		return strconv.FormatFloat(r, 'f', 0, 64)
	}
	if r >= 0.1 {
		return strconv.FormatFloat(r, 'f', 2, 64)
	}
	return strconv.FormatFloat(r, 'f', 3, 64)
}
