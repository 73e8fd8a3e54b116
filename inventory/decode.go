package inventory

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hactl/hactl/internal/textdist"
	"go.yaml.in/yaml/v3"
)

// decoder walks yaml.Node trees, collecting diagnostics with positions.
type decoder struct {
	file  string
	diags []*Error
	pos   map[string]Pos // field path -> position of its value
}

// fieldFunc decodes the value of one mapping key; field is its full path.
type fieldFunc func(field string, v *yaml.Node)

func (d *decoder) add(n *yaml.Node, warning bool, field, hint, format string, args ...any) {
	e := &Error{File: d.file, Field: field, Msg: fmt.Sprintf(format, args...), Hint: hint, Warning: warning}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.diags = append(d.diags, e)
}

// errorf records an error at node n.
func (d *decoder) errorf(n *yaml.Node, field, hint, format string, args ...any) {
	d.add(n, false, field, hint, format, args...)
}

// warnf records a warning at node n.
func (d *decoder) warnf(n *yaml.Node, field, hint, format string, args ...any) {
	d.add(n, true, field, hint, format, args...)
}

// errorAt records an error at a position remembered for field (or at the
// start of the file when the field was not written).
func (d *decoder) errorAt(field, hint, format string, args ...any) {
	d.atPos(false, field, hint, format, args...)
}

// warnAt is errorAt for warnings.
func (d *decoder) warnAt(field, hint, format string, args ...any) {
	d.atPos(true, field, hint, format, args...)
}

func (d *decoder) atPos(warning bool, field, hint, format string, args ...any) {
	p := d.pos[field]
	d.add(&yaml.Node{Line: p.Line, Column: p.Col}, warning, field, hint, format, args...)
}

// mark remembers the position of field's value.
func (d *decoder) mark(field string, n *yaml.Node) {
	d.pos[field] = Pos{Line: n.Line, Col: n.Column}
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// join builds a field path.
func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// kindName describes a node for "got ..." messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!int":
			return "integer " + n.Value
		case "!!bool":
			return "boolean " + n.Value
		case "!!float":
			return "number " + n.Value
		}
		return strconv.Quote(n.Value)
	}
	return "an unknown node"
}

// typeError records "must be WANT, got X".
func (d *decoder) typeError(n *yaml.Node, field, want, hint string) {
	d.errorf(n, field, hint, "must be %s, got %s", want, kindName(n))
}

// mapping decodes a mapping node with the given keys. Unknown and duplicate
// keys are reported; it returns false when n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, field string, keys map[string]fieldFunc) bool {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.typeError(n, field, "a mapping", "")
		return false
	}
	d.mark(field, n)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		sub := join(field, k.Value)
		if k.Value == "<<" {
			d.errorf(k, sub, "write the keys out", "YAML merge keys are not supported")
			continue
		}
		if line, ok := seen[k.Value]; ok {
			d.errorf(k, sub, "remove one of them", "duplicate key %q (first at line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		fn, ok := keys[k.Value]
		if !ok {
			d.errorf(k, sub, unknownKeyHint(k.Value, keys), "unknown key %q", k.Value)
			continue
		}
		d.mark(sub, v)
		fn(sub, v)
	}
	return true
}

// has reports whether mapping n has key.
func has(n *yaml.Node, key string) bool {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

// require reports each key missing from mapping n.
func (d *decoder) require(n *yaml.Node, field string, hints map[string]string, keys ...string) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return
	}
	for _, k := range keys {
		if !has(n, k) {
			d.errorf(n, join(field, k), hints[k], "missing required field %q", k)
		}
	}
}

// unknownKeyHint suggests the closest valid key, or lists them all.
func unknownKeyHint(key string, keys map[string]fieldFunc) string {
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	best, bestDist := "", -1
	for _, k := range names {
		if dist := textdist.Levenshtein(strings.ToLower(key), k); bestDist < 0 || dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if bestDist >= 0 && bestDist <= max(2, len(key)/3) {
		return fmt.Sprintf("did you mean %q?", best)
	}
	return "valid keys: " + strings.Join(names, ", ")
}

// str decodes a non-empty scalar as text.
func (d *decoder) str(n *yaml.Node, field string, dst *string) bool {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		d.typeError(n, field, "a string", "")
		return false
	}
	if n.Value == "" {
		d.errorf(n, field, "remove the key to use the default", "must not be empty")
		return false
	}
	*dst = n.Value
	return true
}

// integer decodes an integer within [lo, hi].
func (d *decoder) integer(n *yaml.Node, field string, lo, hi int, dst *int) bool {
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		d.typeError(n, field, "an integer", "")
		return false
	}
	if v < int64(lo) || v > int64(hi) {
		d.errorf(n, field, "", "%d is out of range [%d, %d]", v, lo, hi)
		return false
	}
	*dst = int(v)
	return true
}

// port decodes a TCP port number.
func (d *decoder) port(n *yaml.Node, field string, dst *int) bool {
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		d.typeError(n, field, "a port number", "")
		return false
	}
	if v < 1 || v > 65535 {
		d.errorf(n, field, "use a port between 1 and 65535", "port %d out of range", v)
		return false
	}
	*dst = int(v)
	return true
}

// boolean decodes true/false, also accepting redis.conf's yes/no.
func (d *decoder) boolean(n *yaml.Node, field string, dst *bool) bool {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!bool":
			return n.Decode(dst) == nil
		case "!!str":
			switch strings.ToLower(n.Value) {
			case "yes", "on":
				*dst = true
				return true
			case "no", "off":
				*dst = false
				return true
			}
		}
	}
	d.typeError(n, field, "true or false", "")
	return false
}

// duration decodes a Go duration with a unit ("60s", "60000ms"), positive
// and a whole number of milliseconds.
func (d *decoder) duration(n *yaml.Node, field string, dst *time.Duration) bool {
	if n.Kind != yaml.ScalarNode {
		d.typeError(n, field, "a duration", `write it with a unit, e.g. "60s" or "500ms"`)
		return false
	}
	if n.ShortTag() == "!!int" {
		d.errorf(n, field, fmt.Sprintf(`write %sms or a value with another unit such as "60s"`, n.Value),
			"duration %s has no unit", n.Value)
		return false
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		d.errorf(n, field, `use a number with a unit: ms, s, m or h, e.g. "60s"`, "invalid duration %q", n.Value)
		return false
	}
	if v <= 0 || v%time.Millisecond != 0 {
		d.errorf(n, field, "use a positive whole number of milliseconds", "invalid duration %q", n.Value)
		return false
	}
	*dst = v
	return true
}

// oneOf decodes a string that must be one of choices.
func (d *decoder) oneOf(n *yaml.Node, field string, dst *string, choices ...string) bool {
	var s string
	if !d.str(n, field, &s) {
		return false
	}
	for _, c := range choices {
		if s == c {
			*dst = s
			return true
		}
	}
	d.errorf(n, field, "use one of: "+strings.Join(choices, ", "), "invalid value %q", s)
	return false
}

// sequence calls fn for each item of a list node.
func (d *decoder) sequence(n *yaml.Node, field string, fn func(field string, item *yaml.Node)) bool {
	if n.Kind != yaml.SequenceNode {
		d.typeError(n, field, "a list", "")
		return false
	}
	for i, item := range n.Content {
		sub := fmt.Sprintf("%s[%d]", field, i)
		item = resolve(item)
		d.mark(sub, item)
		fn(sub, item)
	}
	return true
}

// strings decodes a list of non-empty strings.
func (d *decoder) strings(n *yaml.Node, field string, dst *[]string) {
	out := []string{}
	d.sequence(n, field, func(sub string, item *yaml.Node) {
		var s string
		if d.str(item, sub, &s) {
			out = append(out, s)
		}
	})
	*dst = out
}
