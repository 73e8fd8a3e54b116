package server

import "strings"

// Error replies with Redis 7.0.15's exact wording. Messages that embed
// arguments are built by the functions below.
const (
	errSyntax        = "ERR syntax error"
	errNotInt        = "ERR value is not an integer or out of range"
	errNotFloat      = "ERR value is not a valid float"
	errWrongType     = "WRONGTYPE Operation against a key holding the wrong kind of value"
	errNoAuth        = "NOAUTH Authentication required."
	errWrongPass     = "WRONGPASS invalid username-password pair or user is disabled."
	errNoPassword    = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
	errDBIndex       = "ERR DB index is out of range"
	errNoSuchKey     = "ERR no such key"
	errOverflow      = "ERR increment or decrement would overflow"
	errIncrFloatNaN  = "ERR increment would produce NaN or Infinity"
	errInvalidExpire = "ERR invalid expire time in '%s' command"
	errBitOffset     = "ERR bit offset is not an integer or out of range"
	errBitValue      = "ERR bit is not an integer or out of range"
	errOffsetRange   = "ERR offset is out of range"
	errStringTooLong = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	errMaxClients    = "ERR max number of clients reached"
	errClientName    = "ERR Client names cannot contain spaces, newlines or special characters."
	errReadOnly      = "READONLY You can't write against a read only replica."
	errNoProto       = "NOPROTO unsupported protocol version"
	errHelloNoAuth   = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
	errSameObject    = "ERR source and destination objects are the same"
	errNoSuchClient  = "ERR No such client"
	errDebugDisabled = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"no\", you can enable it in your configuration file and restart the server, or use CONFIG SET if it's \"local\"."
	errDenied        = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside."
)

func errWrongArgs(name string) string {
	return "ERR wrong number of arguments for '" + name + "' command"
}

func errUnknownSubcommand(sub, cmd string) string {
	return "ERR unknown subcommand '" + sub + "'. Try " + cmd + " HELP."
}

// errUnknownCommand reproduces Redis's "unknown command" text: the name
// (at most 128 bytes) and a preview of the arguments, each quoted, all of
// them together cut at 128 bytes (processCommand in server.c).
func errUnknownCommand(args [][]byte) string {
	name := args[0]
	if len(name) > 128 {
		name = name[:128]
	}
	var preview []byte
	for _, a := range args[1:] {
		if len(preview) >= 128 {
			break
		}
		if room := 128 - len(preview); len(a) > room {
			a = a[:room]
		}
		preview = append(preview, '\'')
		preview = append(preview, a...)
		preview = append(preview, "' "...)
	}
	return "ERR unknown command '" + string(sanitize(name)) + "', with args beginning with: " + string(sanitize(preview))
}

// sanitize replaces CR/LF so an echoed argument cannot break the protocol.
func sanitize(b []byte) []byte {
	for _, c := range b {
		if c == '\r' || c == '\n' {
			out := make([]byte, len(b))
			for i, c := range b {
				if c == '\r' || c == '\n' {
					c = ' '
				}
				out[i] = c
			}
			return out
		}
	}
	return b
}

// errSubcommandSyntax is addReplySubcommandSyntaxError.
func errSubcommandSyntax(args [][]byte) string {
	sub := args[1]
	if len(sub) > 128 {
		sub = sub[:128]
	}
	return "ERR unknown subcommand or wrong number of arguments for '" + string(sanitize(sub)) + "'. Try " + strings.ToUpper(string(args[0])) + " HELP."
}
