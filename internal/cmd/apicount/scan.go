package main

import (
	"errors"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// skipDirs are the module's top-level directories that hold no public API.
var skipDirs = []string{"internal", "proto", "examples", "bench", "tools"}

// kind is what an entry declares.
type kind int

const (
	kindType kind = iota
	kindFunc
	kindMethod
	kindConst
	kindVar
	kindPart // a struct field or embedded interface: listed, not counted
)

// entry is one line of the API file, without its package.
type entry struct {
	kind kind
	decl string
}

// pkgAPI is the API of one package.
type pkgAPI struct {
	path    string // relative to the module's root, with slashes
	entries []entry
}

// counts is how many identifiers of each kind a package exports.
type counts struct{ types, funcs, methods, consts, vars int }

func (c counts) total() int { return c.types + c.funcs + c.methods + c.consts + c.vars }

func (c *counts) add(d counts) {
	c.types += d.types
	c.funcs += d.funcs
	c.methods += d.methods
	c.consts += d.consts
	c.vars += d.vars
}

func (p pkgAPI) counts() counts {
	var c counts
	for _, e := range p.entries {
		switch e.kind {
		case kindType:
			c.types++
		case kindFunc:
			c.funcs++
		case kindMethod:
			c.methods++
		case kindConst:
			c.consts++
		case kindVar:
			c.vars++
		}
	}
	return c
}

// scan returns the API of every package of the module in root, sorted by
// path.
func scan(root string) ([]pkgAPI, error) {
	var pkgs []pkgAPI
	err := filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != "." {
			name := d.Name()
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "internal" || name == "testdata" || name == "node_modules" ||
				(!strings.Contains(rel, "/") && slices.Contains(skipDirs, rel)) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		p, err := packageAPI(dir, rel)
		if err != nil || p == nil {
			return err
		}
		pkgs = append(pkgs, *p)
		return nil
	})
	slices.SortFunc(pkgs, func(a, b pkgAPI) int { return strings.Compare(a.path, b.path) })
	return pkgs, err
}

// packageAPI returns the API of the package in dir, or nil when dir holds no
// package or a main package.
func packageAPI(dir, rel string) (*pkgAPI, error) {
	bp, err := build.ImportDir(dir, 0)
	if err != nil {
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			return nil, nil
		}
		return nil, err
	}
	if bp.Name == "main" {
		return nil, nil
	}
	fset := token.NewFileSet()
	p := &pkgAPI{path: rel}
	for _, name := range bp.GoFiles {
		if strings.HasSuffix(name, ".pb.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		if ast.IsGenerated(f) {
			continue
		}
		p.entries = append(p.entries, fileAPI(fset, f)...)
	}
	return p, nil
}
