package bench

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// CSVRow is one result line of redis-benchmark --csv, for example
//
//	"MSET (10 keys)","694444.44","0.671",...
//
// Test holds the test name without its description ("MSET").
type CSVRow struct {
	Test string
	RPS  float64
}

// ParseCSV reads redis-benchmark --csv output: a header line starting with
// "test","rps" and one line per test. Lines that are not CSV records of at
// least two fields (warnings, blank lines) are an error, so that a changed
// output format is noticed rather than read as zero.
func ParseCSV(r io.Reader) ([]CSVRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	var rows []CSVRow
	sawHeader := false
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse redis-benchmark csv: %w", err)
		}
		if len(rec) < 2 {
			return nil, fmt.Errorf("parse redis-benchmark csv: line %q has %d fields, want at least 2", strings.Join(rec, ","), len(rec))
		}
		if rec[0] == "test" && rec[1] == "rps" {
			sawHeader = true
			continue
		}
		if !sawHeader {
			return nil, fmt.Errorf("parse redis-benchmark csv: data line %q before the header", strings.Join(rec, ","))
		}
		rps, err := strconv.ParseFloat(rec[1], 64)
		if err != nil {
			return nil, fmt.Errorf("parse redis-benchmark csv: rps of %q: %w", rec[0], err)
		}
		rows = append(rows, CSVRow{Test: TestName(rec[0]), RPS: rps})
	}
	return rows, nil
}

// TestName reduces a redis-benchmark test label to its name in upper case:
// "LRANGE_100 (first 100 elements)" becomes "LRANGE_100".
func TestName(label string) string {
	name, _, _ := strings.Cut(strings.TrimSpace(label), " ")
	return strings.ToUpper(name)
}
