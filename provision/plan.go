package provision

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hactl/hactl/templates"
)

// FileState is what a probe saw of one file or directory.
type FileState struct {
	SHA256  string
	Mode    fs.FileMode
	Owner   string
	Managed bool // starts with templates.Header
	IsDir   bool
	// Content is the file's content, for files probed with runtime
	// directives (small configs); nil otherwise.
	Content []byte
}

// HostState is what a probe saw of one host.
type HostState struct {
	Arch     string
	Files    map[string]FileState // present files and directories; absent means missing
	User     bool                 // the service user exists
	Commands map[string]bool      // installed programs
	Active   map[string]bool      // running services
	Enabled  map[string]bool      // services enabled at boot
}

// ParseProbe reads the output of ProbeCmd.
func ParseProbe(out []byte) (HostState, error) {
	st := HostState{Files: map[string]FileState{}, Commands: map[string]bool{}, Active: map[string]bool{}, Enabled: map[string]bool{}}
	for i, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		f := strings.Split(line, "\t")
		bad := func() error { return fmt.Errorf("probe output line %d: unexpected %q", i+1, line) }
		need := map[string]int{"A": 2, "F": 7, "M": 2, "D": 4, "U": 3, "P": 3, "S": 4}[f[0]]
		if need == 0 || len(f) != need {
			return st, bad()
		}
		switch f[0] {
		case "A":
			st.Arch = f[1]
		case "F", "D":
			mode, err := strconv.ParseUint(f[len(f)-2-2*btoi(f[0] == "F")], 8, 32)
			if err != nil {
				return st, bad()
			}
			if f[0] == "F" {
				fst := FileState{SHA256: f[2], Mode: fs.FileMode(mode), Owner: f[4], Managed: f[5] == "1"}
				if f[6] != "-" {
					c, err := base64.StdEncoding.DecodeString(f[6])
					if err != nil {
						return st, bad()
					}
					fst.Content = c
				}
				st.Files[f[1]] = fst
			} else {
				st.Files[f[1]] = FileState{Mode: fs.FileMode(mode), Owner: f[3], IsDir: true}
			}
		case "M":
		case "U":
			st.User = f[2] == "1"
		case "P":
			st.Commands[f[1]] = f[2] == "1"
		case "S":
			st.Active[f[1]], st.Enabled[f[1]] = f[2] == "1", f[3] == "1"
		}
	}
	return st, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Step is one change on one host. Steps are built by PlanHost and run by
// Apply; --dry-run prints them.
type Step struct {
	Host   string `json:"host"`
	Phase  Phase  `json:"-"`
	Kind   string `json:"kind"`   // user, package, dir, binary, file, daemon-reload, sysctl, enable, restart
	Target string `json:"target"` // path, user, package or service
	Reason string `json:"reason"` // why it would change
	// Tolerate reports a failure as "not applicable" instead of failing
	// (sysctl inside a container).
	Tolerate bool   `json:"-"`
	Cmd      string `json:"-"`
	Stdin    []byte `json:"-"` // file contents, may hold secrets: never printed
	Service  string `json:"-"` // the service a restart step restarts
	// Do runs the step instead of Cmd when set (a Processes-mode restart
	// through the layout's ProcessManager).
	Do func(context.Context) error `json:"-"`
}

// PlanHost compares a host spec with what the probe saw and returns the
// steps that would change the host, in execution order. It is pure.
func PlanHost(spec HostSpec, st HostState) []Step {
	var steps []Step
	add := func(s Step) {
		s.Host = spec.Name
		steps = append(steps, s)
	}
	var missing []string
	for _, c := range spec.Commands {
		if !st.Commands[c] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		add(Step{Kind: "package", Target: strings.Join(spec.Packages, " "), Reason: "missing " + strings.Join(missing, ", "), Cmd: PackageCmd(spec.Packages)})
	}
	if spec.User != "" && !st.User {
		add(Step{Kind: "user", Target: spec.User, Reason: "missing", Cmd: UserCmd(spec.User, "/var/lib/"+spec.User)})
	}
	for _, d := range spec.Dirs {
		if r := diff(st.Files[d.Path], d.Mode, d.Owner, ""); r != "" {
			add(Step{Kind: "dir", Target: d.Path, Reason: r, Cmd: MkdirCmd(d.Path, d.Mode, d.Owner)})
		}
	}
	changed := map[string]bool{}
	for _, b := range spec.Binaries {
		if r := diff(st.Files[b.Path], 0o755, "", b.SHA256()); r != "" {
			changed[b.Path] = true
			add(Step{Kind: "binary", Target: b.Path, Reason: r, Cmd: WriteFileCmd(b.Path, 0o755, ""), Stdin: b.Content})
		}
	}
	// Files: a file that differs only in the lines its service rewrites at
	// runtime (replicaof after a failover) is the service's business while
	// it runs; it is rewritten only when the service restarts anyway.
	var fileSteps []Step
	var runtimeOnly []templates.File
	reload := false
	for _, f := range spec.Files {
		cur, ok := st.Files[f.Path]
		if f.Seed && ok && cur.Managed {
			continue // the service owns it now (redis-sentinel's state)
		}
		r := diff(cur, f.Mode, f.Owner, sha256Hex(f.Content))
		if r == "" {
			continue
		}
		if len(f.Runtime) > 0 && cur.Content != nil && RuntimeDigest(cur.Content, f.Runtime) == RuntimeDigest(f.Content, f.Runtime) {
			runtimeOnly = append(runtimeOnly, f)
			continue
		}
		changed[f.Path] = true
		reload = reload || strings.HasPrefix(f.Path, spec.Layout.Path("/etc/systemd/"))
		fileSteps = append(fileSteps, fileStep(f, r))
	}
	var restarts []Step
	restarting := map[string]bool{}
	for _, s := range spec.Services {
		reason := ""
		if !st.Active[s.Name] {
			reason = "not running"
		}
		for _, t := range s.Triggers {
			if changed[t] && reason == "" {
				reason = "changed " + t
			}
		}
		if reason != "" {
			for _, t := range s.Triggers {
				restarting[t] = true
			}
			restarts = append(restarts, Step{Phase: s.Phase, Kind: "restart", Target: s.Name, Reason: reason,
				Cmd: spec.Layout.RestartCmd(s), Do: spec.Layout.RestartFunc(s), Service: s.Name})
		}
	}
	for _, f := range runtimeOnly {
		cur := st.Files[f.Path]
		switch r := permDiff(cur, f.Mode, f.Owner); {
		case restarting[f.Path]:
			fileSteps = append(fileSteps, fileStep(f, "runtime lines differ and the service restarts"))
		case r != "":
			// The service rewrote it with its own mode (redis-server:
			// 0644 less its umask): fix that alone, no restart needed.
			fileSteps = append(fileSteps, Step{Kind: "chmod", Target: f.Path, Reason: r, Cmd: ChmodCmd(f.Path, f.Mode, f.Owner)})
		}
	}
	for _, s := range fileSteps {
		add(s)
	}
	if reload && spec.Layout.DaemonReloadCmd() != "" {
		add(Step{Kind: "daemon-reload", Target: "systemd", Reason: "units changed", Cmd: spec.Layout.DaemonReloadCmd()})
	}
	if spec.Sysctl != "" && changed[spec.Sysctl] {
		add(Step{Kind: "sysctl", Target: spec.Sysctl, Reason: "drop-in changed", Cmd: SysctlCmd(spec.Sysctl), Tolerate: true})
	}
	for _, s := range spec.Services {
		if cmd := spec.Layout.EnableCmd(s); cmd != "" && !st.Enabled[s.Name] {
			add(Step{Kind: "enable", Target: s.Name, Reason: "not enabled", Cmd: cmd})
		}
	}
	for _, r := range restarts {
		add(r)
	}
	return steps
}

// fileStep writes f.
func fileStep(f templates.File, reason string) Step {
	return Step{Kind: "file", Target: f.Path, Reason: reason, Cmd: WriteFileCmd(f.Path, f.Mode, f.Owner), Stdin: f.Content}
}

// diff says why a path does not match the wanted mode, owner and content
// (sha == "" for a directory), or "" when it matches.
func diff(cur FileState, mode fs.FileMode, owner, sha string) string {
	switch {
	case cur.SHA256 == "" && cur.Mode == 0 && cur.Owner == "" && !cur.IsDir:
		return "missing"
	case sha != "" && cur.SHA256 != sha:
		return "content differs"
	}
	return permDiff(cur, mode, owner)
}

// permDiff says why a present path does not have the wanted mode and
// owner, or "" when it has.
func permDiff(cur FileState, mode fs.FileMode, owner string) string {
	switch {
	case cur.Mode.Perm() != mode.Perm():
		return fmt.Sprintf("mode %04o, want %04o", cur.Mode.Perm(), mode.Perm())
	case owner != "" && cur.Owner != owner:
		return fmt.Sprintf("owner %s, want %s", cur.Owner, owner)
	}
	return ""
}

// Target is one host to provision: its spec and how to reach it.
type Target struct {
	Spec      HostSpec
	Transport Transport
}

// HostPlan is the planned steps of one host, with what its probe saw.
type HostPlan struct {
	Host  string
	State HostState
	Steps []Step
	Err   error // the probe failed: no steps
}

// Plan probes every host in parallel (read only) and plans its steps.
func Plan(ctx context.Context, targets []Target) []HostPlan {
	return planAll(ctx, targets, PlanHost)
}

// planAll probes every host in parallel and plans its steps with plan.
func planAll(ctx context.Context, targets []Target, plan func(HostSpec, HostState) []Step) []HostPlan {
	plans := make([]HostPlan, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			hp := HostPlan{Host: t.Spec.Name}
			var err error
			if hp.State, err = probeHost(ctx, t); err != nil {
				hp.Err = err
			} else {
				hp.Steps = plan(t.Spec, hp.State)
			}
			plans[i] = hp
		})
	}
	wg.Wait()
	return plans
}

// probeHost runs the probe of a host spec and parses it; in Processes
// mode it asks the layout's manager which services run.
func probeHost(ctx context.Context, t Target) (HostState, error) {
	s := t.Spec
	var files []ProbeFile
	var dirs []string
	for _, d := range s.Dirs {
		dirs = append(dirs, d.Path)
	}
	for _, b := range s.Binaries {
		files = append(files, ProbeFile{Path: b.Path})
	}
	for _, f := range s.Files {
		files = append(files, ProbeFile{Path: f.Path, Runtime: f.Runtime})
	}
	res, err := t.Transport.Run(ctx, ProbeCmd(s.Layout, files, dirs, s.User, s.Commands, s.Services, templates.Header), nil)
	if err != nil {
		return HostState{}, fmt.Errorf("probe: %w", err)
	}
	st, err := ParseProbe(res.Stdout)
	if err != nil {
		return st, fmt.Errorf("%s: %w", s.Name, err)
	}
	if s.Layout.Services == Processes {
		if st.Active, err = s.Layout.running(ctx, s.Services); err != nil {
			return st, fmt.Errorf("%s: probe services: %w", s.Name, err)
		}
	}
	return st, nil
}

// Status of one executed step.
const (
	StatusChanged       = "changed"
	StatusFailed        = "failed"
	StatusNotApplicable = "not-applicable"
	StatusSkipped       = "skipped" // an earlier step of the host failed
)

// StepResult is one executed step.
type StepResult struct {
	Step
	Status   string        `json:"status"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Waiter checks that a restarted service answers as expected (the engine
// answers PING with the expected role...). It may be nil.
type Waiter func(ctx context.Context, host, service string) error

// Progress receives each step as it finishes; it is called from several
// goroutines during the prepare phase, never concurrently for one host.
type Progress func(StepResult)

// Apply runs the planned steps: every host's prepare steps in parallel,
// then each later phase host by host in the plans' order (put the master
// first). A host whose step fails runs no further step; other hosts go on.
// It returns every result and the joined errors.
func Apply(ctx context.Context, plans []HostPlan, transports map[string]Transport, wait Waiter, progress Progress) ([]StepResult, error) {
	var (
		mu      sync.Mutex
		results []StepResult
		errs    []error
		failed  = map[string]bool{}
	)
	run := func(s Step) {
		mu.Lock()
		skip := failed[s.Host]
		mu.Unlock()
		r := StepResult{Step: s, Status: StatusChanged}
		start := time.Now()
		var err error
		if skip {
			r.Status = StatusSkipped
		} else {
			if s.Do != nil {
				err = s.Do(ctx)
			} else {
				_, err = transports[s.Host].Run(ctx, s.Cmd, stdinOf(s))
			}
			if err == nil && s.Kind == "restart" && wait != nil {
				err = wait(ctx, s.Host, s.Service)
			}
		}
		r.Duration = time.Since(start)
		switch {
		case err != nil && s.Tolerate:
			r.Status, r.Error = StatusNotApplicable, err.Error()
		case err != nil:
			r.Status, r.Error = StatusFailed, err.Error()
		}
		mu.Lock()
		results = append(results, r)
		if r.Status == StatusFailed {
			failed[s.Host] = true
			errs = append(errs, fmt.Errorf("%s: %s %s: %w", s.Host, s.Kind, s.Target, err))
		}
		mu.Unlock()
		if progress != nil {
			progress(r)
		}
	}
	var wg sync.WaitGroup
	for _, hp := range plans {
		if hp.Err != nil {
			mu.Lock()
			failed[hp.Host] = true
			errs = append(errs, hp.Err)
			mu.Unlock()
			continue
		}
		wg.Go(func() {
			for _, s := range hp.Steps {
				if s.Phase == PhasePrepare {
					run(s)
				}
			}
		})
	}
	wg.Wait()
	for ph := PhaseMaster; ph <= PhaseHAProxy; ph++ {
		for _, hp := range plans {
			for _, s := range hp.Steps {
				if s.Phase == ph {
					run(s)
				}
			}
		}
	}
	return results, errors.Join(errs...)
}

// stdinOf returns the step's stdin, or nil when it has none.
func stdinOf(s Step) []byte {
	if s.Stdin == nil {
		return nil
	}
	return bytes.Clone(s.Stdin)
}
