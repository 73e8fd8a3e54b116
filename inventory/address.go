package inventory

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// checkAddress validates a host address: an IP (v4 or v6, not unspecified,
// no zone) or a DNS hostname. It returns "" when valid, else the problem.
func checkAddress(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		switch {
		case a.Zone() != "":
			return "IPv6 zones are not supported"
		case a.IsUnspecified():
			return "the unspecified address cannot be reached"
		}
		return ""
	}
	if !isHostname(s) {
		return "not an IP address or a hostname"
	}
	return ""
}

// isHostname reports whether s is a valid DNS hostname (RFC 1123 labels)
// that does not look like a mistyped IPv4 address.
func isHostname(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	s = strings.TrimSuffix(s, ".")
	labels := strings.Split(s, ".")
	allNumeric := true
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range []byte(l) {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
				allNumeric = false
			case c >= '0' && c <= '9', c == '-':
			default:
				return false
			}
		}
	}
	return !allNumeric
}

// isName reports whether s is a valid host, service or user name:
// letters, digits, '.', '_' and '-', starting with a letter or digit.
func isName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			i > 0 && (c == '.' || c == '_' || c == '-')
		if !ok {
			return false
		}
	}
	return true
}

// checkJump validates a jump host written [user@]host[:port].
func checkJump(s string) string {
	rest := s
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if !isName(rest[:at]) {
			return fmt.Sprintf("invalid user %q", rest[:at])
		}
		rest = rest[at+1:]
	}
	host := rest
	if h, p, err := splitHostPort(rest); err == nil {
		host = h
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("port %q out of range", p)
		}
	}
	if msg := checkAddress(host); msg != "" {
		return fmt.Sprintf("host %q: %s", host, msg)
	}
	return ""
}

// splitHostPort splits "host:port" and "[v6]:port"; a bare IPv6 address has
// no port.
func splitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]:")
		if end < 0 {
			return "", "", fmt.Errorf("no port in %q", s)
		}
		return s[1:end], s[end+2:], nil
	}
	if strings.Count(s, ":") != 1 {
		return "", "", fmt.Errorf("no port in %q", s)
	}
	i := strings.IndexByte(s, ':')
	return s[:i], s[i+1:], nil
}

// parseMemory parses a redis.conf memory size: an integer with an optional
// unit b, k, kb, m, mb, g, gb (case-insensitive; k is 1000, kb is 1024).
func parseMemory(s string) (int64, bool) {
	t := strings.ToLower(strings.TrimSpace(s))
	units := []struct {
		suffix string
		mul    int64
	}{
		{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10},
		{"g", 1000 * 1000 * 1000}, {"m", 1000 * 1000}, {"k", 1000}, {"b", 1},
	}
	mul := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mul = strings.TrimSuffix(t, u.suffix), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mul {
		return 0, false
	}
	return n * mul, true
}
