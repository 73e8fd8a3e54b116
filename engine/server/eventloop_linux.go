//go:build linux

package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The event loop (hactl-io-model eventloop) serves plain TCP clients the
// way Redis does: one goroutine on a locked OS thread waits in epoll_wait,
// reads once from every ready client, runs all their requests under ONE
// acquisition of the execution lock, writes the AOF once, then writes each
// client's replies with one send. No goroutine wake-up per request and no
// read that ends in EAGAIN.
//
// Only the plain request/response state lives here. The moment a client
// needs a goroutine of its own (a blocking command or WAIT parks it,
// pub/sub or MONITOR start the async writer, it becomes a replica) or a
// reply does not fit the socket buffer, the loop hands it over: the file
// descriptor leaves epoll, becomes a net.Conn, and the goroutine path
// (serveInput) continues with the rest of the batch and the unparsed input.
// A client never comes back to the loop. TLS clients enter it once their
// handshake is done (tlsloop_linux.go).

// eventLoop is the epoll loop; everything but incoming and stopped is
// owned by its goroutine.
type eventLoop struct {
	s      *Server
	epfd   int
	wakeR  int // pipe: add and wake write a byte to wakeW
	wakeW  int
	conns  map[int32]*loopClient
	events []syscall.EpollEvent
	ready  []*loopClient
	dead   []*loopClient
	tlsBuf []byte // raw TLS input of the client being read

	mu       sync.Mutex
	incoming []*loopClient
	stopped  bool
}

// loopClient is a client served by the loop.
type loopClient struct {
	c      *Client
	lc     *loopConn
	in     *inState
	dead   bool
	handed bool
	eof    bool // a TLS client sent close_notify: close after the replies
}

func newEventLoop(s *Server) (*eventLoop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	l := &eventLoop{s: s, epfd: epfd, wakeR: p[0], wakeW: p[1], conns: map[int32]*loopClient{},
		events: make([]syscall.EpollEvent, 256)}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(l.wakeR)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.wakeR, &ev); err != nil {
		l.closeFDs()
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	return l, nil
}

func (l *eventLoop) closeFDs() {
	syscall.Close(l.epfd)
	syscall.Close(l.wakeR)
	syscall.Close(l.wakeW)
}

// wake interrupts epoll_wait (new clients, shutdown). Once the loop has
// stopped its descriptors are closed (and their numbers may be reused):
// nothing is written then.
func (l *eventLoop) wake() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.wakeLocked()
}

func (l *eventLoop) wakeLocked() {
	if !l.stopped {
		syscall.Write(l.wakeW, []byte{0}) // a full pipe already wakes the loop
	}
}

// adopt takes the socket out of Go's poller: the loop owns a duplicate of
// its descriptor (same open socket, still nonblocking), the net.Conn is
// closed.
func (l *eventLoop) adopt(conn net.Conn) (*loopConn, error) {
	fd, err := dupConn(conn)
	if err != nil {
		return nil, err
	}
	lc := &loopConn{fd: fd, laddr: conn.LocalAddr(), raddr: conn.RemoteAddr(), handed: make(chan struct{})}
	conn.Close()
	return lc, nil
}

// dupConn duplicates the descriptor of a TCP connection, which stays open.
func dupConn(conn net.Conn) (int, error) {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return -1, errors.New("not a TCP connection")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("raw conn: %w", err)
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		fd, derr = dupCloexec(int(s))
	}); err != nil {
		return -1, fmt.Errorf("raw conn: %w", err)
	}
	if derr != nil {
		return -1, fmt.Errorf("dup: %w", derr)
	}
	return fd, nil
}

func dupCloexec(fd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// add queues an adopted client for the loop; false means the loop has
// stopped (the caller closes the client).
func (l *eventLoop) add(c *Client, lc *loopConn) bool {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		lc.mu.Lock()
		syscall.Close(lc.fd)
		lc.fd = -1
		close(lc.handed)
		lc.mu.Unlock()
		return false
	}
	l.incoming = append(l.incoming, &loopClient{c: c, lc: lc, in: newInState()})
	l.wakeLocked()
	l.mu.Unlock()
	return true
}

func (l *eventLoop) register() {
	l.mu.Lock()
	inc := l.incoming
	l.incoming = nil
	l.mu.Unlock()
	for _, lcl := range inc {
		fd := lcl.lc.fd
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
		if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			l.s.log.Warn("event loop: can't watch client", "id", lcl.c.id, "err", err)
			l.closeClient(lcl)
			continue
		}
		l.conns[int32(fd)] = lcl
		if lcl.lc.t != nil {
			// The handshake may have read requests sent right behind it.
			l.decryptTLS(lcl)
		}
	}
}

// run is the loop; it returns once the server is closing and every client
// is gone.
func (l *eventLoop) run() {
	defer l.s.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// With a single P, a wait that keeps it would stall every other
	// goroutine (accept, cron) for its duration.
	rawWait := runtime.GOMAXPROCS(0) > 1
	var drain [64]byte
	for {
		// Wait briefly keeping the P (under load the next request comes
		// within microseconds); block releasing it only when idle.
		n, err := 0, error(nil)
		if rawWait {
			n, err = l.wait(rawWaitMs)
		}
		if err == nil && n == 0 {
			n, err = l.wait(-1)
		}
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			l.s.log.Error("event loop: epoll_wait failed", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		l.ready, l.dead = l.ready[:0], l.dead[:0]
		for i := range l.events[:n] {
			fd := l.events[i].Fd
			if int(fd) == l.wakeR {
				syscall.Read(l.wakeR, drain[:])
				l.register()
				continue
			}
			if lcl := l.conns[fd]; lcl != nil {
				l.read(lcl)
			}
		}
		if len(l.ready) > 0 {
			l.runReady()
		}
		for _, lcl := range l.dead {
			l.closeClient(lcl)
		}
		if l.s.closing.Load() && len(l.conns) == 0 {
			l.mu.Lock()
			l.stopped = len(l.incoming) == 0
			if l.stopped {
				l.closeFDs()
			}
			l.mu.Unlock()
			if l.stopped {
				return
			}
		}
	}
}

// read reads once from a readable client (level-triggered epoll reports
// it again if more is buffered).
func (l *eventLoop) read(lcl *loopClient) {
	c, in := lcl.c, lcl.in
	lcl.dead, lcl.handed = false, false
	if lcl.lc.t != nil {
		l.readTLS(lcl)
		return
	}
	if lcl.lc.killed.Load() || !c.makeRoom(in) {
		l.dead = append(l.dead, lcl)
		return
	}
	n, err := rawRead(lcl.lc.fd, in.buf[in.end:])
	if err == syscall.EAGAIN || err == syscall.EINTR {
		return
	}
	if n <= 0 || err != nil {
		if err != nil && err != syscall.ECONNRESET {
			l.s.log.Debug("client read error", "id", c.id, "addr", c.addr, "err", err)
		}
		l.dead = append(l.dead, lcl)
		return
	}
	in.end += n
	l.s.stats.netInput.Add(int64(n))
	l.ready = append(l.ready, lcl)
}

// runReady runs the ready clients' requests under one lock acquisition,
// writes the AOF, then the replies.
func (l *eventLoop) runReady() {
	s := l.s
	s.mu.Lock()
	s.refreshCtx()
	for _, lcl := range l.ready {
		c := lcl.c
		if lcl.lc.killed.Load() {
			lcl.dead = true
			continue
		}
		c.lastInteraction.Store(s.ctx.Now)
		for c.parse(lcl.in) {
			if next := c.execBatch(lcl.in, 0, true); next >= 0 {
				l.handOver(lcl, next)
				break
			}
			if c.closeAfter || !lcl.in.consumed() {
				break
			}
		}
	}
	s.mu.Unlock()
	// Acknowledge only what the AOF holds, as runBatch does.
	aofErr := s.flushAOF()
	if aofErr != nil && s.aofAlways() {
		s.log.Error("can't persist the AOF: not acknowledging the batch", "err", aofErr)
	}
	for _, lcl := range l.ready {
		if lcl.handed {
			continue
		}
		c := lcl.c
		if lcl.dead || (aofErr != nil && s.aofAlways()) {
			l.dead = append(l.dead, lcl)
			continue
		}
		send := l.send
		if lcl.lc.t != nil {
			send = l.sendTLS
		}
		switch send(lcl) {
		case sendFull:
			// The socket buffer is full: a goroutine finishes the write
			// (blocking) and serves the client from now on.
			l.handOver(lcl, batchDone)
			continue
		case sendFailed:
			l.dead = append(l.dead, lcl)
			continue
		}
		if c.closeAfter || lcl.eof {
			l.dead = append(l.dead, lcl)
		}
	}
}

// Results of sending a client's replies.
const (
	sendDone   = iota // everything was sent
	sendFull          // the socket buffer is full: the rest is left in c.w
	sendFailed        // the connection is broken
)

// send sends a plain client's replies.
func (l *eventLoop) send(lcl *loopClient) int {
	c := lcl.c
	if c.w.Len() == 0 {
		return sendDone
	}
	n, err := sendNoSignal(lcl.lc.fd, c.w.B)
	if n > 0 {
		l.s.stats.netOutput.Add(int64(n))
	}
	switch {
	case n == c.w.Len():
		c.w.Reset()
		return sendDone
	case err == nil || err == syscall.EAGAIN:
		c.w.B = c.w.B[:copy(c.w.B, c.w.B[max(n, 0):])]
		return sendFull
	}
	return sendFailed
}

// rawWaitMs bounds the epoll_wait that keeps the P (see wait).
const rawWaitMs = 2

// wait is epoll_wait. With a timeout (ms >= 0) it keeps the P: under load
// the next client is ready within microseconds, and handing the P to the
// runtime and taking it back would cost more (futex wake-ups of other
// threads) than the wait; a signal (preemption for GC) interrupts it. With
// ms < 0 it blocks in the kernel and the runtime may run other goroutines
// on the P meanwhile.
func (l *eventLoop) wait(ms int) (int, error) {
	p, n := uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events))
	var r uintptr
	var e syscall.Errno
	if ms < 0 {
		r, _, e = syscall.Syscall6(syscall.SYS_EPOLL_PWAIT, uintptr(l.epfd), p, n, ^uintptr(0), 0, 0)
	} else {
		r, _, e = syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(l.epfd), p, n, uintptr(ms), 0, 0)
	}
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// rawRead is read(2) on a nonblocking socket; it never blocks, so it skips
// the runtime's syscall bookkeeping (and the P hand-off that may follow).
func rawRead(fd int, b []byte) (int, error) {
	r, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// sendNoSignal is send(2) with MSG_NOSIGNAL on a nonblocking socket (a
// closed peer gives EPIPE, never SIGPIPE); like rawRead it never blocks.
func sendNoSignal(fd int, b []byte) (int, error) {
	for {
		r, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			syscall.MSG_NOSIGNAL, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(r), nil
	}
}

// handOver moves a client to the goroutine path: its descriptor leaves
// epoll and becomes a net.Conn, and a goroutine resumes the batch at next
// (batchDone: only the pending output is left to write).
func (l *eventLoop) handOver(lcl *loopClient, next int) {
	lc := lcl.lc
	lcl.handed = true
	lc.mu.Lock()
	fd := lc.fd
	syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	delete(l.conns, int32(fd))
	f := os.NewFile(uintptr(fd), "client")
	nc, err := net.FileConn(f) // duplicates the descriptor
	f.Close()
	lc.fd = -1
	if err == nil {
		lc.inner = nc
		if lc.killed.Load() {
			nc.Close()
		}
	} else {
		l.s.log.Warn("event loop: can't hand client over", "id", lcl.c.id, "err", err)
	}
	close(lc.handed)
	lc.mu.Unlock()
	l.s.wg.Add(1)
	go lcl.c.resume(lcl.in, next, lc)
}

// closeClient ends a loop client: the usual cleanup, then the descriptor.
func (l *eventLoop) closeClient(lcl *loopClient) {
	lcl.c.cleanup()
	lc := lcl.lc
	lc.mu.Lock()
	if lc.fd >= 0 {
		syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, lc.fd, nil)
		if l.conns[int32(lc.fd)] == lcl {
			delete(l.conns, int32(lc.fd))
		}
		syscall.Close(lc.fd)
		lc.fd = -1
		close(lc.handed)
	}
	lc.mu.Unlock()
}

// resume continues a client handed over by the event loop on the
// goroutine path.
func (c *Client) resume(in *inState, next int, lc *loopConn) {
	defer c.srv.wg.Done()
	defer c.cleanup()
	if !lc.flushTLS() {
		return
	}
	if next >= 0 {
		if !c.runBatch(in, next) {
			return
		}
	} else {
		if c.w.Len() > 0 && !c.flush() {
			return
		}
		if c.closeAfter {
			return
		}
	}
	c.serveInput(in, !in.consumed())
}

// loopConn is the net.Conn of a loop client. Before the hand-over only
// Close and the addresses are used (the loop does the I/O); after it,
// everything goes to the net.Conn the descriptor became. I/O attempted
// before the hand-over waits for it.
type loopConn struct {
	laddr, raddr net.Addr
	killed       atomic.Bool
	handed       chan struct{} // closed at the hand-over or when closed

	mu    sync.Mutex
	fd    int      // -1 once closed or handed over
	inner net.Conn // after the hand-over
	t     *loopTLS // TLS clients only
}

var errLoopClosed = fmt.Errorf("event loop client: %w", net.ErrClosed)

// deadlineConn is the connection deadlines apply to: for a TLS client the
// one of its current mode (nil in the loop, where nothing blocks).
func (lc *loopConn) deadlineConn() (net.Conn, error) {
	if lc.t != nil {
		return lc.tlsDeadlineConn()
	}
	return lc.conn()
}

func (lc *loopConn) conn() (net.Conn, error) {
	<-lc.handed
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.inner == nil {
		return nil, errLoopClosed
	}
	return lc.inner, nil
}

// Read reads from the handed-over connection.
func (lc *loopConn) Read(b []byte) (int, error) {
	if lc.t != nil {
		return lc.readTLS(b)
	}
	nc, err := lc.conn()
	if err != nil {
		return 0, err
	}
	return nc.Read(b)
}

// Write writes to the handed-over connection.
func (lc *loopConn) Write(b []byte) (int, error) {
	if lc.t != nil {
		return lc.writeTLS(b)
	}
	nc, err := lc.conn()
	if err != nil {
		return 0, err
	}
	return nc.Write(b)
}

// Close closes the connection from any goroutine: before the hand-over it
// shuts the socket down and the loop, seeing the hang-up, cleans up.
func (lc *loopConn) Close() error {
	lc.killed.Store(true)
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.inner != nil {
		return lc.inner.Close()
	}
	if lc.t != nil {
		return lc.closeTLSLocked()
	}
	if lc.fd >= 0 {
		return syscall.Shutdown(lc.fd, syscall.SHUT_RDWR)
	}
	return nil
}

// LocalAddr is the accepted connection's local address.
func (lc *loopConn) LocalAddr() net.Addr { return lc.laddr }

// RemoteAddr is the peer's address.
func (lc *loopConn) RemoteAddr() net.Addr { return lc.raddr }

// SetDeadline applies to the handed-over connection.
func (lc *loopConn) SetDeadline(t time.Time) error {
	nc, err := lc.deadlineConn()
	if nc == nil {
		return err
	}
	return nc.SetDeadline(t)
}

// SetReadDeadline applies to the handed-over connection.
func (lc *loopConn) SetReadDeadline(t time.Time) error {
	nc, err := lc.deadlineConn()
	if nc == nil {
		return err
	}
	return nc.SetReadDeadline(t)
}

// SetWriteDeadline applies to the handed-over connection.
func (lc *loopConn) SetWriteDeadline(t time.Time) error {
	nc, err := lc.deadlineConn()
	if nc == nil {
		return err
	}
	return nc.SetWriteDeadline(t)
}
