package keyspace

import "time"

// ExpireCycleConfig tunes the active expiry cycle like Redis's
// active-expire-effort (1..10) and hz.
type ExpireCycleConfig struct {
	Effort int // 1..10, default 1
	Hz     int // server cron frequency, default 10
}

// ExpireStats reports one cycle's work.
type ExpireStats struct {
	Sampled, Expired int
	TimedOut         bool
}

// ActiveExpire is a port of Redis 7.0's slow activeExpireCycle for a set of
// databases: it samples keys with an expiry (resuming where the previous
// cycle stopped), deletes the expired ones, and keeps going while more than
// the acceptable share of sampled keys was expired, within a time budget of
// (25+2*effort)% of a cron period. now() is consulted for the time budget.
func ActiveExpire(ctx *Ctx, dbs []*DB, cfg ExpireCycleConfig, now func() time.Time) ExpireStats {
	effort := cfg.Effort - 1
	if effort < 0 {
		effort = 0
	}
	if cfg.Hz <= 0 {
		cfg.Hz = 10
	}
	keysPerLoop := 20 + 20/4*effort
	slowPerc := 25 + 2*effort
	acceptableStale := 10 - effort
	budget := time.Duration(slowPerc) * time.Second / time.Duration(cfg.Hz) / 100
	start := now()
	var st ExpireStats
	var batch []string
	for _, db := range dbs {
		for iteration := 0; ; iteration++ {
			num := db.expires.Len()
			if num == 0 {
				db.AvgTTL = 0
				break
			}
			if num > keysPerLoop {
				num = keysPerLoop
			}
			maxBuckets := num * 20
			sampled, expired := 0, 0
			var ttlSum, ttlSamples int64
			for checked := 0; sampled < num && checked < maxBuckets; checked++ {
				batch = batch[:0]
				db.expiresCursor = db.expires.Scan(db.expiresCursor, func(key string, when *int64) {
					sampled++
					ttl := *when - ctx.Now
					if ttl <= 0 {
						batch = append(batch, key)
					} else {
						ttlSum += ttl
						ttlSamples++
					}
				})
				for _, k := range batch {
					if ctx.Replica {
						continue
					}
					db.expireKey(ctx, k)
					expired++
				}
				if db.expires.Len() == 0 {
					break
				}
			}
			st.Sampled += sampled
			st.Expired += expired
			if ttlSamples > 0 {
				avg := ttlSum / ttlSamples
				if db.AvgTTL == 0 {
					db.AvgTTL = avg
				} else {
					db.AvgTTL = db.AvgTTL/50*49 + avg/50
				}
			}
			if iteration&0xf == 0 && now().Sub(start) > budget {
				st.TimedOut = true
				return st
			}
			if sampled != 0 && expired*100/sampled <= acceptableStale {
				break
			}
		}
	}
	return st
}
