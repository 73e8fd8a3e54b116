package difftest

import (
	"bufio"
	"errors"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		in    string
		typ   byte
		str   string
		n     int64
		null  bool
		elems int
	}{
		{in: "+OK\r\n", typ: '+', str: "OK"},
		{in: "-ERR bad\r\n", typ: '-', str: "ERR bad"},
		{in: ":-42\r\n", typ: ':', n: -42},
		{in: "$3\r\na\r\n\r\n", typ: '$', str: "a\r\n"},
		{in: "$0\r\n\r\n", typ: '$', str: ""},
		{in: "$-1\r\n", typ: '$', null: true},
		{in: "*-1\r\n", typ: '*', null: true},
		{in: "*2\r\n:1\r\n*1\r\n+x\r\n", typ: '*', elems: 2},
		{in: "_\r\n", typ: '_', null: true},
		{in: ",3.14\r\n", typ: ',', str: "3.14"},
		{in: "#t\r\n", typ: '#', str: "t"},
		{in: "(123456789012345678901234567890\r\n", typ: '(', str: "123456789012345678901234567890"},
		{in: "!5\r\nERR x\r\n", typ: '!', str: "ERR x"},
		{in: "=8\r\ntxt:abcd\r\n", typ: '=', str: "txt:abcd"},
		{in: "%1\r\n$1\r\nk\r\n:1\r\n", typ: '%', elems: 2},
		{in: "~2\r\n:1\r\n:2\r\n", typ: '~', elems: 2},
		{in: ">2\r\n$1\r\na\r\n$1\r\nb\r\n", typ: '>', elems: 2},
		{in: "|1\r\n+k\r\n+v\r\n:7\r\n", typ: ':', n: 7},
	}
	for _, tt := range tests {
		br := bufio.NewReader(strings.NewReader(tt.in + "+NEXT\r\n"))
		r, err := ReadReply(br)
		if err != nil {
			t.Errorf("ReadReply(%q): %v", tt.in, err)
			continue
		}
		if string(r.Raw) != tt.in || r.Type != tt.typ || r.Str != tt.str || r.Int != tt.n ||
			r.Null != tt.null || len(r.Elems) != tt.elems {
			t.Errorf("ReadReply(%q) = %+v", tt.in, r)
		}
		// Exactly one reply was consumed.
		next, err := ReadReply(br)
		if err != nil || next.Str != "NEXT" {
			t.Errorf("after %q: next reply %+v, %v", tt.in, next, err)
		}
	}
}

func TestReadReplyAttribute(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("|1\r\n+k\r\n+v\r\n:7\r\n"))
	r, err := ReadReply(br)
	if err != nil {
		t.Fatal(err)
	}
	if r.Attr == nil || string(r.Attr.Raw) != "|1\r\n+k\r\n+v\r\n" || len(r.Attr.Elems) != 2 {
		t.Errorf("attribute = %+v", r.Attr)
	}
}

func TestReadReplyErrors(t *testing.T) {
	for _, in := range []string{
		"?\r\n", "+OK\n", ":abc\r\n", "#x\r\n", "_x\r\n", "$x\r\n", "$-2\r\n",
		"$3\r\nabcd\r\n", "*-2\r\n", "~-1\r\n", "=-1\r\n", "\r\n",
	} {
		_, err := ReadReply(bufio.NewReader(strings.NewReader(in)))
		if !errors.Is(err, errProtocol) {
			t.Errorf("ReadReply(%q) error %v, want a protocol error", in, err)
		}
	}
	for _, in := range []string{"", "+OK", "$5\r\nab", "*2\r\n:1\r\n"} {
		if _, err := ReadReply(bufio.NewReader(strings.NewReader(in))); err == nil {
			t.Errorf("ReadReply(%q) on truncated input: no error", in)
		}
	}
}

func TestEncodeCommand(t *testing.T) {
	got := string(EncodeCommand([][]byte{[]byte("SET"), []byte("k"), {}}))
	if want := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"; got != want {
		t.Errorf("EncodeCommand = %q, want %q", got, want)
	}
}

func bufioString(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
