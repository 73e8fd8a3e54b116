package server

// Hooks every write command calls, so that WATCH, keyspace notifications,
// blocked clients, persistence and replication see every change. Command
// handlers never bump counters or signal anything by other means.

// Keyspace notification classes (notify-keyspace-events letters).
const (
	notifyGeneric byte = 'g'
	notifyString  byte = '$'
	notifyList    byte = 'l'
	notifySet     byte = 's'
	notifyHash    byte = 'h'
	notifyZSet    byte = 'z'
	notifyExpired byte = 'x'
	notifyEvicted byte = 'e'
	notifyStream  byte = 't'
	notifyNew     byte = 'n'
)

// written records one change to key in the client's current database: it
// counts a change for save points, invalidates WATCHes on key, and emits
// the keyspace notification event of the given class (for example
// c.written(key, notifyHash, "hset")). Call it once per key per command,
// after the change is in place.
func (c *Client) written(key []byte, class byte, event string) {
	c.srv.dirty++
	c.srv.keyModified(c.db, key)
	c.srv.notifyKeyspace(class, event, key, c.db)
}

// keyReady tells clients blocked on key (BLPOP, BZPOPMIN...) that it may
// now serve them; list and sorted-set pushes call it after written.
func (c *Client) keyReady(key []byte) { c.srv.signalKeyReady(c.db, key) }
