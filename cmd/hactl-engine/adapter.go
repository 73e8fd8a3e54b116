package main

import (
	"errors"
	"time"

	"github.com/hactl/hactl/engine/config"
	"github.com/hactl/hactl/engine/server"
)

// engineConfig adapts engine/config to the server's Config interface.
type engineConfig struct {
	cfg  *config.Config
	path string
}

func (e *engineConfig) Settings() server.Settings {
	c := e.cfg
	return server.Settings{
		Port:                   c.Port,
		Bind:                   c.Bind,
		ProtectedMode:          c.ProtectedMode,
		RequirePass:            c.RequirePass,
		Databases:              c.Databases,
		MaxClients:             c.MaxClients,
		Timeout:                time.Duration(c.Timeout) * time.Second,
		ProtoMaxBulkLen:        c.ProtoMaxBulkLen,
		ClientQueryBufferLimit: c.ClientQueryBufferLimit,
		Hz:                     c.Hz,
		ActiveExpireEffort:     c.ActiveExpireEffort,
		EnableDebugCommand:     c.EnableDebugCommand,
		ConfigFile:             e.path,
		MaxMemory:              int64(c.MaxMemory),
		MaxMemoryPolicy:        c.MaxMemoryPolicy,
		MaxMemorySamples:       c.MaxMemorySamples,
		LFULogFactor:           c.LFULogFactor,
		LFUDecayTime:           c.LFUDecayTime,
		NotifyKeyspaceEvents:   config.NotifyLetters(c.NotifyKeyspaceEvents),
		Persist:                persistSettings(c),
		Repl:                   replSettings(c),
		TLS:                    tlsSettings(c),
		PubsubOutputLimit: server.OutputLimit{
			Hard:        int64(c.ClientOutputBufferLimit[config.ClassPubSub].HardBytes),
			Soft:        int64(c.ClientOutputBufferLimit[config.ClassPubSub].SoftBytes),
			SoftSeconds: c.ClientOutputBufferLimit[config.ClassPubSub].SoftSeconds,
		},
		HashMaxListpackEntries: c.HashMaxListpackEntries,
		HashMaxListpackValue:   c.HashMaxListpackValue,
		SetMaxIntsetEntries:    c.SetMaxIntsetEntries,
		ZsetMaxListpackEntries: c.ZsetMaxListpackEntries,
		ZsetMaxListpackValue:   c.ZsetMaxListpackValue,
		ACLFile:                c.ACLFile,
		ACLLogMaxLen:           aclLogMaxLen(c.ACLLogMaxLen),
		Users:                  c.Users,
		IOModel:                c.IOModel,
	}
}

// aclLogMaxLen maps acllog-max-len onto Settings, where 0 means the
// default: acllog-max-len 0 becomes server.ACLLogNone.
func aclLogMaxLen(n int) int {
	if n == 0 {
		return server.ACLLogNone
	}
	return n
}

// SetChangeHook implements server.ChangeHooker with engine/config's
// OnChange: the server binds a new port inside CONFIG SET.
func (e *engineConfig) SetChangeHook(hook func(name string) error) { e.cfg.OnChange = hook }

func (e *engineConfig) Get(patterns ...string) [][2]string {
	kvs := e.cfg.Get(patterns...)
	out := make([][2]string, len(kvs))
	for i, kv := range kvs {
		out[i] = [2]string{kv.Name, kv.Value}
	}
	return out
}

func (e *engineConfig) Set(args []string) ([]string, error) { return e.cfg.Set(args) }

func (e *engineConfig) Rewrite(rt server.RuntimeState) error {
	rw, ok := any(e.cfg).(interface{ Rewrite(string) error })
	if !ok {
		return errors.New("CONFIG REWRITE is not available in this build")
	}
	e.cfg.ReplicaOfHost, e.cfg.ReplicaOfPort = rt.ReplicaOfHost, rt.ReplicaOfPort
	return rw.Rewrite(e.path)
}
