package inventory

import (
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
)

// fakeEnv and fakeFiles stand in for os.LookupEnv and os.ReadFile.
func fakeEnv(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func fakeFiles(files map[string]string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		v, ok := files[p]
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		}
		return []byte(v), nil
	}
}

func TestResolveSecrets(t *testing.T) {
	const secrets = `secrets:
  requirepass: {file: s/req}
  masterauth: {env: MA}
  sentinel_password: {value: inline}
security:
  acl:
    users: [{name: app, password: {file: s/req}}]
`
	src := strings.Replace(hosts3, "secrets:\n  requirepass: {env: PW}\n", secrets, 1)
	inv, _, err := Parse("dir/inv.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		env   map[string]string
		files map[string]string
		want  *ResolvedSecrets
		errs  []string
	}{
		{
			name:  "all found, one trailing newline dropped",
			env:   map[string]string{"MA": "m a"},
			files: map[string]string{"dir/s/req": "r1\r\n"},
			want:  &ResolvedSecrets{RequirePass: "r1", MasterAuth: "m a", Sentinel: "inline", Users: map[string]string{"app": "r1"}},
		},
		{
			name: "missing file reported once, missing env",
			errs: []string{
				`dir/inv.yaml:6:16: secrets.requirepass: read secret file: open dir/s/req: file does not exist (hint: create the file with the password on one line, mode 0600)`,
				`dir/inv.yaml:7:15: secrets.masterauth: environment variable MA is not set (hint: export MA before running hactl)`,
			},
		},
		{
			name:  "empty and multi-line secrets",
			env:   map[string]string{"MA": ""},
			files: map[string]string{"dir/s/req": "a\nb\n"},
			errs: []string{
				`dir/inv.yaml:6:16: secrets.requirepass: secret from file dir/s/req contains a line break or NUL byte (hint: create the file with the password on one line, mode 0600)`,
				`dir/inv.yaml:7:15: secrets.masterauth: secret from env MA is empty (hint: export MA before running hactl)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveSecrets(inv, fakeEnv(tt.env), fakeFiles(tt.files))
			var errs []string
			for _, e := range AsErrorList(err) {
				errs = append(errs, e.Error())
			}
			if err != nil && errs == nil {
				t.Fatalf("error %v is not an ErrorList", err)
			}
			if !reflect.DeepEqual(errs, tt.errs) {
				t.Errorf("errors:\n got %s\nwant %s", strings.Join(errs, "\n     "), strings.Join(tt.errs, "\n     "))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("secrets = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestResolveSecretsNeverEchoesInlineValues(t *testing.T) {
	src := strings.Replace(hosts3, "{env: PW}", "{value: \"top\\nsecret\"}", 1)
	inv, _, err := Parse("inv.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ResolveSecrets(inv, fakeEnv(nil), fakeFiles(nil))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("ResolveSecrets error = %v; want an *Error", err)
	}
	if strings.Contains(err.Error(), "secret\n") || strings.Contains(err.Error(), "top") {
		t.Errorf("error %q reveals the secret", err)
	}
}

func TestResolveSecretsMasterAuthMustMatch(t *testing.T) {
	src := hosts3 + "  masterauth: {env: MA}\n"
	inv, _, err := Parse("inv.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ResolveSecrets(inv, fakeEnv(map[string]string{"PW": "a", "MA": "b"}), fakeFiles(nil))
	want := `inv.yaml:7:15: secrets.masterauth: masterauth differs from requirepass: replicas could not authenticate to the master (hint: remove masterauth (it defaults to requirepass) or point both at the same source)`
	if err == nil || err.Error() != want {
		t.Errorf("ResolveSecrets error = %v; want %s", err, want)
	}
	if _, err := ResolveSecrets(inv, fakeEnv(map[string]string{"PW": "a", "MA": "a"}), fakeFiles(nil)); err != nil {
		t.Errorf("same password from two sources: %v", err)
	}
}
