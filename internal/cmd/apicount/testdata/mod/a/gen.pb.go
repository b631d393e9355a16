package a

// FromPB is in a .pb.go file: not listed.
type FromPB struct{}
