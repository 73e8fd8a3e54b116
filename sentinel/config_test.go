package sentinel

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	text := `# the seed's sentinel.conf
bind 0.0.0.0
port 26379
requirepass SECRET
sentinel monitor mymaster 192.168.69.81 6379 2
sentinel auth-pass mymaster "SEC RET"
sentinel auth-user mymaster app
sentinel down-after-milliseconds mymaster 60000
sentinel failover-timeout mymaster 180000
sentinel parallel-syncs mymaster 1
sentinel announce-ip 10.0.0.5
sentinel announce-port 26380
sentinel rename-command mymaster CONFIG XCONFIG
sentinel myid 0123456789012345678901234567890123456789
daemonize no
`
	c, err := ParseConfig("s.conf", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Masters[0]
	if c.Port != 26379 || c.RequirePass != "SECRET" || c.AnnounceIP != "10.0.0.5" || c.AnnouncePort != 26380 ||
		m.Name != "mymaster" || m.Host != "192.168.69.81" || m.Port != 6379 || m.Quorum != 2 ||
		m.AuthPass != "SEC RET" || m.AuthUser != "app" || m.DownAfter != time.Minute ||
		m.FailoverTimeout != 3*time.Minute || m.ParallelSyncs != 1 || m.Renamed["config"] != "XCONFIG" {
		t.Fatalf("parsed %+v / %+v", c, m)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"port x", "s.conf:1: invalid port"},
		{"\nsentinel monitor m 1.2.3.4 6379 0", "s.conf:2: quorum must be 1 or greater"},
		{"sentinel monitor m host.example 6379 1", "s.conf:1: invalid IP address"},
		{"sentinel down-after-milliseconds m 10", "s.conf:1: no such master"},
		{"sentinel monitor m 1.2.3.4 6379 1\nsentinel down-after-milliseconds m -5", "s.conf:2: sentinel down-after-milliseconds: invalid argument"},
		{"sentinel monitor m 1.2.3.4 6379 1\nsentinel monitor m 1.2.3.4 6380 1", "s.conf:2: duplicate master name"},
		{"frobnicate yes", "s.conf:1: unknown directive"},
		{"sentinel monitor m 1.2.3.4 6379 1\nsentinel bogus m 1", "s.conf:2: sentinel bogus: unknown option"},
		{`requirepass "abc`, "s.conf:1: splitargs: unbalanced quotes"},
	}
	for _, tt := range tests {
		_, err := ParseConfig("s.conf", []byte(tt.text))
		var ce *ConfigError
		if err == nil || !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("ParseConfig(%q) = %v; want prefix %q", tt.text, err, tt.want)
		}
	}
	if _, err := ParseConfig("s.conf", []byte("sentinel resolve-hostnames yes\nsentinel monitor m db1 6379 1")); err != nil {
		t.Errorf("hostnames with resolve-hostnames: %v", err)
	}
}

func TestParseConfigTLS(t *testing.T) {
	text := `port 0
tls-port 26379
tls-cert-file /etc/hactl/tls/node.crt
tls-key-file /etc/hactl/tls/node.key
tls-client-cert-file /etc/hactl/tls/client.crt
tls-client-key-file /etc/hactl/tls/client.key
tls-ca-cert-file /etc/hactl/tls/ca.crt
tls-auth-clients optional
tls-replication yes
tls-protocols "TLSv1.2 TLSv1.3"
tls-ciphers ECDHE-RSA-AES128-GCM-SHA256
tls-ciphersuites TLS_AES_128_GCM_SHA256
tls-session-caching no
`
	c, err := ParseConfig("s.conf", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 0 || c.TLSPort != 26379 || !c.TLSReplication || c.TLS.CertFile != "/etc/hactl/tls/node.crt" ||
		c.TLS.KeyFile != "/etc/hactl/tls/node.key" || c.TLS.ClientCertFile != "/etc/hactl/tls/client.crt" ||
		c.TLS.ClientKeyFile != "/etc/hactl/tls/client.key" || c.TLS.CAFile != "/etc/hactl/tls/ca.crt" ||
		c.TLS.AuthClients != "optional" || c.TLS.Protocols != "TLSv1.2 TLSv1.3" ||
		c.TLS.Ciphers != "ECDHE-RSA-AES128-GCM-SHA256" || c.TLS.Ciphersuites != "TLS_AES_128_GCM_SHA256" {
		t.Fatalf("parsed %+v", c)
	}
	if l := c.Listeners(); len(l) != 0 {
		t.Fatalf("port 0 with tls-port: plaintext listeners %v", l)
	}
	if l := c.TLSListeners(); len(l) != 1 || l[0] != ":26379" {
		t.Fatalf("TLS listeners %v", l)
	}
	for _, bad := range []string{"tls-auth-clients maybe", "tls-replication perhaps", "tls-port 70000", "tls-cert-file"} {
		if _, err := ParseConfig("s.conf", []byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
