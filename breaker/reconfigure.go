package breaker

// Reconfigure replaces the breaker's options with opts, applied to the
// defaults as New applies them, while calls run. When an option is invalid
// it returns an error naming each such option, as New does, and changes
// nothing.
//
// The breaker keeps its state and its mode, and Reconfigure itself never
// changes them:
//   - an open breaker stays open until its current open time ends; the new
//     open durations and jitter apply from its next opening;
//   - a half-open breaker stays half-open, with the successes of its probes
//     so far. If the number of probes (WithHalfOpen) changes, the probes in
//     flight are invalidated: their reports are ignored, as after a
//     transition, and new probes may start at once;
//   - a closed breaker keeps the counts of its window and its consecutive
//     failures, unless the window's shape changes (its kind, WithTimeWindow's
//     span or buckets, WithCountWindow's size): then it starts an empty
//     window of the new shape, still keeping its consecutive failures.
//
// The new thresholds (consecutive failures, failure and slow-call rates,
// minimum calls, successes to close, probe timeout) apply from the next
// call reported. Slow-call detection judges only the calls let through while
// it is on: a call that started before WithSlowCalls was turned on, or that
// ends after it was turned off, is never slow. The hooks (WithOnStateChange)
// and the rand source become those of opts: a hook given to New and not to
// Reconfigure is no longer called.
//
// Reconfigure takes the breaker's lock, like a failure; the calls that
// succeed in the closed state do not wait for it.
func (b *Breaker) Reconfigure(opts ...Option) error {
	c, err := newConfig(opts)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	old := b.cfg
	b.cfg = c
	w0 := b.word.Load()
	w := w0 &^ slowBit
	if c.slowCall > 0 {
		w |= slowBit
	}
	if !c.sameWindow(&old) {
		if b.ticker != nil {
			b.ticker.Stop() // a run already under way sees tickerOn false
		}
		b.tickerOn = false
		b.makeWindowLocked()
		consec, seen := b.consec, b.consecSeen
		b.resetWindowLocked(b.now())
		b.consec, b.consecSeen = consec, seen
		if State(w&stateMask) == StateClosed {
			// The next call starts the new time window's timer; other
			// windows have none.
			w &^= idleBit
			if c.window == windowTime {
				w |= idleBit
			}
		}
	} else if c.window == windowCount && c.slowCall > 0 && b.slowQ.ring == nil {
		b.slowQ = newPosQueue(c.size) // slow-call detection turned on
	}
	switch {
	case c.probes != old.probes:
		if State(w&stateMask) == StateHalfOpen {
			// A new generation: the permits of the probes in flight, whose
			// slots are gone, are not counted.
			w += 1 << genShift
		}
		succ := b.probeSucc
		b.makeProbesLocked(c.probes)
		b.probeSucc = succ
	case len(b.free) == 0:
		b.setReclaimAtLocked() // with the new probe timeout
	}
	b.slow.Store(int64(c.slowCall))
	if w != w0 {
		b.word.Store(w)
	}
	return nil
}
