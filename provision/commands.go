package provision

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/hactl/hactl/engine/splitargs"
)

// Quote quotes s as one sh word.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-:=@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// quoteAll quotes every word and joins them with spaces.
func quoteAll(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Quote(w)
	}
	return strings.Join(q, " ")
}

// WriteFileCmd writes the content given on stdin to p atomically (a
// temporary file in the same directory, then rename), with mode and, when
// owner is not "", owner. The content never appears on the command line.
func WriteFileCmd(p string, mode fs.FileMode, owner string) string {
	tmp := p + ".hactl-tmp"
	var b strings.Builder
	fmt.Fprintf(&b, "set -e\nmkdir -p %s\numask 077\ncat > %s\nchmod %04o %s\n", Quote(path.Dir(p)), Quote(tmp), mode.Perm(), Quote(tmp))
	if owner != "" {
		fmt.Fprintf(&b, "chown %s %s\n", Quote(owner), Quote(tmp))
	}
	fmt.Fprintf(&b, "mv -f %s %s", Quote(tmp), Quote(p))
	return b.String()
}

// MkdirCmd creates a directory with mode and, when owner is not "", owner.
func MkdirCmd(p string, mode fs.FileMode, owner string) string {
	cmd := fmt.Sprintf("mkdir -p %s && chmod %04o %s", Quote(p), mode.Perm(), Quote(p))
	if owner != "" {
		cmd += fmt.Sprintf(" && chown %s %s", Quote(owner), Quote(p))
	}
	return cmd
}

// ChmodCmd sets the mode and, when owner is not "", the owner of p.
func ChmodCmd(p string, mode fs.FileMode, owner string) string {
	cmd := fmt.Sprintf("chmod %04o %s", mode.Perm(), Quote(p))
	if owner != "" {
		cmd += fmt.Sprintf(" && chown %s %s", Quote(owner), Quote(p))
	}
	return cmd
}

// UserCmd creates a system user without login shell, unless it exists.
func UserCmd(user, home string) string {
	return fmt.Sprintf("id -u %s >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir %s --shell /usr/sbin/nologin %s",
		Quote(user), Quote(home), Quote(user))
}

// PackageCmd installs Debian packages non-interactively.
func PackageCmd(pkgs []string) string {
	return "DEBIAN_FRONTEND=noninteractive apt-get install -y -q " + quoteAll(pkgs)
}

// SysctlCmd loads one sysctl drop-in file.
func SysctlCmd(file string) string { return "sysctl -q -p " + Quote(file) }

// ProbeFile is one file ProbeCmd looks at.
type ProbeFile struct {
	Path string
	// Runtime lists the directives the running service rewrites in this
	// file (CONFIG REWRITE after REPLICAOF): the probe then also returns
	// the file's content, so the planner can compare it with RuntimeDigest.
	Runtime []string
}

// RuntimeDigest is a digest of a redis.conf-style file that ignores what
// CONFIG REWRITE changes without changing the meaning: blank lines,
// comments, quoting and spacing of arguments, directive case, and every
// line whose directive is one of the runtime ones (replicaof: the
// sentinels' business after a failover). Two files with the same digest
// configure the same server apart from those directives.
func RuntimeDigest(content []byte, runtime []string) string {
	skip := map[string]bool{}
	for _, d := range runtime {
		skip[strings.ToLower(d)] = true
	}
	var b strings.Builder
	for _, line := range strings.Split(string(content), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' {
			continue
		}
		args, err := splitargs.Split([]byte(t))
		if err != nil || len(args) == 0 {
			fmt.Fprintf(&b, "raw %q\n", t) // compared as is
			continue
		}
		if skip[strings.ToLower(string(args[0]))] {
			continue
		}
		fmt.Fprintf(&b, "%q", strings.ToLower(string(args[0])))
		for _, a := range args[1:] {
			fmt.Fprintf(&b, " %q", a)
		}
		b.WriteByte('\n')
	}
	return sha256Hex([]byte(b.String()))
}

// probeFileFunc is the sh function the probe runs for each file: it prints
// the F (or M) line, with the content in base64 when $2 is 1.
const probeFileFunc = `pf() {
  if [ -f "$1" ]; then m=0; [ "$(head -c %d "$1")" = %s ] && m=1
    c=-; [ "$2" = 1 ] && c=$(base64 -w0 < "$1")
    printf 'F\t%%s\t%%s\t%%s\t%%s\t%%s\n' "$1" "$(sha256sum < "$1" | cut -d' ' -f1)" "$(stat --printf '%%a\t%%U:%%G' "$1")" "$m" "${c:--}"
  else printf 'M\t%%s\n' "$1"; fi
}
`

// ProbeCmd prints, one line each and tab-separated, what the planner needs
// to know about a host:
//
//	A  <machine>                               (uname -m)
//	F  <path> <sha256> <mode> <owner> <managed> <content in base64 or ->
//	                                           (a file; managed is 1 when it starts with the header)
//	M  <path>                                  (a missing file or directory)
//	D  <path> <mode> <owner>                   (a directory)
//	U  <user> <0|1>                            (whether the user exists)
//	P  <command> <0|1>                         (whether the command is installed)
//	S  <service> <active 0|1> <enabled 0|1>    (systemd mode only)
//
// It only reads. In Processes mode the services are not probed by shell:
// Plan asks the layout's ProcessManager.
func ProbeCmd(l Layout, files []ProbeFile, dirs []string, user string, commands []string, services []Service, header string) string {
	var b strings.Builder
	b.WriteString("printf 'A\\t%s\\n' \"$(uname -m)\"\n")
	if len(files) > 0 {
		fmt.Fprintf(&b, probeFileFunc, len(header), Quote(header))
		for _, f := range files {
			fmt.Fprintf(&b, "pf %s %d\n", Quote(f.Path), btoi(len(f.Runtime) > 0))
		}
	}
	if len(dirs) > 0 {
		fmt.Fprintf(&b, "for d in %s; do\n", quoteAll(dirs))
		b.WriteString("  if [ -d \"$d\" ]; then printf 'D\\t%s\\t%s\\n' \"$d\" \"$(stat --printf '%a\\t%U:%G' \"$d\")\"; else printf 'M\\t%s\\n' \"$d\"; fi\ndone\n")
	}
	if user != "" {
		fmt.Fprintf(&b, "if id -u %s >/dev/null 2>&1; then printf 'U\\t%%s\\t1\\n' %s; else printf 'U\\t%%s\\t0\\n' %s; fi\n", Quote(user), Quote(user), Quote(user))
	}
	for _, c := range commands {
		fmt.Fprintf(&b, "if command -v %s >/dev/null 2>&1; then printf 'P\\t%%s\\t1\\n' %s; else printf 'P\\t%%s\\t0\\n' %s; fi\n", Quote(c), Quote(c), Quote(c))
	}
	if l.Services == Processes {
		return b.String()
	}
	for _, s := range services {
		a, e := l.StatusCmds(s)
		fmt.Fprintf(&b, "a=0; %s >/dev/null 2>&1 && a=1; e=0; %s >/dev/null 2>&1 && e=1; printf 'S\\t%%s\\t%%s\\t%%s\\n' %s \"$a\" \"$e\"\n", a, e, Quote(s.Name))
	}
	return b.String()
}
