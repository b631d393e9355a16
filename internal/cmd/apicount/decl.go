package main

import (
	"bytes"
	"go/ast"
	"go/printer"
	"go/token"
	"slices"
	"strings"
)

// maxValue is the longest var or const value the file shows; a longer one,
// or one on several lines, is shown as "...".
const maxValue = 80

// fileAPI returns the entries that one file declares.
func fileAPI(fset *token.FileSet, f *ast.File) []entry {
	pr := printerFor(fset)
	var entries []entry
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if e, ok := funcEntry(pr, d); ok {
				entries = append(entries, e)
			}
		case *ast.GenDecl:
			entries = append(entries, genEntries(pr, d)...)
		}
	}
	return entries
}

// funcEntry is a func, or a method of an exported type.
func funcEntry(pr func(ast.Node) string, d *ast.FuncDecl) (entry, bool) {
	if !d.Name.IsExported() {
		return entry{}, false
	}
	sig := strings.TrimPrefix(pr(stripNames(d.Type)), "func")
	if d.Recv == nil {
		return entry{kindFunc, "func " + d.Name.Name + typeParams(pr, d.Type.TypeParams) + sig}, true
	}
	recv := d.Recv.List[0].Type
	if base := receiverBase(recv); base == "" || !ast.IsExported(base) {
		return entry{}, false
	}
	return entry{kindMethod, "method (" + pr(recv) + ") " + d.Name.Name + sig}, true
}

// receiverBase is the name of a receiver's type: T for T, *T, T[P] and *T[P].
func receiverBase(x ast.Expr) string {
	if s, ok := x.(*ast.StarExpr); ok {
		x = s.X
	}
	switch t := x.(type) {
	case *ast.IndexExpr:
		x = t.X
	case *ast.IndexListExpr:
		x = t.X
	}
	if id, ok := x.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// genEntries are the exported types, consts and vars of a declaration.
func genEntries(pr func(ast.Node) string, d *ast.GenDecl) []entry {
	var entries []entry
	var prevType ast.Expr // a const spec without type or value repeats the one before
	for _, spec := range d.Specs {
		switch s := spec.(type) {
		case *ast.TypeSpec:
			if s.Name.IsExported() {
				entries = append(entries, typeEntries(pr, s)...)
			}
		case *ast.ValueSpec:
			typ := s.Type
			if d.Tok == token.CONST {
				if typ == nil && len(s.Values) == 0 {
					typ = prevType
				}
				prevType = typ
			}
			k, word := kindVar, "var "
			if d.Tok == token.CONST {
				k, word = kindConst, "const "
			}
			for i, name := range s.Names {
				if !name.IsExported() {
					continue
				}
				decl := word + name.Name
				if typ != nil {
					decl += " " + pr(typ)
				}
				if i < len(s.Values) && len(s.Values) == len(s.Names) {
					decl += " = " + shortValue(pr(s.Values[i]))
				}
				entries = append(entries, entry{k, decl})
			}
		}
	}
	return entries
}

// shortValue is v, or "..." when v is long or on several lines.
func shortValue(v string) string {
	if len(v) > maxValue || strings.Contains(v, "\n") {
		return "..."
	}
	return v
}

// typeEntries are a type's line and the lines of its exported fields, or of
// its interface's exported methods and embedded types.
func typeEntries(pr func(ast.Node) string, s *ast.TypeSpec) []entry {
	name := "type " + s.Name.Name + typeParams(pr, s.TypeParams)
	if s.Assign.IsValid() {
		return []entry{{kindType, name + " = " + oneLine(pr(stripNames(s.Type)))}}
	}
	switch t := s.Type.(type) {
	case *ast.StructType:
		entries := []entry{{kindType, name + " struct"}}
		for _, f := range t.Fields.List {
			typ := oneLine(pr(stripNames(f.Type)))
			if len(f.Names) == 0 {
				if ast.IsExported(receiverBase(embeddedName(f.Type))) {
					entries = append(entries, entry{kindPart, name + " struct, embedded " + typ})
				}
				continue
			}
			for _, n := range f.Names {
				if n.IsExported() {
					entries = append(entries, entry{kindPart, name + " struct, " + n.Name + " " + typ})
				}
			}
		}
		return entries
	case *ast.InterfaceType:
		var names []string
		var entries []entry
		unexported := false
		for _, m := range t.Methods.List {
			if len(m.Names) == 0 { // an embedded interface or a type constraint
				entries = append(entries, entry{kindPart, name + " interface, embedded " + oneLine(pr(m.Type))})
				continue
			}
			n := m.Names[0]
			if !n.IsExported() {
				unexported = true
				continue
			}
			names = append(names, n.Name)
			sig := strings.TrimPrefix(pr(stripNames(m.Type)), "func")
			entries = append(entries, entry{kindMethod, name + " interface, " + n.Name + sig})
		}
		slices.Sort(names)
		if unexported {
			names = append(names, "unexported methods")
		}
		line := name + " interface"
		if len(names) > 0 {
			line += " { " + strings.Join(names, ", ") + " }"
		}
		return append(entries, entry{kindType, line})
	default:
		return []entry{{kindType, name + " " + oneLine(pr(stripNames(s.Type)))}}
	}
}

// embeddedName is the type an embedded field names, without its package.
func embeddedName(x ast.Expr) ast.Expr {
	if s, ok := x.(*ast.StarExpr); ok {
		x = s.X
	}
	if sel, ok := x.(*ast.SelectorExpr); ok {
		return sel.Sel
	}
	return x
}

// typeParams prints a type parameter list, or nothing.
func typeParams(pr func(ast.Node) string, l *ast.FieldList) string {
	if l == nil || len(l.List) == 0 {
		return ""
	}
	var parts []string
	for _, f := range l.List {
		var names []string
		for _, n := range f.Names {
			names = append(names, n.Name)
		}
		parts = append(parts, strings.Join(names, ", ")+" "+pr(f.Type))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// stripNames returns x with the parameter and result names of its func
// types removed, so that renaming a parameter changes nothing.
func stripNames(x ast.Expr) ast.Expr {
	switch t := x.(type) {
	case *ast.FuncType:
		return &ast.FuncType{Params: stripFields(t.Params), Results: stripFields(t.Results)}
	case *ast.StarExpr:
		return &ast.StarExpr{X: stripNames(t.X)}
	case *ast.ArrayType:
		return &ast.ArrayType{Len: t.Len, Elt: stripNames(t.Elt)}
	case *ast.MapType:
		return &ast.MapType{Key: stripNames(t.Key), Value: stripNames(t.Value)}
	case *ast.ChanType:
		return &ast.ChanType{Dir: t.Dir, Value: stripNames(t.Value)}
	case *ast.Ellipsis:
		return &ast.Ellipsis{Elt: stripNames(t.Elt)}
	case *ast.ParenExpr:
		return &ast.ParenExpr{X: stripNames(t.X)}
	}
	return x
}

// stripFields repeats each field's type once per name, without the names.
func stripFields(l *ast.FieldList) *ast.FieldList {
	if l == nil {
		return nil
	}
	out := &ast.FieldList{}
	for _, f := range l.List {
		n := max(len(f.Names), 1)
		for range n {
			out.List = append(out.List, &ast.Field{Type: stripNames(f.Type)})
		}
	}
	return out
}

// oneLine joins a printed expression's lines.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// printerFor returns a function that prints a node on one line.
func printerFor(fset *token.FileSet) func(ast.Node) string {
	cfg := printer.Config{Mode: printer.RawFormat}
	return func(n ast.Node) string {
		var b bytes.Buffer
		if err := cfg.Fprint(&b, fset, n); err != nil {
			return "<" + err.Error() + ">"
		}
		return b.String()
	}
}
