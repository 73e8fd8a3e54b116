// Package bench compares hactl-engine with a real redis-server on the same
// machine, in the same run, so that machine noise cancels out in the ratios.
//
// The pieces:
//
//   - StartServer and StartTLSServer start a redis-server-compatible binary
//     on 127.0.0.1 without persistence as a Server (internal/testproc's
//     Proc, which also stops it: SIGTERM, then SIGKILL after a timeout).
//   - RunBenchmark runs /usr/bin/redis-benchmark for one test at one pipeline
//     depth and returns a Measurement (rps, or why there is none).
//   - ParseCSV reads the output of redis-benchmark --csv.
//   - Dial and Do wrap engine/difftest's raw RESP client, refusing any
//     address that is not loopback; LoadKeys, UsedMemory and DBSize use them.
//   - ReadRSS reads VmRSS of a process from /proc.
//   - Report, with RenderText and RenderMarkdown, turns the measurements into
//     the table of op, pipeline, rps, ratio, target and verdict; ReplaceRegion
//     puts a rendered table between markers in an existing markdown file.
//   - DescribeMachine records the CPU, core count and tool versions.
//   - The commands' shared main (cli.go): Main and ExitCode (signals, exit
//     codes 0/1/2), ParseFlags and UsageError, Flags (the flags persistbench
//     and replbench share), Engine (the binary under test, built when not
//     given) and WriteRegion (the markdown output); WriteTable (table.go)
//     pads their tables as text or markdown.
package bench
