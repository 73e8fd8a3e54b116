package lab

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procID names a process without being fooled by pid reuse: the pid and
// its start time in clock ticks since boot (/proc/PID/stat field 22).
type procID struct {
	Pid   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// procStat is what we read from /proc/PID/stat.
type procStat struct {
	state byte
	pgrp  int
	start uint64
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(string(b))
}

// parseProcStat parses a /proc/PID/stat line; the command name may hold
// spaces and parentheses, so fields are counted after the last ')'.
func parseProcStat(s string) (procStat, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("malformed stat line")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("malformed stat line: %d fields", len(f)+2)
	}
	pgrp, err1 := strconv.Atoi(f[2])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("malformed stat line")
	}
	return procStat{state: f[0][0], pgrp: pgrp, start: start}, nil
}

// identify returns the procID of a live pid.
func identify(pid int) (procID, error) {
	st, err := readProcStat(pid)
	if err != nil {
		return procID{}, fmt.Errorf("identify pid %d: %w", pid, err)
	}
	return procID{Pid: pid, Start: st.start}, nil
}

// alive reports whether the process is still the one recorded and not a
// zombie.
func (p procID) alive() bool {
	if p.Pid <= 0 {
		return false
	}
	st, err := readProcStat(p.Pid)
	return err == nil && st.start == p.Start && st.state != 'Z' && st.state != 'X'
}

// groupMembers lists the live processes of process group p.Pid that
// started no earlier than p (a session leader's group outlives it; a
// recycled group id would belong to a younger leader, whose processes are
// not ours only if they are older than p, which cannot be).
func groupMembers(p procID) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil || st.pgrp != p.Pid || st.start < p.Start || st.state == 'Z' || st.state == 'X' {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// signalGroup sends sig to every live member of group p.
func signalGroup(p procID, sig syscall.Signal) {
	for _, pid := range groupMembers(p) {
		syscall.Kill(pid, sig)
	}
}

// stopGroup sends SIGTERM to group p, waits up to grace for it to be gone,
// then sends SIGKILL and waits again.
func stopGroup(ctx context.Context, p procID, grace time.Duration) error {
	if len(groupMembers(p)) == 0 {
		return nil
	}
	signalGroup(p, syscall.SIGTERM)
	if waitGroupGone(ctx, p, grace) {
		return nil
	}
	return killGroup(ctx, p)
}

// killGroup sends SIGKILL to group p and waits until it is gone.
func killGroup(ctx context.Context, p procID) error {
	signalGroup(p, syscall.SIGKILL)
	if !waitGroupGone(ctx, p, 5*time.Second) {
		return fmt.Errorf("process group %d survived SIGKILL: %v", p.Pid, groupMembers(p))
	}
	return nil
}

func waitGroupGone(ctx context.Context, p procID, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if len(groupMembers(p)) == 0 {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
