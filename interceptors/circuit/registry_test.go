package circuit

import (
	"fmt"
	"testing"

	"github.com/bulwarkrpc/bulwark/breaker"
)

func testRegistry(t testing.TB, max int) (*registry, map[*entry]bool) {
	made := map[*entry]bool{}
	r := newRegistry(max, func(k key) *entry {
		b, err := breaker.New()
		if err != nil {
			t.Fatal(err)
		}
		e := &entry{b: b, rej: &openError{Target: k.target, Method: k.method}}
		made[e] = true
		return e
	}, key{target: "overflow"})
	t.Cleanup(r.close)
	return r, made
}

func TestRegistrySecondChance(t *testing.T) {
	r, _ := testRegistry(t, 3)
	k := func(s string) key { return key{target: s} }
	a, b, c := r.get(k("a")), r.get(k("b")), r.get(k("c"))
	r.get(k("d")) // all used: the sweep clears a, b and c, then evicts a
	if got := r.get(k("a")); got == a {
		t.Fatal("a survived, want it evicted") // (this get evicts b)
	}
	if r.get(k("c")) != c {
		t.Fatal("c was evicted, want it kept: it was used since the sweep")
	}
	if got := r.get(k("b")); got == b {
		t.Fatal("b survived")
	}
	if n := r.len(); n != 3 {
		t.Fatalf("len = %d, want 3", n)
	}
}

// FuzzRegistry gets random keys from a small registry and checks that it
// never holds more than its bound, that a key maps to the same entry until
// that entry is evicted, that an evicted entry never comes back, that an
// open breaker is never evicted, and that a key gets the shared overflow
// breaker only when every breaker held is open. A key byte with its high bit
// set forces that key's breaker open.
func FuzzRegistry(f *testing.F) {
	f.Add(uint8(1), []byte{0, 1, 0, 2, 0, 3})
	f.Add(uint8(3), []byte{0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 0, 0, 0, 6, 7})
	f.Add(uint8(4), []byte{9, 8, 7, 9, 8, 7, 1, 2, 3, 4, 5, 9})
	f.Add(uint8(1), []byte{0x80, 1, 2, 0})
	f.Add(uint8(2), []byte{0x81, 0x82, 3, 4, 1, 2})
	f.Fuzz(func(t *testing.T, max uint8, keys []byte) {
		bound := 1 + int(max%8)
		r, _ := testRegistry(t, bound)
		current := map[key]*entry{}
		evicted := map[*entry]bool{}
		for _, kb := range keys {
			k := key{target: fmt.Sprint(kb & 0x0f), method: "/s/M"}
			before := map[key]*entry{}
			for kk, e := range *r.m.Load() {
				before[kk] = e
			}
			e := r.get(k)
			if evicted[e] {
				t.Fatalf("get(%v) returned an evicted entry", k)
			}
			now := *r.m.Load()
			if len(now) > bound {
				t.Fatalf("%d entries, bound %d", len(now), bound)
			}
			for kk, old := range before {
				if now[kk] != old {
					if old.b.State() != breaker.StateClosed {
						t.Fatalf("get(%v) evicted %v, whose breaker is %v", k, kk, old.b.State())
					}
					evicted[old] = true
				}
			}
			if e == r.overflow.Load() {
				for kk, held := range now {
					if held.b.State() == breaker.StateClosed {
						t.Fatalf("get(%v) got the overflow breaker while %v's is closed", k, kk)
					}
				}
				continue
			}
			if old, ok := current[k]; ok && before[k] == old && e != old {
				t.Fatalf("get(%v) replaced a live entry", k)
			}
			current[k] = e
			if now[k] != e {
				t.Fatalf("get(%v) returned an entry the registry does not hold", k)
			}
			if kb&0x80 != 0 {
				e.b.SetMode(breaker.ModeForcedOpen)
			}
		}
	})
}
