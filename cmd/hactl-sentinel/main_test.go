package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "sentinel.conf")
	if err := os.WriteFile(bad, []byte("port 1\nsentinel monitor m 1.2.3.4 6379 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage: hactl-sentinel"},
		{[]string{"--bogus"}, 2, "flag provided but not defined"},
		{[]string{"/nonexistent/sentinel.conf"}, 1, "no such file"},
		{[]string{bad}, 1, "sentinel.conf:2: quorum must be 1 or greater"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		if code := run(tt.args, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("run(%q) = %d, %q; want %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
	}
}
