// Package logbuf holds Buffer, a bytes.Buffer that several goroutines may
// write to at once: where the greeter's tests and its demo collect a
// server's log.
package logbuf
