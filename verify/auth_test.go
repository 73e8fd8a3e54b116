package verify

import (
	"errors"
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
	}
	for _, tt := range tests {
		err := authFailure(tt.ev, tt.sv)
		if got := errors.Is(err, ErrAuth); got != tt.auth {
			t.Errorf("%s: authFailure = %v; want auth error %v", tt.name, err, tt.auth)
		}
	}
}
