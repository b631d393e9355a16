package main

import (
	"fmt"
	"strings"
	"testing"
)

// fencedAfter returns the body of the fenced code block that starts on the
// line after marker in a Markdown document: the lines between its opening
// and closing fences, each with its newline.
func fencedAfter(doc, marker string) (string, error) {
	_, rest, ok := strings.Cut(doc, marker+"\n")
	if !ok {
		return "", fmt.Errorf("no line %q", marker)
	}
	open, rest, ok := strings.Cut(rest, "\n")
	if !ok || !strings.HasPrefix(open, "```") {
		return "", fmt.Errorf("%s is not followed by a fenced code block", marker)
	}
	end := strings.Index("\n"+rest, "\n```")
	if end < 0 {
		return "", fmt.Errorf("the code block after %s is not closed", marker)
	}
	return rest[:end], nil
}

func TestFencedAfter(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
		ok              bool
	}{
		{"block", "intro\n<!-- m -->\n```go\na\nb\n```\nafter\n", "a\nb\n", true},
		{"empty block", "<!-- m -->\n```\n```", "", true},
		{"first block only", "<!-- m -->\n```\na\n```\n```\nb\n```\n", "a\n", true},
		{"no marker", "```\na\n```\n", "", false},
		{"text after marker", "<!-- m -->\ntext\n```\na\n```\n", "", false},
		{"unclosed", "<!-- m -->\n```\na\n", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fencedAfter(tc.doc, "<!-- m -->")
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("fencedAfter = %q, %v; want %q, ok %t", got, err, tc.want, tc.ok)
			}
		})
	}
}
