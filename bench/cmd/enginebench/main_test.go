package main

import (
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args          string
		wantTests     []string
		wantPipelines []int
		wantErr       string
	}{
		{"", []string{"SET", "GET", "INCR", "MSET"}, []int{1, 16}, ""},
		{"-tests +lpush,SADD -pipelines 1", []string{"SET", "GET", "INCR", "MSET", "LPUSH", "SADD"}, []int{1}, ""},
		{"-tests GET,GET,lrange_100", []string{"GET", "LRANGE_100"}, []int{1, 16}, ""},
		{"-tests SETT", nil, nil, `unknown test "SETT"`},
		{"-pipelines 1,0", nil, nil, "not a positive integer"},
		{"-n 0", nil, nil, "at least 1"},
		{"-keys 20000000", nil, nil, "-keys must be"},
		{"-throughput=false -memory=false", nil, nil, "nothing to do"},
		{"extra", nil, nil, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			o, err := parseFlags(strings.Fields(tt.args), io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseFlags(%q) error = %v; want one containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags(%q) error = %v", tt.args, err)
			}
			if !reflect.DeepEqual(o.tests, tt.wantTests) || !reflect.DeepEqual(o.pipelines, tt.wantPipelines) {
				t.Errorf("parseFlags(%q) = tests %v, pipelines %v; want %v, %v", tt.args, o.tests, o.pipelines, tt.wantTests, tt.wantPipelines)
			}
		})
	}
}
