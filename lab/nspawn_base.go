package lab

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// suite is the Debian release of the nspawn nodes.
const suite = "bookworm"

// corePackages are what every node needs: systemd as PID 1, sshd, ip,
// and Debian's haproxy for the proxy role (Spec.Proxy): nodes have no route
// out, so hactl up could not install it later. It is in every base, so
// turning the proxy on or off does not build another one.
var corePackages = []string{"systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "ca-certificates", "sudo", "haproxy"}

// maskedUnits are noise in a lab container (timers, console getty, fs jobs).
var maskedUnits = []string{"apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer",
	"e2scrub_all.timer", "fstrim.timer", "e2scrub_reap.service", "systemd-pstore.service",
	"getty@tty1.service", "console-getty.service", "systemd-timesyncd.service"}

// basePackages is the package list of the base rootfs for sp: the core
// (haproxy included), the distribution's redis for engine "redis", then
// sp.ExtraPackages. The cache key (baseID) hashes this list, so a base
// cached before a package was added is not used: another one is built.
func basePackages(sp *Spec) []string {
	pkgs := append([]string(nil), corePackages...)
	if sp.Engine == "redis" {
		pkgs = append(pkgs, "redis-server", "redis-sentinel")
	}
	return append(pkgs, sp.ExtraPackages...)
}

// baseID names a base rootfs: the suite and a hash of its package list, so
// another list builds (and caches) another base.
func baseID(pkgs []string) string {
	sum := sha1.Sum([]byte(strings.Join(pkgs, ",")))
	return suite + "-" + hex.EncodeToString(sum[:4])
}

// tarballPath is where the base rootfs of pkgs is cached.
func tarballPath(cacheDir string, pkgs []string) string {
	return filepath.Join(cacheDir, "base-"+baseID(pkgs)+".tar.zst")
}

// baseDir is where the base rootfs of pkgs is kept extracted, the
// read-only lower layer of every node's overlay. It is a cache like the
// tarball: labs share it and Down keeps it (PurgeCache removes both).
func baseDir(cacheDir string, pkgs []string) string {
	return filepath.Join(cacheDir, "base-"+baseID(pkgs))
}

// readyMark marks a complete base dir.
const readyMark = ".hactl-lab-ready"

// PurgeCache removes the nspawn rootfs cache in cacheDir (tarballs and
// extracted bases). Labs still running on a base keep working until Down,
// but do not purge under them: their overlays lose their lower layer.
func PurgeCache(cacheDir string) error {
	for _, pat := range []string{"base-*.tar.zst", "base-*.tar.zst.tmp", "base-*"} {
		m, err := filepath.Glob(filepath.Join(cacheDir, pat))
		if err != nil {
			return fmt.Errorf("lab: purge cache: %w", err)
		}
		for _, p := range m {
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("lab: purge cache: %w", err)
			}
		}
	}
	return nil
}

// aptSourceFiles are read, in order, to find the mirror apt uses.
var aptSourceFiles = []string{"/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"}

// mirrorEnv overrides the mirror debootstrap uses.
const mirrorEnv = "HACTL_LAB_MIRROR"

// defaultMirror is used when the apt sources name none.
const defaultMirror = "http://deb.debian.org/debian"

// findMirror returns the Debian mirror this machine's apt uses:
// $HACTL_LAB_MIRROR, else the first main-archive URI of the apt sources
// (deb822 "URIs:" or one-line "deb URI"), security archives skipped.
func findMirror() string {
	if m := os.Getenv(mirrorEnv); m != "" {
		return m
	}
	files := append([]string(nil), aptSourceFiles...)
	more, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	files = append(files, more...)
	more, _ = filepath.Glob("/etc/apt/sources.list.d/*.list")
	files = append(files, more...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if m := mirrorFrom(string(b)); m != "" {
			return m
		}
	}
	return defaultMirror
}

// mirrorFrom returns the first non-security mirror URI in an apt source
// file's text, or "".
func mirrorFrom(text string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		var uris []string
		switch {
		case len(f) >= 2 && f[0] == "URIs:":
			uris = f[1:]
		case len(f) >= 3 && f[0] == "deb":
			uris = f[1:2]
			if strings.HasPrefix(f[1], "[") { // deb [options] URI suite
				for j := 1; j < len(f); j++ {
					if strings.HasSuffix(f[j], "]") && j+1 < len(f) {
						uris = f[j+1 : j+2]
						break
					}
				}
			}
		}
		for _, u := range uris {
			if (strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")) && !strings.Contains(u, "-security") {
				return u
			}
		}
	}
	return ""
}

// ensureBase makes sure the extracted base rootfs exists in the cache:
// from the cached tarball when there is one, else debootstrap from the
// mirror, customized, then cached as a tarball too. It is built in a
// temporary dir and renamed, so a half-built base is never used.
func ensureBase(ctx context.Context, l *Lab) error {
	pkgs := l.st.Packages
	dir, tarball := baseDir(l.st.CacheDir, pkgs), tarballPath(l.st.CacheDir, pkgs)
	if _, err := os.Stat(filepath.Join(dir, readyMark)); err == nil {
		l.logf("base rootfs %s (cached)", dir)
		return nil
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("base rootfs: %w", err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return fmt.Errorf("base rootfs: %w", err)
	}
	t0 := time.Now()
	if _, err := os.Stat(tarball); err == nil {
		if err := run(ctx, nil, "tar", "-C", tmp, "--numeric-owner", "-xpf", tarball, "--zstd"); err != nil {
			return fmt.Errorf("extract cached base %s: %w", tarball, err)
		}
		l.logf("base rootfs extracted from %s in %s", tarball, since(t0))
	} else if err := buildBase(ctx, l, tmp, tarball); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, readyMark), nil, 0o644); err != nil {
		return fmt.Errorf("base rootfs: %w", err)
	}
	os.RemoveAll(dir) // an incomplete one
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("base rootfs: %w", err)
	}
	return nil
}

// buildBase debootstraps the base into dir, customizes it and saves the
// tarball.
func buildBase(ctx context.Context, l *Lab, dir, tarball string) error {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return fmt.Errorf("%w: no cached base rootfs and no debootstrap: apt-get install debootstrap", ErrUnavailable)
	}
	t0 := time.Now()
	mirror := findMirror()
	l.logf("debootstrap %s from %s (1-3 minutes; cached afterwards in %s)", suite, mirror, l.st.CacheDir)
	logf, err := os.Create(filepath.Join(l.StateDir, logName))
	if err != nil {
		return fmt.Errorf("debootstrap log: %w", err)
	}
	defer logf.Close()
	err = run(ctx, logf, "debootstrap", "--variant=minbase", "--include="+strings.Join(l.st.Packages, ","), suite, dir, mirror)
	if err != nil {
		return fmt.Errorf("debootstrap (log %s): %w", logf.Name(), err)
	}
	l.logf("debootstrap done in %s", since(t0))
	if err := customizeBase(ctx, dir); err != nil {
		return err
	}
	tmp := tarball + ".tmp"
	if err := run(ctx, nil, "tar", "-C", dir, "--numeric-owner", "-cpf", tmp, "--zstd", "."); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cache base rootfs: %w", err)
	}
	if err := os.Rename(tmp, tarball); err != nil {
		return fmt.Errorf("cache base rootfs: %w", err)
	}
	l.logf("base rootfs cached in %s (total %s)", tarball, since(t0))
	return nil
}

// customizeBase strips the identity debootstrap gave the base (host keys,
// machine id, the host's resolv.conf) and prepares it for lab nodes.
func customizeBase(ctx context.Context, root string) error {
	keys, _ := filepath.Glob(filepath.Join(root, "etc/ssh/ssh_host_*"))
	for _, k := range keys {
		if err := os.Remove(k); err != nil {
			return fmt.Errorf("customize base: %w", err)
		}
	}
	files := map[string]string{
		"etc/machine-id":                          "",
		"etc/resolv.conf":                         "", // nodes have no DNS
		"etc/default/locale":                      "LANG=C.UTF-8\n",
		"etc/ssh/sshd_config.d/10-hactl-lab.conf": "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n",
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		os.Remove(p) // resolv.conf may be a symlink
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return fmt.Errorf("customize base: %w", err)
		}
	}
	links := map[string]string{
		"etc/systemd/system/multi-user.target.wants/systemd-networkd.service": "/lib/systemd/system/systemd-networkd.service",
	}
	for _, u := range maskedUnits {
		links["etc/systemd/system/"+u] = "/dev/null"
	}
	for name, target := range links {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("customize base: %w", err)
		}
		os.Remove(p)
		if err := os.Symlink(target, p); err != nil {
			return fmt.Errorf("customize base: %w", err)
		}
	}
	if err := run(ctx, nil, "chroot", root, "apt-get", "clean"); err != nil {
		return fmt.Errorf("customize base: %w", err)
	}
	if err := os.RemoveAll(filepath.Join(root, "var/lib/apt/lists")); err != nil {
		return fmt.Errorf("customize base: %w", err)
	}
	return os.MkdirAll(filepath.Join(root, "var/lib/apt/lists/partial"), 0o755)
}

// run runs a command; its output goes to out, or into the error when out
// is nil.
func run(ctx context.Context, out io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var buf strings.Builder
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, out
	} else {
		cmd.Stdout, cmd.Stderr = &buf, &buf
	}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(buf.String())
		if len(msg) > 2000 {
			msg = "..." + msg[len(msg)-2000:]
		}
		if msg != "" {
			return fmt.Errorf("%s: %w: %s", name, err, msg)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// output runs a command and returns its stdout.
func output(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var errb strings.Builder
	cmd.Stderr = &errb
	b, err := cmd.Output()
	if err != nil {
		var xe *exec.ExitError
		if errors.As(err, &xe) {
			return string(b), fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(errb.String()))
		}
		return string(b), fmt.Errorf("%s: %w", name, err)
	}
	return string(b), nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }
