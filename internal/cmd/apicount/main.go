package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

func main() {
	if err := run(os.Args[1:], ".", os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "apicount:", err)
		}
		os.Exit(1)
	}
}

// run lists the API of the module in root, prints its counts to out, and
// writes the list to the -o file or, with -check, checks it.
func run(args []string, root string, out io.Writer) error {
	fs := flag.NewFlagSet("apicount", flag.ContinueOnError)
	fs.SetOutput(out)
	file := fs.String("o", "api/bulwark.txt", "the API file, relative to the module's root")
	check := fs.Bool("check", false, "write nothing; fail when the file is stale or a limit is exceeded")
	maxTotal := fs.Int("max-total", 300, "most identifiers in all (0: no limit)")
	maxPackage := fs.Int("max-package", 50, "most identifiers in one package (0: no limit)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	pkgs, err := scan(root)
	if err != nil {
		return err
	}
	problems := report(out, pkgs, *maxTotal, *maxPackage)
	text := render(pkgs)
	path := *file
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}

	if !*check {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s\n", *file)
		return nil
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if string(old) != text {
		problems = append(problems, fmt.Sprintf("%s is stale: run make api and commit it\n%s", *file, diff(string(old), text)))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	fmt.Fprintf(out, "%s is up to date\n", *file)
	return nil
}

// report prints each package's counts and the total, and returns the limits
// they exceed.
func report(out io.Writer, pkgs []pkgAPI, maxTotal, maxPackage int) []string {
	var problems []string
	var sum counts
	fmt.Fprintf(out, "%-32s %5s %5s %7s %6s %4s %5s\n", "package", "types", "funcs", "methods", "consts", "vars", "total")
	for _, p := range pkgs {
		c := p.counts()
		sum.add(c)
		mark := ""
		if maxPackage > 0 && c.total() > maxPackage {
			mark = fmt.Sprintf("  over %d", maxPackage)
			problems = append(problems, fmt.Sprintf("package %s has %d exported identifiers; the limit is %d", p.path, c.total(), maxPackage))
		}
		fmt.Fprintf(out, "%-32s %5d %5d %7d %6d %4d %5d%s\n", p.path, c.types, c.funcs, c.methods, c.consts, c.vars, c.total(), mark)
	}
	mark := ""
	if maxTotal > 0 && sum.total() > maxTotal {
		mark = fmt.Sprintf("  over %d", maxTotal)
		problems = append(problems, fmt.Sprintf("the module has %d exported identifiers; the limit is %d", sum.total(), maxTotal))
	}
	fmt.Fprintf(out, "%-32s %5d %5d %7d %6d %4d %5d%s\n", "total", sum.types, sum.funcs, sum.methods, sum.consts, sum.vars, sum.total(), mark)
	return problems
}

// header is the first line of the API file.
const header = "# Bulwark's public API: one line per exported identifier or field. Written by make api (internal/cmd/apicount); do not edit.\n"

// render returns the API file's text.
func render(pkgs []pkgAPI) string {
	var lines []string
	for _, p := range pkgs {
		for _, e := range p.entries {
			lines = append(lines, p.path+", "+e.decl)
		}
	}
	slices.Sort(lines)
	return header + strings.Join(lines, "\n") + "\n"
}

// diff lists the lines only in old (-) and only in new (+).
func diff(old, new string) string {
	in := func(text string) map[string]bool {
		m := map[string]bool{}
		for l := range strings.Lines(text) {
			m[strings.TrimSuffix(l, "\n")] = true
		}
		return m
	}
	o, n := in(old), in(new)
	var b strings.Builder
	for l := range strings.Lines(old) {
		if l = strings.TrimSuffix(l, "\n"); !n[l] {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for l := range strings.Lines(new) {
		if l = strings.TrimSuffix(l, "\n"); !o[l] {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}
