package lab

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
)

// inventoryTemplate is the inventory written for a lab (inventory package
// schema). Paths are absolute so the file can be copied elsewhere.
var inventoryTemplate = template.Must(template.New("inventory").Parse(
	`# Written by hactl lab ({{.Driver}} driver) for the lab in {{.StateDir}}.
# "hactl lab down" removes this file with the lab.
{{- if eq .Driver "process"}}
# Hosts are local: reach them with the local transport, install every path
# under the host's root ({{.StateDir}}/nodes/NAME/root) and run services
# through the lab (lab.Open({{printf "%q" .StateDir}})).
{{- end}}

service: mymaster
engine: {{.Engine}}
provider: lab
master: {{(index .Hosts 0).Name}}
{{- if eq .Driver "nspawn"}}

ssh:
  user: {{(index .Hosts 0).SSH.User}}
  port: {{(index .Hosts 0).SSH.Port}}
  key: {{(index .Hosts 0).SSH.Key}}
  known_hosts: {{(index .Hosts 0).SSH.KnownHosts}}
{{- end}}

hosts:
{{- range .Hosts}}
  - name: {{.Name}}
    address: {{.Address}}
{{- if $.Proxy}}
    roles: [engine, sentinel, haproxy]
{{- end}}
{{- end}}

server:
  port: 6379

sentinel:
  port: 26379
  quorum: {{.Quorum}}
  profile: fast

secrets:
  requirepass: {file: secrets/requirepass}
{{- if .Proxy}}

# Every node runs an HAProxy that routes to the master (hactl lab up --proxy).
haproxy:
  port: {{.ProxyPort}}
{{- end}}
`))

// renderInventory returns the inventory YAML for the lab.
func renderInventory(l *Lab) ([]byte, error) {
	var b bytes.Buffer
	err := inventoryTemplate.Execute(&b, map[string]any{
		"Driver":    l.Driver,
		"StateDir":  l.StateDir,
		"Engine":    l.st.Engine,
		"Hosts":     l.Hosts,
		"Quorum":    len(l.Hosts)/2 + 1,
		"Proxy":     l.st.Proxy,
		"ProxyPort": ProxyPort,
	})
	if err != nil {
		return nil, fmt.Errorf("lab: render inventory: %w", err)
	}
	return b.Bytes(), nil
}

// writeInventory writes the password file (once) and the inventory.
func (l *Lab) writeInventory() error {
	if err := ensurePassword(l.PasswordFile); err != nil {
		return err
	}
	b, err := renderInventory(l)
	if err != nil {
		return err
	}
	return writeFileAtomic(l.Inventory, b, 0o644)
}

// ensurePassword creates a random password file (mode 0600) unless it
// exists: resuming a lab keeps its password.
func ensurePassword(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("lab: password file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("lab: secrets dir: %w", err)
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return fmt.Errorf("lab: generate password: %w", err)
	}
	return writeFileAtomic(path, []byte(hex.EncodeToString(buf)+"\n"), 0o600)
}
