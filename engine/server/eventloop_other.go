//go:build !linux

package server

import (
	"errors"
	"net"
)

// eventLoop is Linux only (epoll): elsewhere hactl-io-model eventloop
// falls back to the goroutine path.
type eventLoop struct{}

type loopConn struct{ net.Conn }

func newEventLoop(*Server) (*eventLoop, error) {
	return nil, errors.New("the event loop needs Linux (epoll)")
}

func (*eventLoop) run()                              {}
func (*eventLoop) wake()                             {}
func (*eventLoop) adopt(net.Conn) (*loopConn, error) { return nil, errors.New("no event loop") }
func (*eventLoop) add(*Client, *loopConn) bool       { return false }
