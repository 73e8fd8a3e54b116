package inventory

import "testing"

func TestCheckAddress(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"192.0.2.1", ""},
		{"2001:db8::1", ""},
		{"db01", ""},
		{"db01.morot.local", ""},
		{"db01.example.com.", ""},
		{"0.0.0.0", "the unspecified address cannot be reached"},
		{"::", "the unspecified address cannot be reached"},
		{"fe80::1%eth0", "IPv6 zones are not supported"},
		{"192.168.69.081", "not an IP address or a hostname"},
		{"300.1.1.1", "not an IP address or a hostname"},
		{"db_01", "not an IP address or a hostname"},
		{"-db", "not an IP address or a hostname"},
		{"a..b", "not an IP address or a hostname"},
		{"", "not an IP address or a hostname"},
	}
	for _, tt := range tests {
		if got := checkAddress(tt.in); got != tt.want {
			t.Errorf("checkAddress(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckJump(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"bastion", ""},
		{"ops@bastion.example.com:2222", ""},
		{"[2001:db8::1]:22", ""},
		{"2001:db8::1", ""},
		{"ops@bastion:0", `port "0" out of range`},
		{"o p@bastion", `invalid user "o p"`},
		{"ops@bad_host", `host "bad_host": not an IP address or a hostname`},
	}
	for _, tt := range tests {
		if got := checkJump(tt.in); got != tt.want {
			t.Errorf("checkJump(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseMemory(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1024", 1024, true},
		{"1k", 1000, true},
		{"1kb", 1024, true},
		{"512MB", 512 << 20, true},
		{"2gb", 2 << 30, true},
		{"2g", 2e9, true},
		{"-1", 0, false},
		{"2zb", 0, false},
		{"gb", 0, false},
		{"99999999999gb", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseMemory(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseMemory(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
