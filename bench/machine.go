package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// DescribeMachine fills a Machine from /proc/cpuinfo, the running Go
// toolchain and `redisServer --version`. Fields it cannot read say
// "unknown"; engine is copied as is.
func DescribeMachine(ctx context.Context, redisServer, engine string) Machine {
	return Machine{
		CPUs:         runtime.NumCPU(),
		CPUModel:     cpuModel(),
		GoVersion:    runtime.Version(),
		RedisVersion: commandLine(ctx, redisServer, "--version"),
		Engine:       engine,
		Date:         time.Now(),
		LoadStart:    LoadAverage(),
	}
}

// LoadAverage returns the first three fields of /proc/loadavg
// ("1.33 1.40 1.25"), or "unknown".
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// commandLine runs name with args (for at most 10 s) and returns the first
// line of its output, or "unknown".
func commandLine(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return firstLine(out)
}

// GitRevision returns the short commit of HEAD in dir, followed by
// "(with uncommitted or untracked files)" when `git status --porcelain`
// lists anything: a binary built from that tree may differ from the commit.
// It returns "unknown" outside a git checkout.
func GitRevision(ctx context.Context, dir string) string {
	rev := commandLine(ctx, "git", "-C", dir, "rev-parse", "--short", "HEAD")
	if rev == "unknown" {
		return rev
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain").Output()
	switch {
	case err != nil:
		return rev + " (status unknown)"
	case len(out) > 0:
		return rev + " (with uncommitted or untracked files)"
	}
	return rev
}

// BuildEngine runs `go build -o OUT PKG` in dir, with output to the
// caller's stderr, for at most timeout.
func BuildEngine(ctx context.Context, dir, pkg, out string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}
