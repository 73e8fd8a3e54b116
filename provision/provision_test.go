package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hactl/hactl/templates"
)

func TestQuote(t *testing.T) {
	tests := map[string]string{
		"/etc/hactl/engine.conf": "/etc/hactl/engine.conf",
		"":                       "''",
		"a b":                    "'a b'",
		"it's":                   `'it'\''s'`,
		"$(rm -rf /)":            "'$(rm -rf /)'",
	}
	for in, want := range tests {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestBuilders(t *testing.T) {
	tests := []struct{ name, got, want string }{
		{"write", WriteFileCmd("/etc/hactl/engine.conf", 0o600, "hactl:hactl"),
			"set -e\nmkdir -p /etc/hactl\numask 077\ncat > /etc/hactl/engine.conf.hactl-tmp\nchmod 0600 /etc/hactl/engine.conf.hactl-tmp\n" +
				"chown hactl:hactl /etc/hactl/engine.conf.hactl-tmp\nmv -f /etc/hactl/engine.conf.hactl-tmp /etc/hactl/engine.conf"},
		{"write no owner", WriteFileCmd("/r/a b", 0o644, ""),
			"set -e\nmkdir -p /r\numask 077\ncat > '/r/a b.hactl-tmp'\nchmod 0644 '/r/a b.hactl-tmp'\nmv -f '/r/a b.hactl-tmp' '/r/a b'"},
		{"chmod", ChmodCmd("/etc/redis/redis.conf", 0o600, "redis:redis"), "chmod 0600 /etc/redis/redis.conf && chown redis:redis /etc/redis/redis.conf"},
		{"mkdir", MkdirCmd("/var/lib/hactl/engine", 0o700, "hactl:hactl"),
			"mkdir -p /var/lib/hactl/engine && chmod 0700 /var/lib/hactl/engine && chown hactl:hactl /var/lib/hactl/engine"},
		{"user", UserCmd("hactl", "/var/lib/hactl"),
			"id -u hactl >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /var/lib/hactl --shell /usr/sbin/nologin hactl"},
		{"package", PackageCmd([]string{"redis-server", "redis-sentinel"}),
			"DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server redis-sentinel"},
		{"systemd restart", Layout{Services: Systemd}.RestartCmd(Service{Name: "hactl-engine"}), "systemctl restart hactl-engine"},
		{"process restart is a function", Layout{Root: "/lab/db01", Services: Processes}.RestartCmd(Service{Name: "redis-server"}), ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tt.name, tt.got, tt.want)
		}
	}
}

// TestProbeLocal runs the probe through the local transport on real files
// and parses it.
func TestProbeLocal(t *testing.T) {
	dir := t.TempDir()
	managed := filepath.Join(dir, "managed.conf")
	other := filepath.Join(dir, "other.conf")
	os.WriteFile(managed, []byte(templates.Header+" for host x\n"), 0o600)
	os.WriteFile(other, []byte("hello\n"), 0o644)
	l := Layout{Root: dir, Services: Systemd}
	files := []ProbeFile{{Path: managed}, {Path: other, Runtime: []string{"replicaof"}}, {Path: filepath.Join(dir, "missing")}}
	cmd := ProbeCmd(l, files, []string{dir, filepath.Join(dir, "nodir")}, "root",
		[]string{"sh", "no-such-command-hactl"}, []Service{{Name: "svc"}}, templates.Header)
	res, err := (&Local{Host: "h"}).Run(context.Background(), cmd, nil)
	if err != nil {
		t.Fatalf("probe: %v\n%s", err, res.Stderr)
	}
	st, err := ParseProbe(res.Stdout)
	if err != nil {
		t.Fatal(err)
	}
	if st.Arch == "" || !st.User || !st.Commands["sh"] || st.Commands["no-such-command-hactl"] || st.Active["svc"] {
		t.Errorf("state = %+v", st)
	}
	if f := st.Files[managed]; !f.Managed || f.Mode != 0o600 || f.SHA256 != sha256Hex([]byte(templates.Header+" for host x\n")) {
		t.Errorf("managed = %+v", f)
	}
	if f := st.Files[managed]; f.Content != nil {
		t.Errorf("managed content shipped without runtime directives: %q", f.Content)
	}
	if f := st.Files[other]; f.Managed || f.Mode != 0o644 || string(f.Content) != "hello\n" {
		t.Errorf("other = %+v", f)
	}
	if _, ok := st.Files[filepath.Join(dir, "missing")]; ok {
		t.Error("missing file reported present")
	}
	if f := st.Files[dir]; !f.IsDir {
		t.Errorf("dir = %+v", f)
	}
}

func TestParseProbeErrors(t *testing.T) {
	for _, in := range []string{"X\tfoo", "F\t/a\tsha", "D\t/a\tnotoctal\troot:root", "F\t/a\tsha\t600\tr:r\t1\t!notbase64"} {
		if _, err := ParseProbe([]byte(in)); err == nil {
			t.Errorf("ParseProbe(%q) succeeded", in)
		}
	}
}

func TestLocalResultOnFailure(t *testing.T) {
	res, err := (&Local{Host: "db01"}).Run(context.Background(), "echo out; echo oops >&2; exit 3", nil)
	var re *RemoteError
	if !errors.As(err, &re) || re.ExitCode != 3 || re.Host != "db01" {
		t.Fatalf("err = %v", err)
	}
	if string(res.Stdout) != "out\n" || string(res.Stderr) != "oops\n" || res.ExitCode != 3 {
		t.Errorf("res = %+v", res)
	}
	if want := "db01: echo out; echo oops >&2; exit 3: exit status 3: oops"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	res, err = (&Local{}).Run(context.Background(), "cat", []byte("secret"))
	if err != nil || string(res.Stdout) != "secret" {
		t.Errorf("stdin: %q %v", res.Stdout, err)
	}
}

func testSpec() HostSpec {
	l := Layout{Services: Systemd}
	return HostSpec{
		Name: "db01", Layout: l, User: "hactl",
		Dirs:     []Dir{{"/var/lib/hactl/engine", 0o700, "hactl:hactl"}},
		Binaries: []Binary{{Path: "/usr/local/bin/hactl-engine", Content: []byte("ELF")}},
		Files: []templates.File{
			{Path: "/etc/hactl/engine.conf", Mode: 0o600, Owner: "hactl:hactl", Content: []byte("port 6379\n"), Runtime: []string{"replicaof"}},
			{Path: "/etc/systemd/system/hactl-engine.service", Mode: 0o644, Owner: "root:root", Content: []byte("[Unit]\n")},
			{Path: "/etc/redis/sentinel.conf", Mode: 0o600, Owner: "redis:redis", Content: []byte("# Managed by hactl\n"), Seed: true},
		},
		Sysctl: "/etc/sysctl.d/60-hactl.conf",
		Services: []Service{{Name: "hactl-engine", Phase: PhaseMaster,
			Triggers: []string{"/usr/local/bin/hactl-engine", "/etc/hactl/engine.conf", "/etc/systemd/system/hactl-engine.service"}}},
	}
}

// converged is the state of a host where testSpec is fully applied.
func converged(s HostSpec) HostState {
	st := HostState{Files: map[string]FileState{}, User: true, Active: map[string]bool{}, Enabled: map[string]bool{}}
	for _, d := range s.Dirs {
		st.Files[d.Path] = FileState{Mode: d.Mode, Owner: d.Owner, IsDir: true}
	}
	for _, b := range s.Binaries {
		st.Files[b.Path] = FileState{SHA256: b.SHA256(), Mode: 0o755, Owner: "root:root"}
	}
	for _, f := range s.Files {
		st.Files[f.Path] = FileState{SHA256: sha256Hex(f.Content), Mode: f.Mode, Owner: f.Owner, Managed: true}
	}
	for _, sv := range s.Services {
		st.Active[sv.Name], st.Enabled[sv.Name] = true, true
	}
	return st
}

// rewritten is testSpec's engine.conf after a sentinel's REPLICAOF and
// CONFIG REWRITE.
var rewritten = []byte("# a comment\nPORT \"6379\"\n\n# Generated by CONFIG REWRITE\nreplicaof 10.0.0.2 6379\n")

func TestRuntimeDigest(t *testing.T) {
	rt := []string{"replicaof", "slaveof"}
	base := RuntimeDigest([]byte("# Managed by hactl\nbind 127.0.0.1\ndir /var/lib/x\nrequirepass p\nreplicaof 10.0.0.1 6379\n"), rt)
	tests := []struct {
		name    string
		content string
		same    bool
	}{
		{"rewritten by CONFIG REWRITE", "# Managed by hactl\nbind 127.0.0.1\ndir \"/var/lib/x\"\nrequirepass \"p\"\n\n# Generated by CONFIG REWRITE\nslaveof 10.0.0.3 6379\n", true},
		{"now a master", "bind 127.0.0.1\n  dir   /var/lib/x\nrequirepass p", true},
		{"another password", "bind 127.0.0.1\ndir /var/lib/x\nrequirepass q\n", false},
		{"a directive more", "bind 127.0.0.1\ndir /var/lib/x\nrequirepass p\nmaxmemory 1mb\n", false},
		{"order changed", "dir /var/lib/x\nbind 127.0.0.1\nrequirepass p\n", false},
		{"unbalanced quotes", "bind 127.0.0.1\ndir \"/var/lib/x\nrequirepass p\n", false},
	}
	for _, tt := range tests {
		if got := RuntimeDigest([]byte(tt.content), rt) == base; got != tt.same {
			t.Errorf("%s: same digest = %v, want %v", tt.name, got, tt.same)
		}
	}
}

func TestPlanHost(t *testing.T) {
	spec := testSpec()
	tests := []struct {
		name string
		edit func(*HostState)
		want []string // kind target reason
	}{
		{"converged", func(*HostState) {}, nil},
		{"fresh host", func(st *HostState) { *st = HostState{} }, []string{
			"user hactl missing", "dir /var/lib/hactl/engine missing", "binary /usr/local/bin/hactl-engine missing",
			"file /etc/hactl/engine.conf missing", "file /etc/systemd/system/hactl-engine.service missing",
			"file /etc/redis/sentinel.conf missing", "daemon-reload systemd units changed",
			"enable hactl-engine not enabled", "restart hactl-engine not running"}},
		{"config changed", func(st *HostState) {
			st.Files["/etc/hactl/engine.conf"] = FileState{SHA256: "x", Mode: 0o600, Owner: "hactl:hactl"}
		},
			[]string{"file /etc/hactl/engine.conf content differs", "restart hactl-engine changed /etc/hactl/engine.conf"}},
		{"mode changed", func(st *HostState) {
			st.Files["/etc/hactl/engine.conf"] = FileState{SHA256: sha256Hex([]byte("port 6379\n")), Mode: 0o644, Owner: "hactl:hactl"}
		},
			[]string{"file /etc/hactl/engine.conf mode 0644, want 0600", "restart hactl-engine changed /etc/hactl/engine.conf"}},
		{"binary changed", func(st *HostState) { st.Files["/usr/local/bin/hactl-engine"] = FileState{SHA256: "old", Mode: 0o755} },
			[]string{"binary /usr/local/bin/hactl-engine content differs", "restart hactl-engine changed /usr/local/bin/hactl-engine"}},
		{"seed file rewritten by the service is kept", func(st *HostState) {
			st.Files["/etc/redis/sentinel.conf"] = FileState{SHA256: "runtime", Mode: 0o600, Owner: "redis:redis", Managed: true}
		}, nil},
		{"seed file not ours is replaced", func(st *HostState) {
			st.Files["/etc/redis/sentinel.conf"] = FileState{SHA256: "pkg", Mode: 0o640, Owner: "redis:redis"}
		}, []string{"file /etc/redis/sentinel.conf content differs"}},
		{"stopped", func(st *HostState) { st.Active["hactl-engine"] = false }, []string{"restart hactl-engine not running"}},
		{"replicaof rewritten by the running engine is kept", func(st *HostState) {
			st.Files["/etc/hactl/engine.conf"] = FileState{SHA256: "x", Mode: 0o600, Owner: "hactl:hactl", Content: rewritten}
		}, nil},
		{"replicaof rewritten, engine down: file rewritten before the restart", func(st *HostState) {
			st.Files["/etc/hactl/engine.conf"] = FileState{SHA256: "x", Mode: 0o600, Owner: "hactl:hactl", Content: rewritten}
			st.Active["hactl-engine"] = false
		}, []string{"file /etc/hactl/engine.conf runtime lines differ and the service restarts", "restart hactl-engine not running"}},
		{"replicaof rewritten, binary changed: file rewritten too", func(st *HostState) {
			st.Files["/etc/hactl/engine.conf"] = FileState{SHA256: "x", Mode: 0o600, Owner: "hactl:hactl", Content: rewritten}
			st.Files["/usr/local/bin/hactl-engine"] = FileState{SHA256: "old", Mode: 0o755}
		}, []string{"binary /usr/local/bin/hactl-engine content differs", "file /etc/hactl/engine.conf runtime lines differ and the service restarts",
			"restart hactl-engine changed /usr/local/bin/hactl-engine"}},
		{"rewritten by the engine with its own mode: chmod, no restart", func(st *HostState) {
			st.Files["/etc/hactl/engine.conf"] = FileState{SHA256: "x", Mode: 0o644, Owner: "hactl:hactl", Content: rewritten}
		}, []string{"chmod /etc/hactl/engine.conf mode 0644, want 0600"}},
		{"a real change beside runtime lines", func(st *HostState) {
			st.Files["/etc/hactl/engine.conf"] = FileState{SHA256: "x", Mode: 0o600, Owner: "hactl:hactl", Content: []byte("port 6380\nreplicaof a 1\n")}
		}, []string{"file /etc/hactl/engine.conf content differs", "restart hactl-engine changed /etc/hactl/engine.conf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := converged(spec)
			tt.edit(&st)
			var got []string
			for _, s := range PlanHost(spec, st) {
				got = append(got, s.Kind+" "+s.Target+" "+s.Reason)
				if s.Host != "db01" || s.Cmd == "" {
					t.Errorf("step %+v", s)
				}
				if (s.Kind == "restart") != (s.Phase == PhaseMaster) {
					t.Errorf("step %s in phase %v", s.Kind, s.Phase)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// fakeTransport records commands and fails those containing fail.
type fakeTransport struct {
	mu   *sync.Mutex
	log  *[]string
	host string
	fail string
}

func (f fakeTransport) Run(_ context.Context, cmd string, _ []byte) (Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*f.log = append(*f.log, f.host+": "+firstLine(cmd))
	if f.fail != "" && strings.Contains(cmd, f.fail) {
		return Result{Stderr: []byte("boom\n"), ExitCode: 1}, &RemoteError{Host: f.host, Cmd: cmd, ExitCode: 1, Stderr: "boom\n"}
	}
	return Result{}, nil
}
func (fakeTransport) Close() error { return nil }

func TestApplyOrderAndFailures(t *testing.T) {
	var mu sync.Mutex
	var log []string
	mk := func(host string, ph Phase) HostPlan {
		return HostPlan{Host: host, Steps: []Step{
			{Host: host, Kind: "file", Target: "/f", Cmd: "write " + host},
			{Host: host, Phase: ph, Kind: "restart", Target: "svc", Cmd: "restart " + host, Service: "svc"},
		}}
	}
	plans := []HostPlan{mk("db01", PhaseMaster), mk("db02", PhaseReplicas), mk("db03", PhaseReplicas),
		{Host: "db04", Err: errors.New("db04: probe: unreachable")}}
	tr := map[string]Transport{}
	for _, h := range []string{"db01", "db02", "db03"} {
		tr[h] = fakeTransport{mu: &mu, log: &log, host: h}
	}
	tr["db02"] = fakeTransport{mu: &mu, log: &log, host: "db02", fail: "write"}
	var waited []string
	wait := func(_ context.Context, host, svc string) error { waited = append(waited, host+"/"+svc); return nil }
	res, err := Apply(context.Background(), plans, tr, wait, nil)
	if err == nil || !strings.Contains(err.Error(), "db02: file /f: db02: write db02: exit status 1: boom") || !strings.Contains(err.Error(), "db04: probe: unreachable") {
		t.Fatalf("err = %v", err)
	}
	// The restarts run after every prepare step, master first; db02 stops at its failure.
	if got := strings.Join(log[3:], ","); got != "db01: restart db01,db03: restart db03" {
		t.Errorf("log after prepare = %s (all %q)", got, log)
	}
	if fmt.Sprint(waited) != "[db01/svc db03/svc]" {
		t.Errorf("waited %v", waited)
	}
	count := map[string]int{}
	for _, r := range res {
		count[r.Status]++
	}
	if count[StatusChanged] != 4 || count[StatusFailed] != 1 || count[StatusSkipped] != 1 {
		t.Errorf("statuses %v", count)
	}
}

// fakeManager is a ProcessManager that records restarts.
type fakeManager struct {
	running  map[string]bool
	restarts []string
}

func (m *fakeManager) Running(_ context.Context, name string) (bool, error) {
	return m.running[name], nil
}
func (m *fakeManager) Restart(_ context.Context, name string, argv []string) error {
	m.restarts = append(m.restarts, name+" "+strings.Join(argv, " "))
	m.running[name] = true
	return nil
}

// TestProcessModeThroughManager plans and applies a Processes-mode host on
// real files: services are probed and restarted through the manager, and
// a second plan is empty.
func TestProcessModeThroughManager(t *testing.T) {
	dir := t.TempDir()
	m := &fakeManager{running: map[string]bool{}}
	l := Layout{Root: dir, Services: Processes, Manager: m}
	conf := l.Path("/etc/x/engine.conf")
	spec := HostSpec{Name: "db01", Layout: l,
		Files:    []templates.File{{Path: conf, Mode: 0o600, Content: []byte(templates.Header + "\nport 1\n"), Runtime: []string{"replicaof"}}},
		Services: []Service{{Name: "engine", Phase: PhaseMaster, Triggers: []string{conf}, Exec: []string{"/bin/engine", conf}}},
	}
	tr := map[string]Transport{"db01": &Local{Host: "db01"}}
	plans := Plan(context.Background(), []Target{{Spec: spec, Transport: tr["db01"]}})
	if _, err := Apply(context.Background(), plans, tr, nil, nil); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(m.restarts) != "[engine /bin/engine "+conf+"]" {
		t.Errorf("restarts %q", m.restarts)
	}
	// The engine rewrites replicaof: nothing to do while it runs.
	os.WriteFile(conf, []byte(templates.Header+"\nport \"1\"\n# Generated by CONFIG REWRITE\nreplicaof 127.0.0.2 6379\n"), 0o600)
	if plans = Plan(context.Background(), []Target{{Spec: spec, Transport: tr["db01"]}}); plans[0].Err != nil || len(plans[0].Steps) != 0 {
		t.Errorf("second plan: %v %+v", plans[0].Err, plans[0].Steps)
	}
	// Without a manager the probe fails clearly.
	spec.Layout.Manager = nil
	if plans = Plan(context.Background(), []Target{{Spec: spec, Transport: tr["db01"]}}); plans[0].Err == nil || !strings.Contains(plans[0].Err.Error(), "no process manager") {
		t.Errorf("plan without manager: %v", plans[0].Err)
	}
}
