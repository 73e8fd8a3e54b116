package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// File names inside a Store directory.
const (
	caCertFile    = "ca.pem"
	caKeyFile     = "ca.key"
	prevCAFile    = "ca-previous.pem"
	trustFile     = "trust.pem"
	clientName    = "client" // hactl's own client certificate (verify, HAProxy checks)
	hostsDir      = "hosts"
	certSuffix    = ".pem"
	keySuffix     = ".key"
	dirMode       = 0o700
	secretMode    = 0o600
	defaultCALife = 10 * 365 * 24 * time.Hour
)

// Store keeps a service's TLS material in a local directory.
type Store struct {
	Dir string
	// CACert and CAKey are an operator-provided CA; when set the Store
	// never creates or replaces the CA.
	CACert, CAKey string
	// CAValidity is the lifetime of a generated CA; 0 means ten years.
	CAValidity time.Duration
}

// Subject is one certificate the Store keeps: a host and its SANs.
type Subject struct {
	Name  string   // host name in the inventory; names the files
	Names []string // DNS names and addresses to certify
}

// Material is what a host needs: the trust bundle and its pair.
type Material struct {
	TrustPEM []byte
	CertPEM  []byte
	KeyPEM   []byte
}

// CA loads the current CA.
func (s Store) CA() (*CA, error) {
	certPath, keyPath := s.caPaths()
	c, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("read CA certificate: %w", err)
	}
	k, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("read CA key: %w", err)
	}
	ca, err := LoadCA(c, k)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	return ca, nil
}

func (s Store) caPaths() (string, string) {
	if s.CACert != "" {
		return s.CACert, s.CAKey
	}
	return filepath.Join(s.Dir, caCertFile), filepath.Join(s.Dir, caKeyFile)
}

func (s Store) pairPaths(name string) (string, string) {
	if name == clientName {
		return filepath.Join(s.Dir, clientName+certSuffix), filepath.Join(s.Dir, clientName+keySuffix)
	}
	base := filepath.Join(s.Dir, hostsDir, name)
	return base + certSuffix, base + keySuffix
}

// Host reads the material of one host (or of Client).
func (s Store) Host(name string) (Material, error) {
	var m Material
	unlock, err := s.lock(false)
	if err != nil {
		return m, err
	}
	defer unlock()
	if m.TrustPEM, err = os.ReadFile(filepath.Join(s.Dir, trustFile)); err != nil {
		return m, fmt.Errorf("read trust bundle: %w (run hactl up or hactl certs rotate)", err)
	}
	c, k := s.pairPaths(name)
	if m.CertPEM, err = os.ReadFile(c); err != nil {
		return m, fmt.Errorf("read certificate of %s: %w (run hactl up)", name, err)
	}
	if m.KeyPEM, err = os.ReadFile(k); err != nil {
		return m, fmt.Errorf("read key of %s: %w", name, err)
	}
	return m, nil
}

// Client reads hactl's own client certificate.
func (s Store) Client() (Material, error) { return s.Host(clientName) }

// ClientPaths are the files of hactl's client certificate and the trust
// bundle, for tools that take paths (redis-cli --tls).
func (s Store) ClientPaths() (cert, key, trust string) {
	c, k := s.pairPaths(clientName)
	return c, k, filepath.Join(s.Dir, trustFile)
}

// Ensure creates what is missing: the CA (unless operator-provided), the
// trust bundle, and a certificate for every subject and for hactl's client
// that is missing, names other SANs, is not signed by the current CA, or
// has less than renewBefore left. It returns the names it (re)issued.
func (s Store) Ensure(subjects []Subject, validity, renewBefore time.Duration, now time.Time) ([]string, error) {
	unlock, err := s.lock(true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	ca, err := s.ensureCA(now)
	if err != nil {
		return nil, err
	}
	issuers := []*x509.Certificate{ca.Cert}
	if b, err := os.ReadFile(filepath.Join(s.Dir, prevCAFile)); err == nil {
		// During a CA rotation the certificates of the previous CA stay
		// until Rotate replaces them: the hosts may not trust the new CA yet.
		if prev, err := parseCert(b); err == nil {
			issuers = append(issuers, prev)
		}
	}
	var issued []string
	for _, sub := range s.withClient(subjects) {
		if s.current(issuers, sub, renewBefore, now) {
			continue
		}
		if err := s.issue(ca, sub, validity, now); err != nil {
			return issued, err
		}
		issued = append(issued, sub.Name)
	}
	return issued, nil
}

// RotateOptions says how Rotate renews.
type RotateOptions struct {
	// NewCA replaces a generated CA and rewrites the trust bundle with
	// both CAs, and issues nothing: the hosts must trust the new CA
	// before any certificate of it is presented. Install and reload the
	// bundle everywhere, then Rotate again without NewCA (new
	// certificates), and later with DropPrevious.
	NewCA bool
	// DropPrevious removes the previous CA from the trust bundle.
	DropPrevious bool
	Validity     time.Duration
}

// ErrRotationPending means a CA rotation is under way (the previous CA is
// still trusted): a second new CA would drop the one hosts hold.
var ErrRotationPending = errors.New("certs: a CA rotation is in progress")

// Rotate issues a fresh certificate for every subject and the client; with
// o.NewCA it replaces the CA instead (see RotateOptions). It returns the
// names issued.
func (s Store) Rotate(subjects []Subject, o RotateOptions, now time.Time) ([]string, error) {
	if o.NewCA && s.CACert != "" {
		return nil, errors.New("rotate: the CA is provided by the inventory (security.tls.ca_cert); replace those files instead of --new-ca")
	}
	unlock, err := s.lock(true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if o.DropPrevious {
		if err := os.Remove(filepath.Join(s.Dir, prevCAFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("drop previous CA: %w", err)
		}
	}
	if o.NewCA {
		if _, err := os.Stat(filepath.Join(s.Dir, prevCAFile)); err == nil {
			return nil, fmt.Errorf("%w (%s exists): finish it with hactl certs rotate, then --drop-previous", ErrRotationPending, prevCAFile)
		}
		old, err := s.CA()
		if err != nil {
			return nil, err
		}
		if err := writeSecret(filepath.Join(s.Dir, prevCAFile), old.CertPEM); err != nil {
			return nil, err
		}
		if err := s.newCA(now); err != nil {
			return nil, err
		}
		_, err = s.ensureCA(now)
		return nil, err
	}
	ca, err := s.ensureCA(now)
	if err != nil {
		return nil, err
	}
	var issued []string
	for _, sub := range s.withClient(subjects) {
		if err := s.issue(ca, sub, o.Validity, now); err != nil {
			return issued, err
		}
		issued = append(issued, sub.Name)
	}
	return issued, nil
}

// Status inspects the CA, the previous CA and every subject's certificate.
func (s Store) Status(subjects []Subject) ([]NamedInfo, error) {
	var out []NamedInfo
	ca, err := s.CA()
	if err != nil {
		return nil, err
	}
	out = append(out, NamedInfo{Name: "ca", Info: InfoOf(ca.Cert)})
	if b, err := os.ReadFile(filepath.Join(s.Dir, prevCAFile)); err == nil {
		in, err := Inspect(b)
		if err != nil {
			return nil, fmt.Errorf("previous CA: %w", err)
		}
		out = append(out, NamedInfo{Name: "ca-previous", Info: in})
	}
	for _, sub := range s.withClient(subjects) {
		c, _ := s.pairPaths(sub.Name)
		b, err := os.ReadFile(c)
		if err != nil {
			out = append(out, NamedInfo{Name: sub.Name, Err: "missing (run hactl up)"})
			continue
		}
		in, err := Inspect(b)
		if err != nil {
			out = append(out, NamedInfo{Name: sub.Name, Err: err.Error()})
			continue
		}
		out = append(out, NamedInfo{Name: sub.Name, Info: in})
	}
	return out, nil
}

// NamedInfo is one certificate of Status.
type NamedInfo struct {
	Name string
	Info Info
	Err  string // the certificate could not be read
}

func (s Store) withClient(subjects []Subject) []Subject {
	return append(slices.Clip(subjects), Subject{Name: clientName})
}

// current reports whether sub's certificate can stay: cert and key
// exist and match (a crash between the two writes leaves a pair that
// does not), it is signed by one of issuers, not due, and names sub's
// SANs.
func (s Store) current(issuers []*x509.Certificate, sub Subject, renewBefore time.Duration, now time.Time) bool {
	c, k := s.pairPaths(sub.Name)
	cb, err1 := os.ReadFile(c)
	kb, err2 := os.ReadFile(k)
	if err1 != nil || err2 != nil {
		return false
	}
	if _, err := tls.X509KeyPair(cb, kb); err != nil {
		return false
	}
	cert, err := parseCert(cb)
	if err != nil || !slices.ContainsFunc(issuers, func(ca *x509.Certificate) bool { return cert.CheckSignatureFrom(ca) == nil }) {
		return false
	}
	if InfoOf(cert).State(now, renewBefore) != StateOK {
		return false
	}
	in := InfoOf(cert)
	have := append(append([]string{}, in.DNSNames...), in.IPs...)
	slices.Sort(have)
	return slices.Equal(sans(sub.Names), have)
}

// sans is the sorted, deduplicated SAN list of names (IPs in canonical
// form).
func sans(names []string) []string {
	var out []string
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			n = ip.String()
		}
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func (s Store) issue(ca *CA, sub Subject, validity time.Duration, now time.Time) error {
	leaf, err := ca.Issue(Request{CommonName: sub.Name, Names: sub.Names, Validity: validity}, now)
	if err != nil {
		return err
	}
	c, k := s.pairPaths(sub.Name)
	if err := os.MkdirAll(filepath.Dir(c), dirMode); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(c), err)
	}
	if err := writeSecret(k, leaf.KeyPEM); err != nil {
		return err
	}
	return writeSecret(c, leaf.CertPEM)
}

// ensureCA loads the CA, creating it when the Store generates it and it
// is missing, and rewrites the trust bundle.
func (s Store) ensureCA(now time.Time) (*CA, error) {
	if err := os.MkdirAll(s.Dir, dirMode); err != nil {
		return nil, fmt.Errorf("create TLS directory: %w", err)
	}
	certPath, _ := s.caPaths()
	if _, err := os.Stat(certPath); errors.Is(err, fs.ErrNotExist) && s.CACert == "" {
		if err := s.newCA(now); err != nil {
			return nil, err
		}
	}
	ca, err := s.CA()
	if err != nil {
		return nil, err
	}
	trust := bytes.Clone(ca.CertPEM)
	if prev, err := os.ReadFile(filepath.Join(s.Dir, prevCAFile)); err == nil {
		trust = append(trust, prev...)
	}
	return ca, writeSecret(filepath.Join(s.Dir, trustFile), trust)
}

func (s Store) newCA(now time.Time) error {
	life := s.CAValidity
	if life == 0 {
		life = defaultCALife
	}
	ca, err := NewCA("hactl CA "+now.UTC().Format("2006-01-02T15:04:05Z"), life, now)
	if err != nil {
		return err
	}
	// Both files are written in full under temporary names before
	// either replaces the old CA: a failure leaves the old CA whole.
	certPath, keyPath := s.caPaths()
	keyTmp, err := writeTemp(keyPath, ca.KeyPEM)
	if err != nil {
		return err
	}
	certTmp, err := writeTemp(certPath, ca.CertPEM)
	if err != nil {
		os.Remove(keyTmp)
		return err
	}
	if err := os.Rename(keyTmp, keyPath); err != nil {
		os.Remove(keyTmp)
		os.Remove(certTmp)
		return fmt.Errorf("write %s: %w", keyPath, err)
	}
	if err := os.Rename(certTmp, certPath); err != nil {
		os.Remove(certTmp)
		return fmt.Errorf("write %s: %w", certPath, err)
	}
	return nil
}

// writeSecret writes b to path with mode 0600 through a temporary file of
// its own (os.CreateTemp), so a reader never sees half a key and two
// writers never share a temporary file.
func writeSecret(path string, b []byte) error {
	tmp, err := writeTemp(path, b)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeTemp writes b, synced, to a new 0600 file beside path and returns
// its name.
func writeTemp(path string, b []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(secretMode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return f.Name(), nil
}
