package inventory

import "time"

// Sentinel timing profiles.
const (
	// ProfileSeed is the seed tutorial's timing: down-after 60 s,
	// failover-timeout 180 s.
	ProfileSeed = "seed"
	// ProfileFast detects a dead master in 5 s and gives a failover 60 s.
	// Redis's own sentinels failed over twice for one failure with 1 s
	// (targets.md), so the fast profile stays well above that.
	ProfileFast = "fast"
)

// profileTiming returns a profile's down-after and failover-timeout.
func profileTiming(profile string) (downAfter, failoverTimeout time.Duration, ok bool) {
	switch profile {
	case ProfileSeed:
		return 60 * time.Second, 180 * time.Second, true
	case ProfileFast:
		return 5 * time.Second, 60 * time.Second, true
	}
	return 0, 0, false
}

// Defaults returns the settings hactl uses when the inventory is silent:
// the seed's values (save points, AOF everysec, sentinel port 26379, quorum
// 2 of 3, down-after 60000, failover-timeout 180000, parallel-syncs 1)
// hardened (host keys checked, protected mode, passwords required). Hosts,
// Master, Secrets and the quorum are left empty: they depend on the file.
func Defaults() Inventory {
	downAfter, failoverTimeout, _ := profileTiming(ProfileSeed)
	return Inventory{
		Service:  "mymaster",
		Engine:   EngineHactl,
		Provider: ProviderSSH,
		Server: Server{
			Port:           6379,
			Save:           []SavePoint{{900, 1}, {300, 10}, {60, 10000}},
			AppendOnly:     true,
			AppendFsync:    "everysec",
			AppendFilename: "appendonly.aof",
		},
		Sentinel: Sentinel{
			Port:            26379,
			Profile:         ProfileSeed,
			DownAfter:       downAfter,
			FailoverTimeout: failoverTimeout,
			ParallelSyncs:   1,
		},
		HAProxy: HAProxy{
			Port:          6379,
			CheckInterval: time.Second,
			MaxConn:       4096,
		},
		Security: Security{TLS: TLS{
			Port:         6380,
			Plaintext:    true,
			AuthClients:  "yes",
			Replication:  true,
			CertValidity: 365 * 24 * time.Hour,
			RenewBefore:  30 * 24 * time.Hour,
			MinValidity:  7 * 24 * time.Hour,
		}},
	}
}

// DefaultSSH returns the SSH settings used when neither the top-level ssh
// section nor the host says otherwise.
func DefaultSSH() SSH {
	return SSH{
		User:                  "root",
		Port:                  22,
		KnownHosts:            "~/.ssh/known_hosts",
		StrictHostKeyChecking: true,
	}
}

// DefaultReplicaPriority is Redis's default replica-priority.
const DefaultReplicaPriority = 100

// defaultRoles is what a host without a roles key does.
func defaultRoles() []Role { return []Role{RoleEngine, RoleSentinel} }
