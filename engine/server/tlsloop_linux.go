//go:build linux

package server

import (
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"syscall"
)

// TLS clients on the event loop. crypto/tls only reads and writes its
// underlying net.Conn, and an error from Read that is a net.Error with
// Temporary() true is not made sticky (readRecordOrCCS in
// crypto/tls/conn.go): the half-read record stays in the tls.Conn and the
// next Read continues it. So a TLS client's tls.Conn sits on a loopConn
// that switches modes:
//
//   - handshake: the loopConn passes everything to the accepted TCP
//     connection; the handshake runs on its own goroutine (start), as on
//     the goroutine path, so a slow peer never stalls the loop.
//   - loop: the descriptor is in epoll like a plain client's. The loop
//     reads raw bytes once (readTLS), then calls tls.Conn.Read, which takes
//     them from the loopConn, until it reports errWouldBlock: the decrypted
//     requests go to the same parse and run path. Replies are encrypted by
//     tls.Conn.Write into the loopConn's output buffer, which the loop sends
//     (sendTLS). Records written while reading (a TLS 1.3 KeyUpdate answer)
//     or by Close (close_notify) join that buffer.
//   - handed over: like a plain client's, the descriptor becomes a
//     net.Conn; encrypted output the loop could not send goes out first
//     (flushTLS), then the goroutine path uses the same tls.Conn.

// loopTLS is the TLS part of a loopConn.
type loopTLS struct {
	conn *tls.Conn // the client's connection (Client.conn)

	// direct is the TCP connection during the handshake (guarded by
	// loopConn.mu).
	direct net.Conn
	// in holds raw input the loop read, consumed by conn.Read; only the
	// goroutine serving the client touches it.
	in []byte
	// out holds encrypted output not sent yet (guarded by loopConn.mu).
	out []byte
	// wmu orders the writes after the hand-over: out first.
	wmu sync.Mutex
}

// errWouldBlock is what the loopConn's Read returns in loop mode once the
// raw input is used up: a temporary net.Error, so tls.Conn keeps its state.
var errWouldBlock net.Error = wouldBlockError{}

type wouldBlockError struct{}

func (wouldBlockError) Error() string   { return "tls event loop: no more input" }
func (wouldBlockError) Timeout() bool   { return false }
func (wouldBlockError) Temporary() bool { return true }

// tlsChunk bounds the plaintext encrypted at once when sending: a reply
// larger than the socket buffer is left in c.w for the goroutine path, not
// encrypted into memory twice its size.
const tlsChunk = 256 << 10

// tlsReadSize is the loop's raw TLS read: a full record and more.
const tlsReadSize = 64 << 10

// attach prepares an accepted connection for the loop: a plain TCP one is
// adopted now; a TLS one gets a loopConn in handshake mode under a new
// tls.Conn (conn's own, unused, is dropped). It returns the connection the
// client uses, and a nil loopConn when the loop cannot take it.
func (l *eventLoop) attach(conn net.Conn, cfg func() *tls.Config) (net.Conn, *loopConn) {
	if tc, ok := conn.(*tls.Conn); ok {
		raw := tc.NetConn()
		if _, ok := raw.(*net.TCPConn); !ok {
			return conn, nil
		}
		lc := &loopConn{fd: -1, laddr: raw.LocalAddr(), raddr: raw.RemoteAddr(), handed: make(chan struct{}),
			t: &loopTLS{direct: raw}}
		lc.t.conn = tls.Server(lc, cfg())
		return lc.t.conn, lc
	}
	lc, err := l.adopt(conn)
	if err != nil {
		return conn, nil
	}
	return lc, lc
}

// start hands an attached client to the loop: a TLS one after its
// handshake, on a goroutine.
func (l *eventLoop) start(c *Client, lc *loopConn) {
	if lc.t != nil {
		l.s.wg.Add(1)
		go l.handshake(c, lc)
		return
	}
	if !l.add(c, lc) {
		c.cleanup()
	}
}

// handshake runs a TLS client's handshake, then moves it to the loop.
// Closing the client (CLIENT KILL, timeout, shutdown) ends a handshake in
// progress, as on the goroutine path.
func (l *eventLoop) handshake(c *Client, lc *loopConn) {
	defer l.s.wg.Done()
	if err := lc.t.conn.Handshake(); err != nil {
		l.s.log.Debug("TLS handshake failed", "id", c.id, "addr", c.addr, "err", err)
		c.cleanup()
		return
	}
	if err := lc.enterLoop(); err != nil {
		if lc.killed.Load() {
			c.cleanup()
			return
		}
		// Still usable as it is: serve it here.
		l.s.log.Warn("event loop: serving TLS client with a goroutine", "id", c.id, "err", err)
		defer c.cleanup()
		c.serveInput(newInState(), true)
		return
	}
	if !l.add(c, lc) {
		c.cleanup()
	}
}

// enterLoop switches a TLS loopConn from handshake to loop mode: the loop
// owns a duplicate of the descriptor, the TCP connection is closed.
func (lc *loopConn) enterLoop() error {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.killed.Load() || lc.t.direct == nil {
		return errLoopClosed
	}
	fd, err := dupConn(lc.t.direct)
	if err != nil {
		return err
	}
	lc.t.direct.Close()
	lc.t.direct = nil
	lc.fd = fd
	return nil
}

// readTLS reads once from a readable TLS client and decrypts what arrived.
func (l *eventLoop) readTLS(lcl *loopClient) {
	lc := lcl.lc
	if lc.killed.Load() {
		l.dead = append(l.dead, lcl)
		return
	}
	if l.tlsBuf == nil {
		l.tlsBuf = make([]byte, tlsReadSize)
	}
	n, err := rawRead(lc.fd, l.tlsBuf)
	if err == syscall.EAGAIN || err == syscall.EINTR {
		return
	}
	if n <= 0 || err != nil {
		if err != nil && err != syscall.ECONNRESET {
			l.s.log.Debug("client read error", "id", lcl.c.id, "addr", lcl.c.addr, "err", err)
		}
		l.dead = append(l.dead, lcl)
		return
	}
	lc.t.in = l.tlsBuf[:n]
	l.decryptTLS(lcl)
}

// decryptTLS moves every complete record out of the tls.Conn into the
// client's input; the client is ready when requests arrived or a record
// (KeyUpdate answer, alert) waits to be sent.
func (l *eventLoop) decryptTLS(lcl *loopClient) {
	c, in, t := lcl.c, lcl.in, lcl.lc.t
	// Whatever tls.Conn did not take is never needed again: the loop
	// reads until errWouldBlock (input used up) or the connection ends.
	defer func() { t.in = nil }()
	got := false
	for {
		if !c.makeRoom(in) {
			l.dead = append(l.dead, lcl)
			return
		}
		n, err := t.conn.Read(in.buf[in.end:])
		if n > 0 {
			in.end += n
			l.s.stats.netInput.Add(int64(n))
			got = true
		}
		if err == nil {
			continue
		}
		if err == errWouldBlock {
			break
		}
		// close_notify (io.EOF) or a broken record: run what came
		// before it, then close.
		if !errors.Is(err, net.ErrClosed) {
			l.s.log.Debug("client read error", "id", c.id, "addr", c.addr, "err", err)
		}
		if !got {
			l.dead = append(l.dead, lcl)
			return
		}
		lcl.eof = true
		break
	}
	if got || lcl.lc.tlsPending() {
		l.ready = append(l.ready, lcl)
	}
}

// tlsPending reports whether encrypted output waits to be sent.
func (lc *loopConn) tlsPending() bool {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return len(lc.t.out) > 0
}

// sendTLS encrypts a TLS client's replies (tlsChunk at a time) and sends
// them. When the socket is full the unsent records stay in the loopConn
// and the plaintext not encrypted yet in c.w: flushTLS, then the goroutine
// path, write them in that order.
func (l *eventLoop) sendTLS(lcl *loopClient) int {
	c, lc := lcl.c, lcl.lc
	t := lc.t
	off := 0
	for {
		lc.mu.Lock()
		if len(t.out) > 0 {
			n, err := sendNoSignal(lc.fd, t.out)
			full := n == len(t.out)
			if full && cap(t.out) <= tlsReadSize {
				t.out = t.out[:0]
			} else if full {
				t.out = nil // after a big reply
			} else if n > 0 {
				t.out = t.out[n:]
			}
			lc.mu.Unlock()
			switch {
			case full:
				continue
			case err == nil || err == syscall.EAGAIN:
				c.w.B = c.w.B[:copy(c.w.B, c.w.B[off:])]
				return sendFull
			}
			return sendFailed
		}
		lc.mu.Unlock()
		if off == c.w.Len() {
			c.w.Reset()
			return sendDone
		}
		k := min(c.w.Len()-off, tlsChunk)
		if _, err := t.conn.Write(c.w.B[off : off+k]); err != nil {
			return sendFailed
		}
		l.s.stats.netOutput.Add(int64(k))
		off += k
	}
}

// flushTLS writes the encrypted output left by the loop once the client is
// handed over; false means the connection broke.
func (lc *loopConn) flushTLS() bool {
	if lc.t == nil {
		return true
	}
	lc.t.wmu.Lock()
	defer lc.t.wmu.Unlock()
	return lc.flushOutTLS() == nil
}

// flushOutTLS writes the pending encrypted output to the handed-over
// connection; t.wmu is held.
func (lc *loopConn) flushOutTLS() error {
	lc.mu.Lock()
	out, nc := lc.t.out, lc.inner
	lc.t.out = nil
	lc.mu.Unlock()
	if len(out) == 0 {
		return nil
	}
	if nc == nil {
		return errLoopClosed
	}
	_, err := nc.Write(out)
	return err
}

// readTLS is Read for tls.Conn: raw input the loop read comes first.
func (lc *loopConn) readTLS(b []byte) (int, error) {
	t := lc.t
	if len(t.in) > 0 {
		n := copy(b, t.in)
		t.in = t.in[n:]
		return n, nil
	}
	lc.mu.Lock()
	direct, inner, fd := t.direct, lc.inner, lc.fd
	lc.mu.Unlock()
	switch {
	case direct != nil:
		return direct.Read(b)
	case inner != nil:
		return inner.Read(b)
	case fd >= 0:
		return 0, errWouldBlock
	}
	return 0, errLoopClosed
}

// writeTLS is Write for tls.Conn: in loop mode the records are kept for
// the loop to send.
func (lc *loopConn) writeTLS(b []byte) (int, error) {
	t := lc.t
	lc.mu.Lock()
	direct, inner := t.direct, lc.inner
	switch {
	case direct == nil && inner == nil && lc.fd >= 0:
		t.out = append(t.out, b...)
		lc.mu.Unlock()
		return len(b), nil
	case direct == nil && inner == nil:
		lc.mu.Unlock()
		return 0, errLoopClosed
	}
	lc.mu.Unlock()
	if direct != nil {
		return direct.Write(b)
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if err := lc.flushOutTLS(); err != nil {
		return 0, err
	}
	return inner.Write(b)
}

// tlsDeadlineConn is the connection deadlines apply to; nil in loop mode
// (nothing there blocks).
func (lc *loopConn) tlsDeadlineConn() (net.Conn, error) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	switch {
	case lc.t.direct != nil:
		return lc.t.direct, nil
	case lc.inner != nil:
		return lc.inner, nil
	case lc.fd >= 0:
		return nil, nil
	}
	return nil, errLoopClosed
}

// closeTLSLocked closes a TLS loopConn that is not handed over; lc.mu is
// held. In loop mode the pending records (close_notify when tls.Conn.Close
// called us) get one nonblocking send before the shutdown.
func (lc *loopConn) closeTLSLocked() error {
	if lc.t.direct != nil {
		return lc.t.direct.Close()
	}
	if lc.fd < 0 {
		return nil
	}
	if len(lc.t.out) > 0 {
		sendNoSignal(lc.fd, lc.t.out)
		lc.t.out = nil
	}
	return syscall.Shutdown(lc.fd, syscall.SHUT_RDWR)
}
