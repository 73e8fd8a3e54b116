package bench

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err     error
		code    int
		printed string
	}{
		{nil, 0, ""},
		{flag.ErrHelp, 0, ""},
		{&UsageError{Err: flag.ErrHelp}, 0, ""},
		{&UsageError{Err: errors.New("-n must be positive")}, 2, "x: -n must be positive\n"},
		{errors.New("boom"), 1, "x: boom\n"},
	} {
		var b strings.Builder
		if code := ExitCode("x", tc.err, &b); code != tc.code || b.String() != tc.printed {
			t.Errorf("ExitCode(%v) = %d, printed %q; want %d, %q", tc.err, code, b.String(), tc.code, tc.printed)
		}
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args  string
		usage bool
	}{
		{"", false},
		{"-keys 5 -rounds 1 -engine /bin/e -markdown m.md", false},
		{"-keys 0", true},
		{"-clients -1", true},
		{"-nope", true},
		{"extra", true},
	} {
		var f Flags
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		f.Register(fs, "keys")
		err := ParseFlags(fs, strings.Fields(tc.args), io.Discard)
		if err == nil {
			err = f.Check()
		}
		var usage *UsageError
		if got := errors.As(err, &usage); got != tc.usage {
			t.Errorf("flags %q: error %v, want usage error %v", tc.args, err, tc.usage)
		}
	}
}

func TestWriteRegion(t *testing.T) {
	dir := t.TempDir()
	doc := "# t\n" + BeginMarker + "\nold\n" + EndMarker + "\ntail\n"
	for _, tc := range []struct {
		name, old, want string
		wantErr         bool
	}{
		{"region", doc, "# t\n" + BeginMarker + "\nnew\n" + EndMarker + "\ntail\n", false},
		{"missing", "", "new\n", false},
		{"nomarkers", "plain\n", "plain\n", true},
	} {
		path := filepath.Join(dir, tc.name+".md")
		if tc.old != "" {
			if err := os.WriteFile(path, []byte(tc.old), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		err := WriteRegion(path, "new\n")
		got, _ := os.ReadFile(path)
		if (err != nil) != tc.wantErr || string(got) != tc.want {
			t.Errorf("%s: WriteRegion error %v, file %q; want error %v, file %q", tc.name, err, got, tc.wantErr, tc.want)
		}
	}
}
