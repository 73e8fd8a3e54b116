package pulumi

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKey is the SSH host key pair hactl makes for one cloud machine: the
// machine gets it through cloud-init, hactl's known_hosts gets the public
// half, so the first SSH connection is already verified.
type HostKey struct {
	// Private is the OpenSSH private key (PEM). It goes only into the
	// key file (0600) and the user data, which is a Pulumi secret.
	Private string
	// Public is the authorized_keys form, "ssh-ed25519 AAAA...".
	Public string
}

// String keeps the private key out of logs and %v.
func (k HostKey) String() string { return k.Public }

// GoString keeps the private key out of %#v.
func (k HostKey) GoString() string { return "pulumi.HostKey{Public: " + strconv.Quote(k.Public) + "}" }

// hostKeysDir and knownHostsFile are where a stack's host keys live.
func hostKeysDir(stateDir string) string    { return filepath.Join(stateDir, "hostkeys") }
func knownHostsFile(stateDir string) string { return filepath.Join(stateDir, "known_hosts") }

// ensureHostKeys returns the host key of every name, reading DIR/NAME
// (0600) or, when missing, generating an ed25519 key and writing it there.
// The keys stay until Destroy: the same key on every run keeps the user
// data, and so the machines, unchanged.
func ensureHostKeys(dir string, names []string) (map[string]HostKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("host keys: %w", err)
	}
	keys := make(map[string]HostKey, len(names))
	for _, name := range names {
		k, err := hostKey(filepath.Join(dir, name), name)
		if err != nil {
			return nil, fmt.Errorf("host key of %s: %w", name, err)
		}
		keys[name] = k
	}
	return keys, nil
}

// hostKey reads the key in file, or generates and writes one.
func hostKey(file, name string) (HostKey, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return newHostKey(file, name)
	}
	if err != nil {
		return HostKey{}, err
	}
	if fi, err := os.Stat(file); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return HostKey{}, fmt.Errorf("%s: mode %o, want 0600 (others may have read it: remove it and destroy the machine)", file, fi.Mode().Perm())
	}
	raw, err := ssh.ParseRawPrivateKey(b)
	if err != nil {
		return HostKey{}, fmt.Errorf("%s: %w", file, err)
	}
	priv, ok := raw.(*ed25519.PrivateKey)
	if !ok {
		return HostKey{}, fmt.Errorf("%s: %T, want an ed25519 key", file, raw)
	}
	return keyPair(*priv, string(b))
}

// newHostKey generates an ed25519 key and writes it to file, 0600,
// atomically.
func newHostKey(file, name string) (HostKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return HostKey{}, fmt.Errorf("generate: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "hactl host key "+name)
	if err != nil {
		return HostKey{}, fmt.Errorf("marshal: %w", err)
	}
	pemText := string(pem.EncodeToMemory(block))
	if err := writeFileAtomic(file, []byte(pemText), 0o600); err != nil {
		return HostKey{}, err
	}
	return keyPair(priv, pemText)
}

func keyPair(priv ed25519.PrivateKey, pemText string) (HostKey, error) {
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		return HostKey{}, fmt.Errorf("public key: %w", err)
	}
	return HostKey{Private: pemText, Public: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))}, nil
}

// writeFileAtomic writes b to a temporary file beside path with mode perm
// and renames it over path.
func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// userData is the cloud-init user data that installs k as the machine's
// only SSH host key: ssh_deletekeys removes the image's keys, and with
// ssh_keys given cloud-init generates no others.
func userData(k HostKey) string {
	var b strings.Builder
	b.WriteString("#cloud-config\n# hactl: the SSH host key hactl made for this machine; its known_hosts has the public half.\nssh_deletekeys: true\nssh_keys:\n  ed25519_private: |\n")
	for _, line := range strings.Split(strings.TrimSpace(k.Private), "\n") {
		b.WriteString("    " + line + "\n")
	}
	b.WriteString("  ed25519_public: " + k.Public + "\n")
	return b.String()
}

// writeKnownHosts writes one known_hosts line per host, its address (and
// SSH port) with its host key, to path. Hosts without a key are an error:
// hactl would have nothing to verify them with.
func writeKnownHosts(path string, hosts []Host, keys map[string]HostKey) error {
	var b strings.Builder
	b.WriteString("# Written by hactl from the pulumi stack: the host keys hactl made for the machines.\n")
	for _, h := range hosts {
		k, ok := keys[h.Name]
		if !ok {
			return fmt.Errorf("known_hosts: host %s has no host key in %s", h.Name, filepath.Dir(path))
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.Public))
		if err != nil {
			return fmt.Errorf("known_hosts: host key of %s: %w", h.Name, err)
		}
		port := h.SSHPort
		if port == 0 {
			port = 22
		}
		b.WriteString(knownhosts.Line([]string{net.JoinHostPort(h.Address, strconv.Itoa(port))}, pub) + "\n")
	}
	return writeFileAtomic(path, []byte(b.String()), 0o644)
}
