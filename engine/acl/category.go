package acl

import "strings"

// Category is a bit set of command categories.
type Category uint64

// The categories in the order of Redis's ACLCommandCategories table (ACL
// CAT lists them in this order).
const (
	CatKeyspace Category = 1 << iota
	CatRead
	CatWrite
	CatSet
	CatSortedSet
	CatList
	CatHash
	CatString
	CatBitmap
	CatHyperLogLog
	CatGeo
	CatStream
	CatPubSub
	CatAdmin
	CatFast
	CatSlow
	CatBlocking
	CatDangerous
	CatConnection
	CatTransaction
	CatScripting
	numCategories = iota
)

// CategoryNames lists the category names in Redis's order; bit i of a
// Category is CategoryNames[i].
var CategoryNames = [numCategories]string{
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
	"bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast",
	"slow", "blocking", "dangerous", "connection", "transaction", "scripting",
}

// ParseCategory returns the category named name (case-insensitive, without
// the @), or 0 when there is none.
func ParseCategory(name string) Category {
	for i, n := range CategoryNames {
		if strings.EqualFold(n, name) {
			return 1 << i
		}
	}
	return 0
}

// ParseCategories turns names ("string", "fast") into a Category; it
// panics on an unknown name, for static tables.
func ParseCategories(names ...string) Category {
	var c Category
	for _, n := range names {
		b := ParseCategory(n)
		if b == 0 {
			panic("acl: unknown category " + n)
		}
		c |= b
	}
	return c
}

// Names returns the names of the categories in c, in Redis's order.
func (c Category) Names() []string {
	var out []string
	for i, n := range CategoryNames {
		if c&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}
