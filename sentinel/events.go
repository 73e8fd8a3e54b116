package sentinel

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Log levels of Redis's log lines.
const (
	LevelDebug   = '.'
	LevelVerbose = '-'
	LevelNotice  = '*'
	LevelWarning = '#'
)

// Event is one sentinel event: its channel name (e.g. "+sdown") and the
// message published on it ("master mymaster 127.0.0.1 6379").
type Event struct {
	Time    time.Time
	Level   byte
	Type    string
	Message string
}

// EventSink receives every event. Event is called with the sentinel's
// lock held: it must not block and must not call back into the Sentinel.
type EventSink interface {
	Event(e Event)
}

// LogSink writes events in Redis's log line format:
//
//	12345:X 26 Nov 2026 04:03:12.123 # +sdown master mymaster 127.0.0.1 6379
type LogSink struct {
	mu  sync.Mutex
	w   io.Writer
	pid int
}

// NewLogSink returns a LogSink writing to w.
func NewLogSink(w io.Writer) *LogSink { return &LogSink{w: w, pid: os.Getpid()} }

// Event implements EventSink.
func (l *LogSink) Event(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s\n", FormatLogLine(l.pid, e))
}

// FormatLogLine renders one event as Redis does in its log.
func FormatLogLine(pid int, e Event) string {
	return fmt.Sprintf("%d:X %s %c %s %s", pid, e.Time.Format("02 Jan 2006 15:04:05.000"), e.Level, e.Type, e.Message)
}

// MultiSink fans events out to several sinks.
type MultiSink []EventSink

// Event implements EventSink.
func (m MultiSink) Event(e Event) {
	for _, s := range m {
		s.Event(e)
	}
}

// eventLevel is the level Redis logs each event at; events absent here are
// logged at warning level.
var eventLevel = map[string]byte{
	"+slave": LevelNotice, "+sentinel": LevelNotice, "+slave-reconf-sent": LevelNotice,
	"+slave-reconf-inprog": LevelNotice, "+slave-reconf-done": LevelNotice,
	"+convert-to-slave": LevelNotice, "+fix-slave-config": LevelNotice,
	"-cmd-link-reconnection": LevelDebug, "-pubsub-link-reconnection": LevelDebug,
	"+reboot": LevelNotice, "-role-change": LevelNotice, "+role-change": LevelNotice,
	"+slave-reconf-sent-be": LevelNotice, "-slave-reconf-sent-timeout": LevelNotice,
}
