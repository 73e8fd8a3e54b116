// Package inventory parses, validates and completes hactl's inventory file:
// the description of the hosts, engine, sentinel, secrets and proxies of one
// replicated service.
//
// The package is pure: it does no network I/O and runs no process. Given the
// same bytes it returns the same model and the same diagnostics.
//
// Pieces:
//   - Parse and Load turn YAML into a resolved *Inventory (defaults filled in)
//     and report every problem at once as an ErrorList of *Error values that
//     name the file, line, column and field, with a hint.
//   - Inventory, Host, SSH, Server, Sentinel, HAProxy, Security and SecretRef
//     are the resolved model the templates consume.
//   - ResolveSecrets reads the secret sources (files, environment variables)
//     through functions given by the caller, so parsing stays pure.
//   - Defaults and the sentinel profiles (ProfileSeed, ProfileFast) hold the
//     values hactl renders when the inventory is silent, taken from the seed
//     tutorial and then hardened.
package inventory
