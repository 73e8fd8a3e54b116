package server

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var defaultInfoSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats", "cluster", "keyspace"}

func cmdInfo(c *Client, args [][]byte) {
	want := map[string]bool{}
	all := false
	if len(args) == 1 {
		for _, s := range defaultInfoSections {
			want[s] = true
		}
	}
	for _, a := range args[1:] {
		switch s := strings.ToLower(string(a)); s {
		case "default":
			for _, s := range defaultInfoSections {
				want[s] = true
			}
		case "all", "everything":
			all = true
		default:
			want[s] = true
		}
	}
	c.w.Verbatim(c.srv.info(want, all))
}

type infoBuilder struct {
	b     strings.Builder
	first bool
}

func (ib *infoBuilder) section(name string) {
	if !ib.first {
		ib.b.WriteString("\r\n")
	}
	ib.first = false
	ib.b.WriteString("# " + name + "\r\n")
}

func (ib *infoBuilder) kv(k string, v any) {
	ib.b.WriteString(k)
	ib.b.WriteByte(':')
	switch v := v.(type) {
	case string:
		ib.b.WriteString(v)
	case int:
		ib.b.WriteString(strconv.Itoa(v))
	case int64:
		ib.b.WriteString(strconv.FormatInt(v, 10))
	case uint64:
		ib.b.WriteString(strconv.FormatUint(v, 10))
	case float64:
		ib.b.WriteString(strconv.FormatFloat(v, 'f', 2, 64))
	default:
		fmt.Fprint(&ib.b, v)
	}
	ib.b.WriteString("\r\n")
}

// info renders INFO; s.mu is held.
func (s *Server) info(want map[string]bool, all bool) string {
	ib := &infoBuilder{first: true}
	on := func(name string) bool { return all || want[name] }
	now := s.clock()
	if on("server") {
		ib.section("Server")
		uptime := int64(now.Sub(s.startTime).Seconds())
		ib.kv("redis_version", Version)
		ib.kv("hactl_version", HactlVersion)
		ib.kv("redis_git_sha1", "00000000")
		ib.kv("redis_git_dirty", 0)
		ib.kv("redis_build_id", "0")
		ib.kv("redis_mode", "standalone")
		ib.kv("os", osName())
		ib.kv("arch_bits", strconv.Itoa(strconv.IntSize))
		ib.kv("monotonic_clock", "POSIX clock_gettime")
		ib.kv("multiplexing_api", "epoll")
		ib.kv("atomicvar_api", "go-sync-atomic")
		ib.kv("gcc_version", "0.0.0")
		ib.kv("go_version", runtime.Version())
		ib.kv("process_id", os.Getpid())
		ib.kv("process_supervised", "no")
		ib.kv("run_id", s.runID)
		ib.kv("tcp_port", s.set.Port)
		ib.kv("server_time_usec", now.UnixMicro())
		ib.kv("uptime_in_seconds", uptime)
		ib.kv("uptime_in_days", uptime/86400)
		ib.kv("hz", s.set.Hz)
		ib.kv("configured_hz", s.set.Hz)
		ib.kv("lru_clock", int64(s.ctx.LRU))
		exe, _ := os.Executable()
		ib.kv("executable", exe)
		ib.kv("config_file", s.set.ConfigFile)
		ib.kv("io_threads_active", 0)
	}
	if on("clients") {
		ib.section("Clients")
		ib.kv("connected_clients", len(s.clients))
		ib.kv("cluster_connections", 0)
		ib.kv("maxclients", s.set.MaxClients)
		ib.kv("client_recent_max_input_buffer", 0)
		ib.kv("client_recent_max_output_buffer", 0)
		ib.kv("blocked_clients", s.stats.blockedClients)
		ib.kv("tracking_clients", 0)
		ib.kv("clients_in_timeout_table", 0)
	}
	if on("memory") {
		ib.section("Memory")
		used := s.usedMemory(time.Now())
		rss := rssBytes()
		frag := 0.0
		if used > 0 {
			frag = float64(rss) / float64(used)
		}
		ib.kv("used_memory", used)
		ib.kv("used_memory_human", humanBytes(used))
		ib.kv("used_memory_rss", rss)
		ib.kv("used_memory_rss_human", humanBytes(rss))
		ib.kv("used_memory_peak", used)
		ib.kv("used_memory_peak_human", humanBytes(used))
		ib.kv("used_memory_peak_perc", "100.00%")
		ib.kv("used_memory_overhead", 0)
		ib.kv("used_memory_startup", 0)
		ib.kv("used_memory_dataset", used)
		ib.kv("used_memory_dataset_perc", "100.00%")
		ib.kv("allocator_allocated", used)
		ib.kv("allocator_active", used)
		ib.kv("allocator_resident", rss)
		ib.kv("total_system_memory", totalSystemMemory())
		ib.kv("total_system_memory_human", humanBytes(totalSystemMemory()))
		// No scripting engine: every Lua and function figure is zero.
		for _, k := range []string{"used_memory_lua", "used_memory_vm_eval"} {
			ib.kv(k, 0)
		}
		ib.kv("used_memory_lua_human", "0B")
		for _, k := range []string{"used_memory_scripts_eval", "number_of_cached_scripts", "number_of_functions", "number_of_libraries", "used_memory_vm_functions", "used_memory_vm_total"} {
			ib.kv(k, 0)
		}
		ib.kv("used_memory_vm_total_human", "0B")
		ib.kv("used_memory_functions", 0)
		ib.kv("used_memory_scripts", 0)
		ib.kv("used_memory_scripts_human", "0B")
		ib.kv("maxmemory", s.set.MaxMemory)
		ib.kv("maxmemory_human", humanBytes(uint64(s.set.MaxMemory)))
		ib.kv("maxmemory_policy", s.set.MaxMemoryPolicy)
		ib.kv("allocator_frag_ratio", "1.00")
		ib.kv("allocator_frag_bytes", 0)
		ib.kv("allocator_rss_ratio", frag)
		ib.kv("allocator_rss_bytes", int64(rss)-int64(used))
		ib.kv("rss_overhead_ratio", "1.00")
		ib.kv("rss_overhead_bytes", 0)
		ib.kv("mem_fragmentation_ratio", frag)
		ib.kv("mem_fragmentation_bytes", int64(rss)-int64(used))
		for _, k := range []string{"mem_not_counted_for_evict", "mem_replication_backlog", "mem_total_replication_buffers", "mem_clients_slaves", "mem_clients_normal", "mem_cluster_links", "mem_aof_buffer"} {
			ib.kv(k, 0)
		}
		ib.kv("mem_allocator", "go-"+runtime.Version())
		ib.kv("active_defrag_running", 0)
		ib.kv("lazyfree_pending_objects", 0)
		ib.kv("lazyfreed_objects", 0)
	}
	if on("persistence") {
		ib.section("Persistence")
		p := &s.pst
		ib.kv("loading", boolInt(p.loading))
		ib.kv("async_loading", 0)
		ib.kv("current_cow_peak", 0)
		ib.kv("current_cow_size", 0)
		ib.kv("current_cow_size_age", 0)
		ib.kv("current_fork_perc", "0.00")
		keysTotal, keysDone := int64(0), int64(0)
		if s.snapJob != nil {
			for _, db := range s.dbs {
				keysTotal += int64(db.Len())
			}
			keysDone = s.snapJob.Keys
		}
		ib.kv("current_save_keys_processed", keysDone)
		ib.kv("current_save_keys_total", keysTotal)
		if p.loading {
			ib.kv("loading_start_time", p.loadingStart.Unix())
			ib.kv("loading_loaded_keys", p.loadedKeys)
		}
		ib.kv("rdb_changes_since_last_save", s.dirty)
		ib.kv("rdb_bgsave_in_progress", boolInt(p.bgsaveRunning))
		lastSave := p.lastSave
		if lastSave.IsZero() {
			lastSave = s.startTime
		}
		ib.kv("rdb_last_save_time", lastSave.Unix())
		ib.kv("rdb_last_bgsave_status", okErr(p.lastBgsaveOK || p.lastBgsaveTry.IsZero()))
		ib.kv("rdb_last_bgsave_time_sec", secsOrMinus(p.lastBgsaveTry, p.lastBgsaveSecs))
		cur := int64(-1)
		if p.bgsaveRunning {
			cur = int64(now.Sub(p.bgsaveStart).Seconds())
		}
		ib.kv("rdb_current_bgsave_time_sec", cur)
		ib.kv("rdb_saves", p.rdbSaves)
		ib.kv("rdb_last_cow_size", 0)
		ib.kv("rdb_last_load_keys_expired", p.loadExpired)
		ib.kv("rdb_last_load_keys_loaded", p.loadedKeys)
		// hactl: the longest write pause caused by the last background
		// snapshot (Redis reports its fork time as latest_fork_usec).
		ib.kv("rdb_last_bgsave_max_pause_usec", p.lastMaxPause.Microseconds())
		aofOn := s.aofW.Load() != nil
		ib.kv("aof_enabled", boolInt(aofOn))
		ib.kv("aof_rewrite_in_progress", boolInt(p.aofRewriting))
		ib.kv("aof_rewrite_scheduled", boolInt(p.aofScheduled))
		ib.kv("aof_last_rewrite_time_sec", secsOrMinus(p.aofRewriteStart, p.aofLastRewriteS))
		curRw := int64(-1)
		if p.aofRewriting {
			curRw = int64(now.Sub(p.aofRewriteStart).Seconds())
		}
		ib.kv("aof_current_rewrite_time_sec", curRw)
		ib.kv("aof_last_bgrewrite_status", okErr(p.aofLastRewriteOK || p.aofRewriteStart.IsZero()))
		ib.kv("aof_rewrites", p.aofRewrites)
		ib.kv("aof_rewrites_consecutive_failures", 0)
		writeOK := true
		if w := s.aofW.Load(); w != nil && w.Err() != nil {
			writeOK = false
		}
		ib.kv("aof_last_write_status", okErr(writeOK))
		ib.kv("aof_last_cow_size", 0)
		ib.kv("module_fork_in_progress", 0)
		ib.kv("module_fork_last_cow_size", 0)
		if aofOn && p.aofStore != nil {
			base, total := p.aofStore.Sizes()
			ib.kv("aof_current_size", total)
			ib.kv("aof_base_size", base)
			ib.kv("aof_pending_rewrite", 0)
			ib.kv("aof_buffer_length", 0)
			ib.kv("aof_pending_bio_fsync", 0)
			ib.kv("aof_delayed_fsync", 0)
		}
	}
	if on("stats") {
		ib.section("Stats")
		ib.kv("total_connections_received", s.stats.connectionsReceived)
		ib.kv("total_commands_processed", s.stats.commandsProcessed)
		ib.kv("instantaneous_ops_per_sec", 0)
		ib.kv("total_net_input_bytes", s.stats.netInput.Load())
		ib.kv("total_net_output_bytes", s.stats.netOutput.Load())
		ib.kv("total_net_repl_input_bytes", 0)
		ib.kv("total_net_repl_output_bytes", 0)
		for _, k := range []string{"instantaneous_input_kbps", "instantaneous_output_kbps", "instantaneous_input_repl_kbps", "instantaneous_output_repl_kbps"} {
			ib.kv(k, "0.00")
		}
		ib.kv("rejected_connections", s.stats.rejectedConns)
		ib.kv("sync_full", s.repl.fullSyncs)
		ib.kv("sync_partial_ok", s.repl.partialOK)
		ib.kv("sync_partial_err", s.repl.partialErr)
		ib.kv("expired_keys", s.stats.expiredKeys)
		ib.kv("expired_stale_perc", "0.00")
		ib.kv("expired_time_cap_reached_count", 0)
		ib.kv("expire_cycle_cpu_milliseconds", 0)
		ib.kv("evicted_keys", s.stats.evictedKeys)
		ib.kv("evicted_clients", 0)
		ib.kv("total_eviction_exceeded_time", 0)
		ib.kv("current_eviction_exceeded_time", 0)
		ib.kv("keyspace_hits", s.stats.keyspaceHits)
		ib.kv("keyspace_misses", s.stats.keyspaceMisses)
		for _, k := range []string{"pubsub_channels", "pubsub_patterns", "pubsubshard_channels", "latest_fork_usec", "total_forks", "migrate_cached_sockets", "slave_expires_tracked_keys", "active_defrag_hits", "active_defrag_misses", "active_defrag_key_hits", "active_defrag_key_misses", "total_active_defrag_time", "current_active_defrag_time", "tracking_total_keys", "tracking_total_items", "tracking_total_prefixes", "unexpected_error_replies"} {
			ib.kv(k, 0)
		}
		ib.kv("total_error_replies", s.stats.errorReplies)
		ib.kv("dump_payload_sanitizations", 0)
		ib.kv("total_reads_processed", s.stats.commandsProcessed)
		ib.kv("total_writes_processed", s.stats.commandsProcessed)
		for _, k := range []string{"io_threaded_reads_processed", "io_threaded_writes_processed", "reply_buffer_shrinks", "reply_buffer_expands"} {
			ib.kv(k, 0)
		}
	}
	if on("replication") {
		s.infoReplication(ib, now)
	}
	if on("cpu") {
		ib.section("CPU")
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		tv := func(t syscall.Timeval) string {
			return fmt.Sprintf("%d.%06d", t.Sec, t.Usec)
		}
		ib.kv("used_cpu_sys", tv(ru.Stime))
		ib.kv("used_cpu_user", tv(ru.Utime))
		ib.kv("used_cpu_sys_children", "0.000000")
		ib.kv("used_cpu_user_children", "0.000000")
		// Go has no main thread; report the process figures.
		ib.kv("used_cpu_sys_main_thread", tv(ru.Stime))
		ib.kv("used_cpu_user_main_thread", tv(ru.Utime))
	}
	if on("modules") {
		ib.section("Modules")
	}
	if all || want["commandstats"] {
		ib.section("Commandstats")
		names := make([]string, 0, len(s.stats.cmdStats))
		for n := range s.stats.cmdStats {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			st := s.stats.cmdStats[n]
			per := 0.0
			if st.calls > 0 {
				per = float64(st.usec) / float64(st.calls)
			}
			ib.kv("cmdstat_"+n, fmt.Sprintf("calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d", st.calls, st.usec, per, st.rejected, st.failed))
		}
	}
	if on("errorstats") {
		ib.section("Errorstats")
		codes := make([]string, 0, len(s.stats.errorCodes))
		for code := range s.stats.errorCodes {
			codes = append(codes, code)
		}
		sort.Strings(codes)
		for _, code := range codes {
			ib.kv("errorstat_"+code, "count="+strconv.FormatInt(s.stats.errorCodes[code], 10))
		}
	}
	if on("cluster") {
		ib.section("Cluster")
		ib.kv("cluster_enabled", 0)
	}
	if on("keyspace") {
		ib.section("Keyspace")
		for _, db := range s.dbs {
			if db.Len() == 0 {
				continue
			}
			ib.kv("db"+strconv.Itoa(db.ID), fmt.Sprintf("keys=%d,expires=%d,avg_ttl=%d", db.Len(), db.ExpiresLen(), db.AvgTTL))
		}
	}
	return ib.b.String()
}

func osName() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return runtime.GOOS
	}
	str := func(a [65]int8) string {
		b := make([]byte, 0, 65)
		for _, c := range a {
			if c == 0 {
				break
			}
			b = append(b, byte(c))
		}
		return string(b)
	}
	return str(u.Sysname) + " " + str(u.Release) + " " + str(u.Machine)
}

// usedMemory is the Go heap in use by live and not yet collected objects,
// the closest analogue of the allocator total Redis reports.
func usedMemory() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() == metrics.KindUint64 {
		return sample[0].Value.Uint64()
	}
	return 0
}

func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

func totalSystemMemory() uint64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return 0
	}
	return si.Totalram * uint64(si.Unit)
}

// humanBytes formats like bytesToHuman.
func humanBytes(n uint64) string {
	f := float64(n)
	switch {
	case n < 1024:
		return strconv.FormatUint(n, 10) + "B"
	case n < 1024*1024:
		return fmt.Sprintf("%.2fK", f/1024)
	case n < 1024*1024*1024:
		return fmt.Sprintf("%.2fM", f/(1024*1024))
	case n < 1024*1024*1024*1024:
		return fmt.Sprintf("%.2fG", f/(1024*1024*1024))
	default:
		return fmt.Sprintf("%.2fT", f/(1024*1024*1024*1024))
	}
}

func okErr(ok bool) string {
	if ok {
		return "ok"
	}
	return "err"
}

func secsOrMinus(started time.Time, secs int64) int64 {
	if started.IsZero() {
		return -1
	}
	return secs
}
