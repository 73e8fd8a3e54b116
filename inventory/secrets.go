package inventory

import (
	"fmt"
	"strings"
)

// ResolvedSecrets holds the secret values of one inventory. Never log it.
type ResolvedSecrets struct {
	RequirePass string
	MasterAuth  string
	Sentinel    string
	Users       map[string]string // ACL user name -> password
	TLS         *TLSMaterial      // nil until loaded (security.tls.enabled)
}

// ResolveSecrets reads every secret source of inv: files through readFile
// (a single trailing newline is dropped) and environment variables through
// lookupEnv. Pass os.LookupEnv and os.ReadFile in production and fakes in
// tests. Every problem is reported at once as an ErrorList whose messages
// name the source, never the value.
func ResolveSecrets(inv *Inventory, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (*ResolvedSecrets, error) {
	var errs ErrorList
	get := func(ref SecretRef) string {
		v, err := resolveSecret(ref, lookupEnv, readFile)
		if err != "" {
			errs = append(errs, &Error{File: inv.File, Line: ref.Pos.Line, Col: ref.Pos.Col, Field: ref.Field, Msg: err,
				Hint: secretHint(ref)})
		}
		return v
	}
	// Resolve each distinct source once, so a shared source reports once.
	cache := map[SecretRef]string{}
	once := func(ref SecretRef) string {
		key := SecretRef{Source: ref.Source, Ref: ref.Ref}
		if v, ok := cache[key]; ok {
			return v
		}
		v := get(ref)
		cache[key] = v
		return v
	}
	s := &ResolvedSecrets{
		RequirePass: once(inv.Secrets.RequirePass),
		MasterAuth:  once(inv.Secrets.MasterAuth),
		Sentinel:    once(inv.Secrets.Sentinel),
		Users:       map[string]string{},
	}
	for _, u := range inv.Security.ACL.Users {
		s.Users[u.Name] = once(u.Password)
	}
	ma := inv.Secrets.MasterAuth
	if s.MasterAuth != "" && s.RequirePass != "" && s.MasterAuth != s.RequirePass && len(inv.Security.ACL.Users) == 0 {
		errs = append(errs, &Error{File: inv.File, Line: ma.Pos.Line, Col: ma.Pos.Col, Field: ma.Field,
			Msg:  "masterauth differs from requirepass: replicas could not authenticate to the master",
			Hint: "remove masterauth (it defaults to requirepass) or point both at the same source"})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

// resolveSecret returns the value of ref, or a message saying what failed.
func resolveSecret(ref SecretRef, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (string, string) {
	var v string
	switch ref.Source {
	case SecretFile:
		b, err := readFile(ref.Ref)
		if err != nil {
			return "", fmt.Sprintf("read secret file: %v", err)
		}
		v = string(b)
		v = strings.TrimSuffix(v, "\n")
		v = strings.TrimSuffix(v, "\r")
	case SecretEnv:
		var ok bool
		if v, ok = lookupEnv(ref.Ref); !ok {
			return "", fmt.Sprintf("environment variable %s is not set", ref.Ref)
		}
	case SecretValue:
		v = ref.Ref
	default:
		return "", "missing secret"
	}
	switch {
	case v == "":
		return "", fmt.Sprintf("secret from %s is empty", describe(ref))
	case strings.ContainsAny(v, "\n\r\x00"):
		return "", fmt.Sprintf("secret from %s contains a line break or NUL byte", describe(ref))
	}
	return v, ""
}

// describe names a secret source without revealing an inline value.
func describe(ref SecretRef) string {
	if ref.Source == SecretValue {
		return "inline value"
	}
	return string(ref.Source) + " " + ref.Ref
}

// secretHint says how to fix a secret that could not be read.
func secretHint(ref SecretRef) string {
	switch ref.Source {
	case SecretFile:
		if ref.Generated {
			return "run hactl up (it generates missing passwords) or give password: {file: PATH}"
		}
		return "create the file with the password on one line, mode 0600"
	case SecretEnv:
		return "export " + ref.Ref + " before running hactl"
	}
	return "write {file: PATH} or {env: NAME}"
}
