package inventory

import (
	"errors"
	"fmt"
	"strings"
)

// Error is one problem found in an inventory file. It names the place
// (File, Line, Col; Line and Col are 1-based, 0 when unknown), the Field as a
// dotted path such as "hosts[1].ssh.port", what is wrong (Msg) and what to do
// about it (Hint, may be empty). Warning marks a problem that does not stop
// hactl.
type Error struct {
	File    string
	Line    int
	Col     int
	Field   string
	Msg     string
	Hint    string
	Warning bool
}

// Error formats the problem on one line:
//
//	inventory.yaml:12:7: hosts[1].name: duplicate host name "db01" (hint: ...)
//
// Warnings carry "warning: " before the field.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	if e.Warning {
		b.WriteString("warning: ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString(" (hint: ")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// ErrorList is every error found in one inventory, in file order. It is the
// error type returned by Parse, Load and ResolveSecrets; use errors.As to get
// it, or to get the first *Error.
type ErrorList []*Error

// Error joins the problems, one per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives the individual *Error values to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// AsErrorList returns the ErrorList inside err, or nil.
func AsErrorList(err error) ErrorList {
	var l ErrorList
	if errors.As(err, &l) {
		return l
	}
	return nil
}
