// Package config holds the redis.conf-style configuration of hactl-engine:
// parsing the file and the redis-server style command line, CONFIG GET,
// CONFIG SET and CONFIG REWRITE, with Redis 7.0.15 defaults, value formats
// and error texts.
//
// Pieces:
//   - Config: typed fields for every directive hactl-engine supports, plus
//     Warnings and the OnChange hook. Default returns Redis's defaults.
//   - Parse, Load: read a config file (with include) and overrides such as
//     "--port 7000 --save ”"; errors carry file:line and a hint for
//     misspelled directive names. Directives that Redis 7.0 knows but
//     hactl-engine ignores load with a warning.
//   - (*Config).Get: CONFIG GET with glob patterns (engine/glob).
//   - (*Config).Set: CONFIG SET name value [name value ...], atomic, with
//     Redis's error texts (SetError).
//   - (*Config).Rewrite: CONFIG REWRITE, keeping comments and line order,
//     written atomically with mode 0600.
//
// A Config is not safe for concurrent use: the server guards it with its
// own lock. Secrets (requirepass, masterauth, tls-key-file-pass) never
// appear in errors or warnings.
package config
