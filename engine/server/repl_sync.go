package server

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// Full synchronization of one replica (master side).

// fullSync starts sending a point-in-time RDB to c; s.mu is held.
func (s *Server) fullSync(c *Client, psync bool) {
	s.ensureBacklog()
	ri := c.repl
	ri.state = replWaitBgsave
	s.repl.replicas = append(s.repl.replicas, c)
	s.repl.noReplicasSince = time.Time{}
	diskless := ri.capaEOF && s.set.Repl.DisklessSync
	delay := time.Duration(0)
	if diskless {
		delay = s.set.Repl.DisklessSyncDelay
	}
	s.repl.fullSyncs++
	s.log.Info("Starting full synchronization with replica "+c.replicaAddr(), "diskless", diskless)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.transferRDB(c, psync, diskless, delay); err != nil {
			s.log.Warn("Full synchronization with replica "+c.replicaAddr()+" failed", "err", err)
			c.kill()
		}
	}()
}

// transferRDB runs in its own goroutine and is the only writer of c's
// connection until the replica is online.
func (s *Server) transferRDB(c *Client, psync, diskless bool, delay time.Duration) error {
	conn := c.conn
	// Batch replicas like Redis: wait the diskless delay, keeping the
	// link alive with newlines.
	for waited := time.Duration(0); waited < delay; waited += time.Second {
		time.Sleep(min(time.Second, delay-waited))
		if _, err := conn.Write([]byte("\n")); err != nil {
			return err
		}
	}
	// The snapshot, the offset and the start of buffering are one instant.
	var j *snapshotJob
	for {
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			return fmt.Errorf("server shutting down")
		}
		if s.snapJob == nil {
			break
		}
		s.mu.Unlock()
		// Another snapshot (BGSAVE, rewrite) is running: wait for it.
		if _, err := conn.Write([]byte("\n")); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	var err error
	j, err = s.beginSnapshot(false, false)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	replid, offset := s.repl.replid, s.repl.offset
	c.repl.buffering = true
	c.repl.state = replSendBulk
	// The first write after the RDB must re-select its database.
	s.str.lastDB = -1
	s.mu.Unlock()
	if psync {
		if _, err := fmt.Fprintf(conn, "+FULLRESYNC %s %d\r\n", replid, offset); err != nil {
			s.abortSnapshot(j)
			return err
		}
	}
	if diskless {
		mark := randomMark()
		bw := bufio.NewWriterSize(conn, 64<<10)
		fmt.Fprintf(bw, "$EOF:%s\r\n", mark)
		if err := j.run(bw, false); err != nil {
			return err
		}
		bw.WriteString(mark)
		if err := bw.Flush(); err != nil {
			return err
		}
	} else {
		path, size, err := s.snapshotToTemp(j, conn)
		if err != nil {
			return err
		}
		defer os.Remove(path)
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := fmt.Fprintf(conn, "$%d\r\n", size); err != nil {
			return err
		}
		if _, err := io.Copy(conn, f); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ri := c.repl
	ri.buffering = false
	ri.state = replOnline
	ri.ackTime = s.clock()
	ri.ackOffset = offset
	// Diskless: stream only after the replica's first ACK (it has loaded
	// the RDB), as Redis does.
	ri.waitFirstAck = diskless
	c.startAsyncWriter()
	if !ri.waitFirstAck && len(ri.pending) > 0 {
		c.pushAsync(ri.pending)
		ri.pending = nil
	}
	s.log.Info("Synchronization with replica " + c.replicaAddr() + " succeeded")
	return nil
}

func (s *Server) abortSnapshot(j *snapshotJob) {
	s.mu.Lock()
	j.snap.Abort()
	if s.snapJob == j {
		s.snapJob = nil
	}
	s.mu.Unlock()
}

// snapshotToTemp writes the snapshot to a temp file in dir (disk-based
// sync), sending a newline keepalive to conn every second meanwhile.
func (s *Server) snapshotToTemp(j *snapshotJob, conn net.Conn) (string, int64, error) {
	s.mu.Lock()
	dir := s.set.Persist.Dir
	s.mu.Unlock()
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, fmt.Sprintf("temp-repl-%d-*.rdb", os.Getpid()))
	if err != nil {
		s.abortSnapshot(j)
		return "", 0, err
	}
	done := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(f, 1<<20)
		err := j.run(bw, false)
		if err == nil {
			err = bw.Flush()
		}
		done <- err
	}()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			st, serr := f.Stat()
			f.Close()
			if err == nil {
				err = serr
			}
			if err != nil {
				os.Remove(f.Name())
				return "", 0, err
			}
			return f.Name(), st.Size(), nil
		case <-t.C:
			conn.Write([]byte("\n"))
		}
	}
}

func randomMark() string {
	var b [20]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
