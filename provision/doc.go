// Package provision installs a rendered host: it runs commands on hosts
// through a Transport and applies an idempotent plan of Steps.
//
// It knows transports, files, binaries and services, not Redis semantics
// (package verify does): the caller passes a Waiter to check that a
// restarted service answers as expected.
//
// Pieces:
//   - Transport runs one shell command with optional stdin and always returns
//     a Result (stdout, stderr, exit code), even on failure; a non-zero exit is
//     a *RemoteError that carries them. Local runs commands with sh on this
//     machine, SSH runs them over SSH (goph, host keys checked against
//     known_hosts, optional jump host).
//   - Layout says where a host keeps its files (Root prefix, for the process
//     lab that runs several "hosts" on one machine) and how its services are
//     run: systemd (systemctl commands) or Processes, through a
//     ProcessManager (the process lab's service manager, package lab).
//   - Files with Runtime directives (engine.conf: replicaof, which the
//     engine rewrites after a sentinel's REPLICAOF) are compared with
//     RuntimeDigest while their service runs, so a failover is not a
//     difference; they are rewritten only when the service restarts anyway.
//   - The command builders (WriteFileCmd, ProbeCmd, ServiceCmd, ...) are pure
//     functions from arguments to shell text; secrets never appear in them:
//     file contents go through stdin.
//   - Plan probes every host (read only) and lists the Steps that would change
//     something, in the order they run: files and binaries on every host, then
//     engine restarts on the master, on the replicas, then sentinels, then
//     HAProxy. Apply executes exactly that plan; --dry-run prints it.
package provision
