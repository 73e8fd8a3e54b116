package provision

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
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

// ProbeCmd prints, one line each and tab-separated, what the planner needs
// to know about a host:
//
//	A  <machine>                               (uname -m)
//	F  <path> <sha256> <mode> <owner> <managed> (a file; managed is 1 when it starts with the header)
//	M  <path>                                  (a missing file or directory)
//	D  <path> <mode> <owner>                   (a directory)
//	U  <user> <0|1>                            (whether the user exists)
//	P  <command> <0|1>                         (whether the command is installed)
//	S  <service> <active 0|1> <enabled 0|1>
//
// It only reads.
func ProbeCmd(l Layout, files, dirs []string, user string, commands []string, services []Service, header string) string {
	var b strings.Builder
	b.WriteString("printf 'A\\t%s\\n' \"$(uname -m)\"\n")
	if len(files) > 0 {
		fmt.Fprintf(&b, "for f in %s; do\n", quoteAll(files))
		fmt.Fprintf(&b, "  if [ -f \"$f\" ]; then m=0; [ \"$(head -c %d \"$f\")\" = %s ] && m=1\n", len(header), Quote(header))
		b.WriteString("    printf 'F\\t%s\\t%s\\t%s\\t%s\\n' \"$f\" \"$(sha256sum < \"$f\" | cut -d' ' -f1)\" \"$(stat --printf '%a\\t%U:%G' \"$f\")\" \"$m\"\n")
		b.WriteString("  else printf 'M\\t%s\\n' \"$f\"; fi\ndone\n")
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
	for _, s := range services {
		a, e := l.StatusCmds(s)
		fmt.Fprintf(&b, "a=0; %s >/dev/null 2>&1 && a=1; e=0; %s >/dev/null 2>&1 && e=1; printf 'S\\t%%s\\t%%s\\t%%s\\n' %s \"$a\" \"$e\"\n", a, e, Quote(s.Name))
	}
	return b.String()
}
