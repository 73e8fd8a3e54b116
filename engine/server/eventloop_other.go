//go:build !linux

package server

import (
	"crypto/tls"
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

func (*eventLoop) run()  {}
func (*eventLoop) wake() {}
func (*eventLoop) attach(conn net.Conn, _ func() *tls.Config) (net.Conn, *loopConn) {
	return conn, nil
}
func (*eventLoop) start(*Client, *loopConn) {}
