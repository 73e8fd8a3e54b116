package sentinel

import (
	"errors"
	"net"
	"strconv"
)

// Addr is an instance address.
type Addr struct {
	IP   string
	Port int
}

func (a Addr) String() string { return net.JoinHostPort(a.IP, strconv.Itoa(a.Port)) }

// Auth is the credentials sent on a link (AUTH [user] pass) when Pass is
// set.
type Auth struct {
	User string
	Pass string
}

// Reply is one decoded RESP reply.
type Reply struct {
	// Kind is the RESP type byte: '+', '-', ':', '$', '*' (RESP3 types are
	// mapped onto these; a null has Null set).
	Kind  byte
	Str   string
	Int   int64
	Elems []Reply
	Null  bool
}

// Err returns the reply as an error when it is an error reply.
func (r Reply) Err() error {
	if r.Kind == '-' {
		return errors.New(r.Str)
	}
	return nil
}

// ErrBusy is returned when a link has too many pending commands.
var ErrBusy = errors.New("sentinel: too many pending commands on link")

// Transport carries the sentinel's outgoing links (a command link per
// instance, a hello subscription per data node). Implementations must not
// call back into the Sentinel synchronously from Do or Subscribe: the
// Sentinel holds its lock while calling them. Callbacks run later on
// another goroutine (NetTransport) or from the test harness loop.
type Transport interface {
	// Do sends cmds pipelined on the command link to addr (dialling and
	// authenticating first if needed) and calls done with one reply per
	// command, or with an error if the link failed.
	Do(addr Addr, auth Auth, cmds [][]string, done func([]Reply, error))
	// Subscribe keeps a link to addr subscribed to __sentinel__:hello and
	// calls onMsg with each payload. Calling it again for the same addr is
	// a no-op.
	Subscribe(addr Addr, auth Auth, onMsg func(payload string))
	// Drop closes every link to addr.
	Drop(addr Addr)
	// LocalIP returns the local IP of the command link to addr, or "".
	LocalIP(addr Addr) string
	// OnLinkDown registers fn, called (asynchronously) when the command
	// link to an address drops.
	OnLinkDown(fn func(Addr))
}
