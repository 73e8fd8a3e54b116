package acl

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
)

// HashLen is the length of a hex SHA-256 password hash.
const HashLen = 64

// HashPassword returns the lowercase hex SHA-256 of pass, the form Redis
// stores and shows.
func HashPassword(pass []byte) string {
	sum := sha256.Sum256(pass)
	return hex.EncodeToString(sum[:])
}

// validHash reports whether h is 64 lowercase hex digits
// (ACLCheckPasswordHash).
func validHash(h string) bool {
	if len(h) != HashLen {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// hashEqual compares two hashes in constant time.
func hashEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// MaxGenPassBits is the largest ACL GENPASS argument.
const MaxGenPassBits = 4096

// GenPass returns bits random bits as hex, rounded up to whole hex digits
// like ACL GENPASS.
func GenPass(bits int) (string, error) {
	if bits <= 0 || bits > MaxGenPassBits {
		return "", fmt.Errorf("acl: genpass: %d bits out of range", bits)
	}
	chars := (bits + 3) / 4
	buf := make([]byte, (chars+1)/2)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("acl: genpass: %w", err)
	}
	return hex.EncodeToString(buf)[:chars], nil
}
