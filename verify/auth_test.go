package verify

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"testing"
)

func TestAuthFailure(t *testing.T) {
	tests := []struct {
		name string
		ev   []engineView
		sv   []sentinelView
		auth bool
	}{
		{"none", []engineView{{Node: Node{Name: "db01"}}}, nil, false},
		{"refused", []engineView{{Node: Node{Name: "db01"}, Err: errors.New("dial tcp: connection refused")}}, nil, false},
		{"wrongpass", []engineView{{Node: Node{Name: "db02"}, Err: errors.New("WRONGPASS invalid username-password pair or user is disabled.")}}, nil, true},
		{"sentinel noauth", nil, []sentinelView{{Node: Node{Name: "db03"}, Err: errors.New("NOAUTH Authentication required.")}}, true},
		{"unknown authority", []engineView{{Node: Node{Name: "db01"}, Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}}, nil, true},
		{"client certificate refused", []engineView{{Node: Node{Name: "db01"}, Err: &net.OpError{Op: "remote error", Err: tls.AlertError(42)}}}, nil, true},
		{"sentinel: certificate required", nil, []sentinelView{{Node: Node{Name: "db03"}, Err: errors.New("remote error: tls: certificate required")}}, true},
		{"plaintext peer", []engineView{{Node: Node{Name: "db01"}, Err: errors.New("tls: first record does not look like a TLS handshake")}}, nil, false},
	}
	for _, tt := range tests {
		err := authFailure(tt.ev, tt.sv)
		if got := errors.Is(err, ErrAuth); got != tt.auth {
			t.Errorf("%s: authFailure = %v; want auth error %v", tt.name, err, tt.auth)
		}
	}
}
