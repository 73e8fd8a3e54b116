package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"

	"github.com/hactl/hactl/inventory"
	"github.com/hactl/hactl/templates"
)

// Phase orders the steps of a plan: every host's Prepare steps run first
// (in parallel across hosts), then each later phase runs host by host.
type Phase int

// The phases, in execution order.
const (
	PhasePrepare   Phase = iota // user, directories, binaries, files, daemon-reload
	PhaseMaster                 // the master's engine
	PhaseReplicas               // the replicas' engines, one at a time
	PhaseSentinels              // the sentinels, one at a time
	PhaseHAProxy                // the proxies
)

var phaseNames = [...]string{"prepare", "master", "replicas", "sentinels", "haproxy"}

// String names the phase.
func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase%d", int(p))
}

// Binary is an executable hactl uploads.
type Binary struct {
	Path    string // on the host, under the layout root
	Content []byte
}

// SHA256 is the hex digest of the content.
func (b Binary) SHA256() string { return sha256Hex(b.Content) }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Dir is a directory hactl creates.
type Dir struct {
	Path  string
	Mode  fs.FileMode
	Owner string // "" keeps the owner
}

// HostSpec is everything one host should have.
type HostSpec struct {
	Name     string
	Layout   Layout
	User     string   // system user to create; "" for none
	Commands []string // programs that must be installed (packages)
	Packages []string // Debian packages that provide Commands
	Dirs     []Dir
	Binaries []Binary
	Files    []templates.File
	Sysctl   string // sysctl drop-in to load; "" for none
	Services []Service
}

// SpecParams are the inputs of BuildSpec besides the inventory.
type SpecParams struct {
	Host   string
	Master string // current master (from the running sentinels); "" means the inventory's
	Layout Layout
	// Binaries are the hactl-engine and hactl-sentinel executables for the
	// host's architecture, by base name; needed only for engine: hactl.
	Binaries map[string][]byte
}

// BuildSpec renders the files of one host and lists its directories,
// binaries and services.
func BuildSpec(inv *inventory.Inventory, sec *inventory.ResolvedSecrets, p SpecParams) (HostSpec, error) {
	l := p.Layout
	files, err := templates.Render(inv, sec, templates.Params{Host: p.Host, Master: p.Master, Root: l.Root})
	if err != nil {
		return HostSpec{}, err
	}
	h, _ := inv.Host(p.Host)
	master := p.Master
	if master == "" {
		master = inv.Master
	}
	spec := HostSpec{Name: h.Name, Layout: l, Files: files}
	proc := l.Services == Processes
	owner := func(o string) string {
		if proc {
			return "" // lab processes run as the invoking user
		}
		return o
	}
	if proc {
		for i := range spec.Files {
			spec.Files[i].Owner = ""
		}
	}
	enginePhase := PhaseReplicas
	if h.Name == master {
		enginePhase = PhaseMaster
	}
	redis := inv.Engine == inventory.EngineRedis
	svcOwner := owner(templates.ServiceUser + ":" + templates.ServiceUser)
	if redis {
		svcOwner = owner(templates.RedisUser + ":" + templates.RedisUser)
	}
	if h.Has(inventory.RoleEngine) {
		if !proc {
			spec.Sysctl = l.Path(templates.SysctlConfig)
		}
		if redis {
			spec.Commands = append(spec.Commands, "redis-server")
			spec.Packages = append(spec.Packages, "redis-server")
			spec.Dirs = append(spec.Dirs, Dir{l.Path(templates.RedisDataDir), 0o750, svcOwner})
			if proc {
				spec.Dirs = append(spec.Dirs, Dir{l.Path("/run/redis"), 0o755, ""}, Dir{l.Path("/var/log/redis"), 0o755, ""})
			}
			spec.Services = append(spec.Services, Service{Name: "redis-server", Phase: enginePhase,
				Triggers: append([]string{l.Path(templates.RedisConfig)}, aclTrigger(inv, l)...),
				Exec:     []string{"/usr/bin/redis-server", l.Path(templates.RedisConfig)}})
		} else {
			bin, err := binary(p.Binaries, "hactl-engine", l.Path(templates.EngineBinary))
			if err != nil {
				return HostSpec{}, err
			}
			spec.Binaries = append(spec.Binaries, bin)
			spec.Dirs = append(spec.Dirs, Dir{l.Path(templates.EngineDataDir), 0o700, svcOwner})
			spec.Services = append(spec.Services, Service{Name: "hactl-engine", Phase: enginePhase,
				Triggers: append([]string{bin.Path, l.Path(templates.EngineConfig), l.Path(templates.EngineUnit)}, aclTrigger(inv, l)...),
				Exec:     []string{bin.Path, l.Path(templates.EngineConfig)}})
		}
	}
	if h.Has(inventory.RoleSentinel) {
		if redis {
			spec.Commands = append(spec.Commands, "redis-sentinel")
			spec.Packages = append(spec.Packages, "redis-sentinel")
			spec.Dirs = append(spec.Dirs, Dir{l.Path(templates.RedisDataDir), 0o750, svcOwner})
			if proc {
				spec.Dirs = append(spec.Dirs, Dir{l.Path("/run/sentinel"), 0o755, ""}, Dir{l.Path("/var/log/redis"), 0o755, ""})
			}
			spec.Services = append(spec.Services, Service{Name: "redis-sentinel", Phase: PhaseSentinels,
				Triggers: []string{l.Path(templates.RedisSentinelConfig)},
				Exec:     []string{"/usr/bin/redis-sentinel", l.Path(templates.RedisSentinelConfig)}})
		} else {
			bin, err := binary(p.Binaries, "hactl-sentinel", l.Path(templates.SentinelBinary))
			if err != nil {
				return HostSpec{}, err
			}
			spec.Binaries = append(spec.Binaries, bin)
			spec.Dirs = append(spec.Dirs, Dir{l.Path(templates.SentinelDataDir), 0o700, svcOwner})
			spec.Services = append(spec.Services, Service{Name: "hactl-sentinel", Phase: PhaseSentinels,
				Triggers: []string{bin.Path, l.Path(templates.SentinelConfig), l.Path(templates.SentinelUnit)},
				Exec:     []string{bin.Path, l.Path(templates.SentinelConfig)}})
		}
	}
	if h.Has(inventory.RoleHAProxy) {
		if proc {
			return HostSpec{}, fmt.Errorf("host %s: the haproxy role is not supported by the process lab (use the nspawn lab or real hosts)", h.Name)
		}
		spec.Commands = append(spec.Commands, "haproxy")
		spec.Packages = append(spec.Packages, "haproxy")
		spec.Services = append(spec.Services, Service{Name: "haproxy", Phase: PhaseHAProxy,
			Triggers: []string{l.Path(templates.HAProxyConfig)}})
	}
	if !redis && !proc && (h.Has(inventory.RoleEngine) || h.Has(inventory.RoleSentinel)) {
		spec.User = templates.ServiceUser
	}
	spec.Dirs = dedupDirs(spec.Dirs)
	return spec, nil
}

// binary finds one executable among the given ones.
func binary(bins map[string][]byte, name, dest string) (Binary, error) {
	b, ok := bins[name]
	if !ok || len(b) == 0 {
		return Binary{}, fmt.Errorf("no %s binary to install: build it (go build ./cmd/%s) and put it next to hactl", name, name)
	}
	return Binary{Path: dest, Content: b}, nil
}

// dedupDirs drops repeated directories, keeping the first.
func dedupDirs(dirs []Dir) []Dir {
	seen := map[string]bool{}
	out := dirs[:0]
	for _, d := range dirs {
		if !seen[d.Path] {
			seen[d.Path] = true
			out = append(out, d)
		}
	}
	return out
}

// aclTrigger is the aclfile, whose change restarts the engine (it reads
// the file at start); none without ACL users. Certificate files restart
// nothing: hactl certs rotate reloads them.
func aclTrigger(inv *inventory.Inventory, l Layout) []string {
	if len(inv.Security.ACL.Users) == 0 {
		return nil
	}
	return []string{l.Path(path.Join(templates.ConfigDir(inv.Engine), templates.ACLFileName))}
}
