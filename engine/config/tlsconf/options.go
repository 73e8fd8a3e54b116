package tlsconf

import (
	"crypto/tls"
	"fmt"
	"strings"
)

var protocolVersions = []struct {
	name string
	v    uint16
}{{"tlsv1", tls.VersionTLS10}, {"tlsv1.1", tls.VersionTLS11}, {"tlsv1.2", tls.VersionTLS12}, {"tlsv1.3", tls.VersionTLS13}}

// ParseProtocols parses tls-protocols ("TLSv1.2 TLSv1.3", case-insensitive,
// Redis's names). Empty means Redis 7.0's default, TLSv1.2 and TLSv1.3.
// crypto/tls takes a minimum and a maximum version, so the list must be a
// contiguous range.
func ParseProtocols(v string) (minV, maxV uint16, err error) {
	fields := strings.Fields(v)
	if len(fields) == 0 {
		return tls.VersionTLS12, tls.VersionTLS13, nil
	}
	var set [4]bool
	for _, f := range fields {
		found := false
		for i, p := range protocolVersions {
			if strings.EqualFold(f, p.name) {
				set[i], found = true, true
			}
		}
		if !found {
			return 0, 0, fmt.Errorf("invalid tls-protocols specified: %q; use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'", f)
		}
	}
	lo, hi := -1, -1
	for i, on := range set {
		if on {
			if lo < 0 {
				lo = i
			}
			hi = i
		}
	}
	for i := lo; i <= hi; i++ {
		if !set[i] {
			return 0, 0, fmt.Errorf("tls-protocols %q is not a contiguous range of versions (crypto/tls takes a minimum and a maximum)", v)
		}
	}
	return protocolVersions[lo].v, protocolVersions[hi].v, nil
}

// openSSLNames maps OpenSSL's names of the TLS 1.2 suites crypto/tls
// implements to their ids; IANA names come from crypto/tls itself.
var openSSLNames = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
}

// ParseCiphers parses tls-ciphers: a ':' (or ',' / space) separated list
// of TLS 1.2 suite names, OpenSSL's (ECDHE-RSA-AES128-GCM-SHA256) or IANA's
// (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256). OpenSSL's keywords and
// operators (HIGH, !aNULL, @STRENGTH) have no crypto/tls equivalent and
// are refused. Empty means crypto/tls's defaults.
func ParseCiphers(v string) ([]uint16, error) {
	names := strings.FieldsFunc(v, func(r rune) bool { return r == ':' || r == ',' || r == ' ' })
	if len(names) == 0 {
		return nil, nil
	}
	iana := map[string]uint16{}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		iana[s.Name] = s.ID
	}
	out := make([]uint16, 0, len(names))
	for _, n := range names {
		id, ok := openSSLNames[strings.ToUpper(n)]
		if !ok {
			id, ok = iana[strings.ToUpper(n)]
		}
		if !ok {
			return nil, fmt.Errorf("tls-ciphers: unsupported cipher %q (list OpenSSL or IANA names of suites crypto/tls implements; keywords like HIGH or !aNULL are not supported)", n)
		}
		out = append(out, id)
	}
	return out, nil
}

var tls13Suites = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}

// CheckCiphersuites validates tls-ciphersuites (TLS 1.3 suite names,
// ':'-separated). crypto/tls does not let TLS 1.3 suites be chosen: they
// are all secure and always enabled, so a list that leaves some out is
// accepted with a warning.
func CheckCiphersuites(v string) (warning string, err error) {
	names := strings.Split(v, ":")
	if strings.TrimSpace(v) == "" {
		return "", nil
	}
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.ToUpper(strings.TrimSpace(n))
		ok := false
		for _, s := range tls13Suites {
			ok = ok || s == n
		}
		if !ok {
			return "", fmt.Errorf("tls-ciphersuites: unknown TLS 1.3 suite %q (known: %s)", n, strings.Join(tls13Suites, ":"))
		}
		seen[n] = true
	}
	if len(seen) < len(tls13Suites) {
		return "tls-ciphersuites: crypto/tls always enables all TLS 1.3 suites (" + strings.Join(tls13Suites, ":") + "); the restriction is not applied", nil
	}
	return "", nil
}
