// Package a is what apicount's test lists.
package a

import (
	"context"
	"errors"
	"time"
)

// Kind is an enum.
type Kind uint8

// The kinds.
const (
	KindOne Kind = iota
	KindTwo
	kindHidden
	KindThree
)

// Limits, untyped.
const (
	MaxItems, MinItems = 10, 1
	Timeout            = 5 * time.Second
)

// ErrA and Default are vars.
var (
	ErrA    = errors.New("a: failed")
	Default = map[string]int{
		"one": 1,
		"two": 2,
	}
	hidden int
)

// Thing has fields, methods and an embedded type.
type Thing struct {
	Name    string
	X, Y    int
	Handler func(ctx context.Context, n int) (ok bool, err error)
	Kind
	private int
}

// New makes a Thing.
func New(name string, opts ...Option) (*Thing, error) { return &Thing{Name: name}, nil }

// Do is a method.
func (t *Thing) Do(ctx context.Context, a, b int) error { return nil }

// Value is a value method.
func (t Thing) Value() int { return t.X }

func (t *Thing) hidden() {}

// Option is an option.
type Option interface{ apply(*Thing) }

// Observer is an interface users implement.
type Observer interface {
	OnEvent(ctx context.Context, e Event)
	OnDone(err error) (retry bool)
	Option
}

// Event is an alias.
type Event = Thing

// List is generic.
type List[T any] struct{ items []T }

// Len is a method of a generic type.
func (l *List[T]) Len() int { return len(l.items) }

// Map is a generic func.
func Map[T, U any](in []T, f func(T) U) []U { return nil }

type unexported struct{}

// Method of an unexported type: not listed.
func (unexported) Exported() {}

func helperFunc() {}
