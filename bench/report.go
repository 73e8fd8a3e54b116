package bench

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// RSSTarget is the highest acceptable hactl/redis RSS ratio after loading
// the same keys; RSSGoal is the ratio hactl aims for.
const (
	RSSTarget = 1.3
	RSSGoal   = 1.0
)

// Target is the lowest acceptable hactl/redis throughput ratio at a
// pipeline depth: 1.0 without pipelining, 0.8 with it.
func Target(pipeline int) float64 {
	if pipeline <= 1 {
		return 1.0
	}
	return 0.8
}

// Machine describes where and with what a report was made.
type Machine struct {
	CPUs         int
	CPUModel     string
	GoVersion    string
	RedisVersion string
	// Engine says which hactl-engine binary ran (a path, or the package
	// and git revision it was built from).
	Engine string
	Date   time.Time
	// LoadStart and LoadEnd are the 1, 5 and 15 minute load averages
	// before and after the measurements: other work on the machine makes
	// the numbers noisier.
	LoadStart, LoadEnd string
}

// Settings are the redis-benchmark parameters of a report.
type Settings struct {
	Requests int
	Clients  int
	Rounds   int
}

// Row is the result for one test at one pipeline depth.
type Row struct {
	Op       string
	Pipeline int
	Redis    Measurement
	Engine   Measurement
}

// Ratio is the engine's rps over redis's, rounded to two decimals as it
// is shown and judged, and false when either has no number.
func (r Row) Ratio() (float64, bool) {
	if r.Redis.Status != StatusOK || r.Engine.Status != StatusOK || r.Redis.RPS == 0 {
		return 0, false
	}
	return round2(r.Engine.RPS / r.Redis.RPS), true
}

// RoundRatios are the hactl/redis ratios of each round, in round order, to
// show how much of the median is noise; nil unless both have a number.
func (r Row) RoundRatios() []float64 {
	if _, ok := r.Ratio(); !ok || len(r.Redis.Samples) != len(r.Engine.Samples) {
		return nil
	}
	out := make([]float64, len(r.Redis.Samples))
	for i, redis := range r.Redis.Samples {
		out[i] = round2(r.Engine.Samples[i] / redis)
	}
	return out
}

// round2 rounds to two decimals, so that a verdict agrees with the ratio
// printed beside it.
func round2(v float64) float64 {
	return math.Round(v*100) / 100
}

// Verdict is "meets" or "below" against Target, or says why there is no
// ratio: "unsupported", "failed", or "no baseline" when redis itself failed.
func (r Row) Verdict() string {
	switch {
	case r.Engine.Status != StatusOK:
		return string(r.Engine.Status)
	case r.Redis.Status != StatusOK:
		return "no baseline"
	}
	ratio, _ := r.Ratio()
	if ratio >= Target(r.Pipeline) {
		return "meets"
	}
	return "below"
}

// MemorySample is what one server used after LoadKeys. A value below zero
// means it could not be read; the matching *Err field says why.
type MemorySample struct {
	RSSEmpty      int64
	RSSLoaded     int64
	RSSSettled    int64
	UsedMemory    int64
	UsedMemoryErr string
	DBSize        int64
	DBSizeErr     string
	Load          time.Duration
	// Err is set when the load itself failed; the other fields are then
	// partial.
	Err string
}

// MemoryReport compares the memory of both servers holding the same keys.
type MemoryReport struct {
	// Kind is the dataset (LoadItems): "string" keys or one collection.
	Kind      string
	Keys      int
	ValueSize int
	Settle    time.Duration
	Redis     MemorySample
	Engine    MemorySample
}

// Report is everything one run of the benchmark measured.
type Report struct {
	Machine  Machine
	Settings Settings
	Rows     []Row
	Memory   *MemoryReport // nil when memory was not measured
}

// table is a header and rows of cells, rendered as text or markdown.
type table struct {
	header []string
	rows   [][]string
}

func (r *Report) machineLines() []string {
	m := r.Machine
	return []string{
		fmt.Sprintf("date: %s", m.Date.UTC().Format(time.RFC3339)),
		fmt.Sprintf("machine: %d CPUs, %s; load average (1/5/15 min) %s at start, %s at end", m.CPUs, m.CPUModel, m.LoadStart, m.LoadEnd),
		fmt.Sprintf("go: %s; redis: %s", m.GoVersion, m.RedisVersion),
		fmt.Sprintf("hactl-engine: %s", m.Engine),
		fmt.Sprintf("redis-benchmark: -n %d -c %d, %d alternating rounds, median per op",
			r.Settings.Requests, r.Settings.Clients, r.Settings.Rounds),
	}
}

func (r *Report) throughputTable() table {
	t := table{header: []string{"op", "pipeline", "redis rps", "hactl rps", "hactl/redis", "per round", "target", "verdict"}}
	for _, row := range r.Rows {
		ratio := "-"
		if v, ok := row.Ratio(); ok {
			ratio = fmt.Sprintf("%.2f", v)
		}
		perRound := "-"
		if rr := row.RoundRatios(); rr != nil {
			cells := make([]string, len(rr))
			for i, v := range rr {
				cells[i] = fmt.Sprintf("%.2f", v)
			}
			perRound = strings.Join(cells, " ")
		}
		t.rows = append(t.rows, []string{
			row.Op,
			"P" + strconv.Itoa(row.Pipeline),
			formatMeasurement(row.Redis),
			formatMeasurement(row.Engine),
			ratio,
			perRound,
			fmt.Sprintf(">= %.1f", Target(row.Pipeline)),
			row.Verdict(),
		})
	}
	return t
}

func (r *Report) notes() []string {
	var out []string
	for _, row := range r.Rows {
		for _, s := range []struct {
			name string
			m    Measurement
		}{{"redis", row.Redis}, {"hactl", row.Engine}} {
			if s.m.Status != StatusOK {
				out = append(out, fmt.Sprintf("%s %s P%d %s: %s", s.name, row.Op, row.Pipeline, s.m.Status, strings.TrimSpace(s.m.Detail)))
			}
		}
	}
	if mem := r.Memory; mem != nil {
		for _, s := range []struct {
			name string
			m    MemorySample
		}{{"redis", mem.Redis}, {"hactl", mem.Engine}} {
			for _, e := range []string{s.m.Err, s.m.UsedMemoryErr, s.m.DBSizeErr} {
				if e != "" {
					out = append(out, fmt.Sprintf("%s memory: %s", s.name, strings.TrimSpace(e)))
				}
			}
		}
	}
	return out
}

func (r *Report) memoryTable() table {
	mem := r.Memory
	t := table{header: []string{"metric", "redis", "hactl", "hactl/redis", "target", "verdict"}}
	rssTarget := fmt.Sprintf("<= %.1f (goal %.1f)", RSSTarget, RSSGoal)
	add := func(metric string, redis, engine int64, format func(int64) string, target string) {
		ratio, verdict := "-", "-"
		if redis > 0 && engine >= 0 {
			v := round2(float64(engine) / float64(redis))
			ratio = fmt.Sprintf("%.2f", v)
			if target != "-" {
				verdict = rssVerdict(v)
			}
		}
		t.rows = append(t.rows, []string{metric, format(redis), format(engine), ratio, target, verdict})
	}
	add("used_memory (INFO memory)", mem.Redis.UsedMemory, mem.Engine.UsedMemory, formatBytes, "-")
	add("used_memory per key", perKey(mem.Redis.UsedMemory, mem.Keys), perKey(mem.Engine.UsedMemory, mem.Keys), formatPlain("B"), "-")
	add("RSS empty", mem.Redis.RSSEmpty, mem.Engine.RSSEmpty, formatBytes, "-")
	add("RSS after load", mem.Redis.RSSLoaded, mem.Engine.RSSLoaded, formatBytes, rssTarget)
	add(fmt.Sprintf("RSS after %v settle", mem.Settle), mem.Redis.RSSSettled, mem.Engine.RSSSettled, formatBytes, rssTarget)
	add("DBSIZE", mem.Redis.DBSize, mem.Engine.DBSize, formatPlain(""), "-")
	add("load time", mem.Redis.Load.Milliseconds(), mem.Engine.Load.Milliseconds(), formatPlain("ms"), "-")
	return t
}

func rssVerdict(ratio float64) string {
	switch {
	case ratio <= RSSGoal:
		return "meets goal"
	case ratio <= RSSTarget:
		return "meets"
	default:
		return "over"
	}
}

func perKey(bytes int64, keys int) int64 {
	if bytes < 0 || keys <= 0 {
		return -1
	}
	return bytes / int64(keys)
}

func formatBytes(n int64) string {
	if n < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func formatPlain(unit string) func(int64) string {
	return func(n int64) string {
		if n < 0 {
			return "n/a"
		}
		return strings.TrimSpace(groupDigits(n) + " " + unit)
	}
}

func formatMeasurement(m Measurement) string {
	if m.Status != StatusOK {
		return string(m.Status)
	}
	return groupDigits(int64(m.RPS + 0.5))
}

// groupDigits writes n with a comma every three digits: 1234567 is "1,234,567".
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// RenderText writes the report as aligned plain text for a terminal.
func RenderText(w io.Writer, r *Report) error {
	var b strings.Builder
	for _, l := range r.machineLines() {
		b.WriteString(l + "\n")
	}
	b.WriteString("\nthroughput\n")
	writeTextTable(&b, r.throughputTable())
	if r.Memory != nil {
		fmt.Fprintf(&b, "\nmemory: %s keys key:%%012d, %d-byte values\n", groupDigits(int64(r.Memory.Keys)), r.Memory.ValueSize)
		writeTextTable(&b, r.memoryTable())
	}
	if notes := r.notes(); len(notes) > 0 {
		b.WriteString("\nnotes\n")
		for _, n := range notes {
			b.WriteString("  " + n + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTextTable(b *strings.Builder, t table) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, cells := range append([][]string{t.header}, t.rows...) {
		fmt.Fprintln(tw, "  "+strings.Join(cells, "\t"))
	}
	tw.Flush()
}

// RenderMarkdown writes the report as markdown: the machine as a list, then
// one table for throughput and one for memory, then notes.
func RenderMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	for _, l := range r.machineLines() {
		b.WriteString("- " + l + "\n")
	}
	b.WriteString("\n")
	writeMarkdownTable(&b, r.throughputTable())
	if r.Memory != nil {
		if k := r.Memory.Kind; k != "" && k != "string" {
			fmt.Fprintf(&b, "\nMemory with one %s of %s members `member:%%012d` (%d-byte values where the type has values):\n\n", k, groupDigits(int64(r.Memory.Keys)), r.Memory.ValueSize)
		} else {
			fmt.Fprintf(&b, "\nMemory with %s keys `key:%%012d` and %d-byte values:\n\n", groupDigits(int64(r.Memory.Keys)), r.Memory.ValueSize)
		}
		writeMarkdownTable(&b, r.memoryTable())
	}
	if notes := r.notes(); len(notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range notes {
			b.WriteString("- " + markdownEscape(n) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMarkdownTable(b *strings.Builder, t table) {
	row := func(cells []string) {
		esc := make([]string, len(cells))
		for i, c := range cells {
			esc[i] = markdownEscape(c)
		}
		b.WriteString("| " + strings.Join(esc, " | ") + " |\n")
	}
	row(t.header)
	sep := make([]string, len(t.header))
	for i := range sep {
		sep[i] = "---"
	}
	row(sep)
	for _, cells := range t.rows {
		row(cells)
	}
}

func markdownEscape(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
