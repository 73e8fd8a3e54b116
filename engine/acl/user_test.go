package acl

import (
	"testing"
)

func testCatalog() *Catalog {
	return NewCatalog([]*Command{
		{Name: "get", Categories: ParseCategories("read", "string", "fast"), FirstKey: 1, LastKey: 1, KeyStep: 1, KeySpecs: []KeySpec{{1, KeyRead}}},
		{Name: "set", Categories: ParseCategories("write", "string", "slow"), FirstKey: 1, LastKey: 1, KeyStep: 1},
		{Name: "del", Categories: ParseCategories("write", "keyspace", "slow"), FirstKey: 1, LastKey: -1, KeyStep: 1, KeySpecs: []KeySpec{{1, KeyWrite}}},
		{Name: "publish", Categories: ParseCategories("pubsub", "fast"), Channels: ChanFirst},
		{Name: "psubscribe", Categories: ParseCategories("pubsub", "slow"), Channels: ChanPatterns},
		{Name: "auth", Categories: ParseCategories("connection", "fast"), NoAuth: true},
		{Name: "select", Categories: ParseCategories("connection", "fast")},
		{Name: "config", Categories: ParseCategories("slow"), Subs: []*Command{
			{Name: "config|get", Categories: ParseCategories("admin", "dangerous", "slow")},
			{Name: "config|set", Categories: ParseCategories("admin", "dangerous", "slow")},
		}},
	})
}

func TestSetRuleErrorsAndDescribe(t *testing.T) {
	cat := testCatalog()
	tests := []struct {
		rules []string
		err   string
		desc  string
	}{
		{[]string{"on", ">pw", "~app:*", "+get"}, "", "on #" + HashPassword([]byte("pw")) + " ~app:* resetchannels -@all +@read"}, // best fit: get is all of @read here,
		{[]string{"+@string"}, "", "off resetchannels -@all +@string"},
		{[]string{"allkeys", "allchannels", "allcommands", "-config|set"}, "", "off ~* &* +@all -config|set"},
		{[]string{"%R~r:*", "%RW~rw", "%W~w"}, "", "off %R~r:* ~rw %W~w resetchannels -@all"},
		{[]string{"+select|0"}, "", "off resetchannels -@all +select|0"},
		{[]string{"nopass", "reset"}, "", "off sanitize-payload resetchannels -@all"},
		{[]string{"~*", "~x"}, msgKeysAfterAll, ""},
		{[]string{"&*", "&x"}, msgChansAfterAll, ""},
		{[]string{"<nope"}, msgNoSuchPass, ""},
		{[]string{"#ABC"}, msgBadHash, ""},
		{[]string{"+nosuch"}, msgUnknownCmd, ""},
		{[]string{"+@nosuch"}, msgUnknownCmd, ""},
		{[]string{"+config|get|x"}, msgFirstArgSub, ""},
		{[]string{"+config|nosub"}, msgUnknownCmd, ""},
		{[]string{"%X~a"}, msgSyntax, ""},
		{[]string{"bogus"}, msgSyntax, ""},
	}
	for _, tt := range tests {
		s := NewStore(cat, nil)
		err := s.SetUser("u", tt.rules)
		if tt.err != "" {
			re, ok := err.(*RuleError)
			if !ok || re.Msg != tt.err {
				t.Errorf("%v: err %v, want %q", tt.rules, err, tt.err)
			}
			if s.User("u") != nil {
				t.Errorf("%v: user created despite the error", tt.rules)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tt.rules, err)
		}
		if got := s.User("u").Describe(cat); got != tt.desc {
			t.Errorf("%v:\n got  %q\n want %q", tt.rules, got, tt.desc)
		}
	}
}

func TestCheck(t *testing.T) {
	cat := testCatalog()
	s := NewStore(cat, nil)
	if err := s.SetUser("u", []string{"on", "%R~r:*", "~rw:*", "&news.*", "+get", "+set", "+del", "+publish", "+psubscribe", "+select|0"}); err != nil {
		t.Fatal(err)
	}
	u := s.User("u")
	args := func(a ...string) [][]byte {
		out := make([][]byte, len(a))
		for i := range a {
			out[i] = []byte(a[i])
		}
		return out
	}
	tests := []struct {
		cmd  string
		args [][]byte
		want Reason
		pos  int
	}{
		{"get", args("get", "r:1"), OK, 0},
		{"get", args("get", "x"), DeniedKey, 1},
		{"set", args("set", "r:1", "v"), DeniedKey, 1},
		{"set", args("set", "rw:1", "v"), OK, 0},
		{"del", args("del", "rw:1", "r:1"), DeniedKey, 2},
		{"publish", args("publish", "news.a", "m"), OK, 0},
		{"publish", args("publish", "other", "m"), DeniedChannel, 1},
		{"psubscribe", args("psubscribe", "news.*"), OK, 0},
		{"psubscribe", args("psubscribe", "news.a"), DeniedChannel, 1},
		{"select", args("select", "0"), OK, 0},
		{"select", args("select", "1"), DeniedCmd, 0},
		{"auth", args("auth", "x"), OK, 0},
		{"config|get", args("config", "get", "x"), DeniedCmd, 0},
	}
	for _, tt := range tests {
		r, pos := u.Check(cat.Lookup(tt.cmd), tt.args)
		if r != tt.want || pos != tt.pos {
			t.Errorf("%s %q: %v/%d, want %v/%d", tt.cmd, tt.args, r, pos, tt.want, tt.pos)
		}
	}
}

func TestAuthenticateAndRequirePass(t *testing.T) {
	s := NewStore(testCatalog(), nil)
	if _, ok := s.Authenticate([]byte("default"), []byte("anything")); !ok {
		t.Fatal("default is nopass without requirepass")
	}
	s.SetRequirePass("secret")
	if _, ok := s.Authenticate([]byte("default"), []byte("wrong")); ok {
		t.Fatal("wrong password accepted")
	}
	if _, ok := s.Authenticate([]byte("default"), []byte("secret")); !ok {
		t.Fatal("requirepass refused")
	}
	s.SetUser("off", []string{"off", ">pw"})
	if _, ok := s.Authenticate([]byte("off"), []byte("pw")); ok {
		t.Fatal("disabled user authenticated")
	}
}
