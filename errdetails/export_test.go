package errdetails

// The tests read a Registry back.

type Kind = kind

func (r *Registry) Lookup(code string) (Kind, bool) { return r.lookup(code) }
