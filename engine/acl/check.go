package acl

import (
	"strings"

	"github.com/hactl/hactl/engine/glob"
)

// Reason says why a check failed (ACL_DENIED_* in Redis).
type Reason int

// Check results, ordered like Redis's so that the most relevant wins.
const (
	OK Reason = iota
	DeniedCmd
	DeniedKey
	DeniedAuth
	DeniedChannel
)

// LogName is the reason as ACL LOG shows it.
func (r Reason) LogName() string {
	switch r {
	case DeniedCmd:
		return "command"
	case DeniedKey:
		return "key"
	case DeniedAuth:
		return "auth"
	case DeniedChannel:
		return "channel"
	}
	return "unknown"
}

// NoPerm is the error a client gets (without the leading "-").
func NoPerm(r Reason, cmd *Command) string {
	switch r {
	case DeniedCmd:
		return "NOPERM this user has no permissions to run the '" + cmd.Name + "' command"
	case DeniedKey:
		return "NOPERM this user has no permissions to access one of the keys used as arguments"
	case DeniedChannel:
		return "NOPERM this user has no permissions to access one of the channels used as arguments"
	}
	return "no permission"
}

// DryRunMessage is ACL DRYRUN's answer for a denial; obj is the denied
// key or channel.
func DryRunMessage(r Reason, cmd *Command, obj string) string {
	switch r {
	case DeniedCmd:
		return "This user has no permissions to run the '" + cmd.Name + "' command"
	case DeniedKey:
		return "This user has no permissions to access the '" + obj + "' key"
	case DeniedChannel:
		return "This user has no permissions to access the '" + obj + "' channel"
	}
	return "no permission"
}

// KeyPositions returns the argument indexes of cmd's keys in args, from
// FirstKey/LastKey/KeyStep (or cmd.Keys when set).
func (cmd *Command) KeyPositions(args [][]byte) []int {
	if cmd.Keys != nil {
		return cmd.Keys(args)
	}
	if cmd.FirstKey <= 0 {
		return nil
	}
	last := cmd.LastKey
	if last < 0 {
		last += len(args)
	}
	step := max(cmd.KeyStep, 1)
	var out []int
	for j := cmd.FirstKey; j <= last && j < len(args); j += step {
		out = append(out, j)
	}
	return out
}

// keyAccess is the access needed by the key at argument pos.
func (cmd *Command) keyAccess(pos int) int {
	acc := KeyAll
	for _, ks := range cmd.KeySpecs {
		if ks.Pos <= pos {
			acc = ks.Access
		}
	}
	return acc
}

// Check is ACLCheckAllUserCommandPerm for a user with one selector: the
// command bit (or an allowed first argument), then every key, then every
// channel. On denial it returns the reason and the index in args of the
// denied key or channel (0 for commands).
func (u *User) Check(cmd *Command, args [][]byte) (Reason, int) {
	s := &u.root
	if !cmd.NoAuth && !s.bit(cmd.id) {
		idx := 1
		if cmd.parent != nil {
			idx = 2
		}
		allowed := false
		if len(args) > idx {
			for _, a := range s.firstArgs[cmd.id] {
				if strings.EqualFold(a, string(args[idx])) {
					allowed = true
					break
				}
			}
		}
		if !allowed {
			return DeniedCmd, 0
		}
	}
	if !s.allKeys {
		for _, pos := range cmd.KeyPositions(args) {
			if !s.keyAllowed(args[pos], cmd.keyAccess(pos)) {
				return DeniedKey, pos
			}
		}
	}
	if !s.allChannels && cmd.Channels != ChanNone && len(args) > 1 {
		end := len(args)
		if cmd.Channels == ChanFirst {
			end = 2
		}
		for pos := 1; pos < end; pos++ {
			if !s.channelAllowed(args[pos], cmd.Channels == ChanPatterns) {
				return DeniedChannel, pos
			}
		}
	}
	return OK, 0
}

func (s *selector) keyAllowed(key []byte, need int) bool {
	for _, p := range s.patterns {
		if p.flags&need != need {
			continue
		}
		if glob.Match([]byte(p.pat), key, false) {
			return true
		}
	}
	return false
}

// channelAllowed matches a channel against the patterns; a PSUBSCRIBE
// pattern must equal an ACL pattern literally.
func (s *selector) channelAllowed(ch []byte, isPattern bool) bool {
	for _, p := range s.channels {
		if isPattern && p == string(ch) || !isPattern && glob.Match([]byte(p), ch, false) {
			return true
		}
	}
	return false
}
