package difftest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Timeouts used while playing a script.
const (
	// rawReplyWait bounds the wait for a reply to !raw bytes (which may get
	// none, such as an empty multibulk).
	rawReplyWait = 500 * time.Millisecond
	// closeWait is how long a connection is watched for a close after !raw
	// and QUIT.
	closeWait = 200 * time.Millisecond
	// maxScanRounds bounds the cursor loop of !scanall.
	maxScanRounds = 100000
)

// Runner plays scripts on two servers: A is the reference, B the candidate.
type Runner struct {
	A, B *Server
	// SkipEngine makes !skip-engine lines go uncompared (engine mode). In
	// self mode (both servers redis) it is false, so those lines are still
	// proven deterministic.
	SkipEngine bool
	// Trace, when set, receives one line per compared step with both
	// replies, to review what a scenario exercises.
	Trace func(line string)
}

// Mismatch is one step whose replies differ.
type Mismatch struct {
	Step Step
	// A and B describe what each server answered (quoted raw bytes).
	A, B string
}

// Skipped is one step not compared because of !skip-engine.
type Skipped struct {
	Step   Step
	Reason string
}

// Report is the outcome of one script.
type Report struct {
	File       string
	Compared   int
	Identical  int
	Skipped    []Skipped
	Mismatches []Mismatch
}

// Format renders a mismatch for a test log.
func (m Mismatch) Format(file, nameA, nameB string) string {
	return fmt.Sprintf("%s:%d: %s\n\t%-7s %s\n\t%-7s %s", file, m.Step.Line, m.Step.Text,
		nameA+":", m.A, nameB+":", m.B)
}

// side is the per-server state of a running script.
type side struct {
	srv   *Server
	conns map[string]*Conn
	cur   string
}

func newSide(srv *Server) *side {
	return &side{srv: srv, conns: map[string]*Conn{}, cur: "default"}
}

func (s *side) close() {
	for _, c := range s.conns {
		_ = c.Close()
	}
}

// conn returns the current connection, dialing it on first use or after the
// server closed it.
func (s *side) conn(ctx context.Context) (*Conn, error) {
	if c := s.conns[s.cur]; c != nil {
		return c, nil
	}
	c, err := Dial(ctx, s.srv.Addr)
	if err != nil {
		return nil, err
	}
	s.conns[s.cur] = c
	return c, nil
}

func (s *side) drop() {
	if c := s.conns[s.cur]; c != nil {
		_ = c.Close()
		delete(s.conns, s.cur)
	}
}

// outcome is what one server did for one step.
type outcome struct {
	reply *Reply
	fail  string    // set when no reply could be read
	peer  PeerState // for !raw and QUIT
	scan  []string  // sorted elements collected by !scanall
}

func (o outcome) String() string {
	var b strings.Builder
	switch {
	case o.fail != "":
		b.WriteString("(" + o.fail + ")")
	case o.scan != nil:
		fmt.Fprintf(&b, "scan elements %q", o.scan)
	default:
		fmt.Fprintf(&b, "%q", o.reply.Raw)
	}
	if o.peer != "" {
		b.WriteString(" connection " + string(o.peer))
	}
	return b.String()
}

// Run plays script and compares every step. It returns an error only when the
// harness itself cannot go on (a server unreachable).
func (r *Runner) Run(ctx context.Context, script *Script) (*Report, error) {
	a, b := newSide(r.A), newSide(r.B)
	defer a.close()
	defer b.close()
	rep := &Report{File: script.Name}
	for _, st := range script.Steps {
		switch st.Kind {
		case KindSleep:
			select {
			case <-time.After(st.Sleep):
			case <-ctx.Done():
				return rep, ctx.Err()
			}
			continue
		case KindConn:
			a.cur, b.cur = st.Conn, st.Conn
			continue
		}
		oa, err := a.play(ctx, st)
		if err != nil {
			return rep, fmt.Errorf("%s:%d on %s: %w", script.Name, st.Line, r.A.Name, err)
		}
		ob, err := b.play(ctx, st)
		if err != nil {
			return rep, fmt.Errorf("%s:%d on %s: %w", script.Name, st.Line, r.B.Name, err)
		}
		if r.Trace != nil {
			r.Trace(fmt.Sprintf("%s:%d: %s\n\tA: %s\n\tB: %s", script.Name, st.Line, st.Text,
				clip(oa.String()), clip(ob.String())))
		}
		if st.SkipEngine != "" && r.SkipEngine {
			rep.Skipped = append(rep.Skipped, Skipped{Step: st, Reason: st.SkipEngine})
			continue
		}
		rep.Compared++
		if same(st, oa, ob) {
			rep.Identical++
			continue
		}
		rep.Mismatches = append(rep.Mismatches, Mismatch{Step: st, A: oa.String(), B: ob.String()})
	}
	return rep, nil
}

// play runs one sending step on one server.
func (s *side) play(ctx context.Context, st Step) (outcome, error) {
	c, err := s.conn(ctx)
	if err != nil {
		return outcome{}, err
	}
	switch {
	case st.Kind == KindRead:
		return s.read(ctx, c), nil
	case st.Kind == KindSend:
		if err := c.Send(ctx, EncodeCommand(st.Args)); err != nil {
			s.drop()
			return outcome{fail: classify(err)}, nil
		}
		return outcome{reply: &Reply{Raw: []byte("(sent)"), Type: '+'}}, nil
	case st.Kind == KindRaw:
		if err := c.Send(ctx, st.Raw); err != nil {
			s.drop()
			return outcome{fail: classify(err)}, nil
		}
		return s.rawReplies(ctx, c), nil
	case st.Kind == KindInline:
		if err := c.Send(ctx, st.Raw); err != nil {
			s.drop()
			return outcome{fail: classify(err)}, nil
		}
		return s.read(ctx, c), nil
	case st.Compare == CompareScanAll:
		return s.scanAll(ctx, c, st.Args), nil
	}
	if err := c.Send(ctx, EncodeCommand(st.Args)); err != nil {
		s.drop()
		return outcome{fail: classify(err)}, nil
	}
	o := s.read(ctx, c)
	if o.fail == "" && strings.EqualFold(string(st.Args[0]), "quit") {
		s.watchClose(c, &o)
	}
	return o, nil
}

// rawReplies reads every reply that arrives after !raw bytes (none, one, or
// several for pipelined requests), then notes whether the server hung up.
// The replies are compared as one concatenated byte string.
func (s *side) rawReplies(ctx context.Context, c *Conn) outcome {
	var all []byte
	wait := rawReplyWait
	for {
		rctx, cancel := context.WithTimeout(ctx, wait)
		rp, err := c.Read(rctx)
		cancel()
		if err != nil {
			o := outcome{fail: "no reply"}
			if all != nil {
				o = outcome{reply: &Reply{Raw: all, Type: all[0]}}
			}
			switch f := classify(err); f {
			case "no reply":
				o.peer = PeerOpen
			case "connection closed":
				o.peer = PeerClosed
				s.drop()
			default:
				o.fail, o.peer = f, PeerClosed
				s.drop()
			}
			return o
		}
		all = append(all, rp.Raw...)
		wait = closeWait
	}
}

// read reads one reply; on failure the connection is dropped so that the next
// step redials.
func (s *side) read(ctx context.Context, c *Conn) outcome {
	rp, err := c.Read(ctx)
	if err != nil {
		s.drop()
		return outcome{fail: classify(err)}
	}
	return outcome{reply: &rp}
}

func (s *side) watchClose(c *Conn, o *outcome) {
	if s.conns[s.cur] != c {
		o.peer = PeerClosed
		return
	}
	st, err := c.CheckClosed(closeWait)
	if err != nil {
		st = PeerState("error: " + err.Error())
	}
	o.peer = st
	if st != PeerOpen {
		s.drop()
	}
}

// scanAll follows a SCAN-family cursor until it returns to 0.
func (s *side) scanAll(ctx context.Context, c *Conn, args [][]byte) outcome {
	idx, _ := cursorIndex(args)
	args = slices.Clone(args)
	set := []string{}
	for range maxScanRounds {
		rp, err := c.Do(ctx, args...)
		if err != nil {
			s.drop()
			return outcome{fail: classify(err)}
		}
		if rp.Type != '*' || len(rp.Elems) != 2 || rp.Elems[0].Type != '$' || !rp.Elems[1].IsAggregate() {
			// An error or an odd shape: compare it as it is.
			return outcome{reply: &rp}
		}
		for _, e := range rp.Elems[1].Elems {
			set = append(set, string(e.Raw))
		}
		if rp.Elems[0].Str == "0" {
			slices.Sort(set)
			return outcome{scan: set}
		}
		args[idx] = []byte(rp.Elems[0].Str)
	}
	return outcome{fail: fmt.Sprintf("cursor not back to 0 after %d rounds", maxScanRounds)}
}

// classify turns a read or write failure into a short, comparable text.
func classify(err error) string {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return "no reply"
	case errors.Is(err, io.EOF), isReset(err), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.Is(err, errProtocol):
		return "invalid resp: " + err.Error()
	}
	return err.Error()
}

// same compares two outcomes under the step's mode.
func same(st Step, a, b outcome) bool {
	if a.peer != b.peer || a.fail != b.fail {
		return false
	}
	if a.fail != "" {
		return true
	}
	if a.scan != nil || b.scan != nil {
		return a.scan != nil && b.scan != nil && slices.Equal(a.scan, b.scan)
	}
	ra, rb := a.reply, b.reply
	switch st.Compare {
	case CompareType:
		return ra.Type == rb.Type
	case CompareApprox:
		if ra.Type == ':' && rb.Type == ':' {
			d := ra.Int - rb.Int
			return d <= st.Tolerance && -d <= st.Tolerance
		}
	case CompareSorted:
		if ra.IsAggregate() && rb.IsAggregate() && ra.Type == rb.Type {
			return slices.Equal(multiset(*ra), multiset(*rb))
		}
	}
	return bytes.Equal(ra.Raw, rb.Raw)
}

// multiset returns the sorted raw elements of an aggregate; map entries are
// kept as key+value pairs.
func multiset(r Reply) []string {
	step := 1
	if r.Type == '%' {
		step = 2
	}
	out := make([]string, 0, len(r.Elems)/step)
	for i := 0; i+step <= len(r.Elems); i += step {
		var b []byte
		for _, e := range r.Elems[i : i+step] {
			b = append(b, e.Raw...)
		}
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

// Summary renders the totals of several reports in one line plus one line per
// skipped step.
func Summary(reports []*Report) string {
	var compared, identical, skipped int
	var lines []string
	for _, r := range reports {
		compared += r.Compared
		identical += r.Identical
		skipped += len(r.Skipped)
		for _, s := range r.Skipped {
			lines = append(lines, fmt.Sprintf("  skipped %s:%d %s (%s)", r.File, s.Step.Line, s.Step.Text, s.Reason))
		}
	}
	head := strconv.Itoa(compared) + " commands compared, " + strconv.Itoa(identical) +
		" identical, " + strconv.Itoa(skipped) + " skipped"
	return strings.Join(append([]string{head}, lines...), "\n")
}

// clip shortens long trace lines.
func clip(s string) string {
	const limit = 240
	if len(s) <= limit {
		return s
	}
	return s[:limit] + fmt.Sprintf("...(%d bytes)", len(s))
}
