// Package lab creates throw-away hosts on this machine for hactl to install
// on, and hands back an inventory for them. hactl then treats lab hosts like
// real ones: the lab proves the production path.
//
// A lab lives in one state directory (Spec.StateDir, see DefaultStateDir).
// Everything Up creates is recorded there (lab.json), so Down removes exactly
// that and nothing else. Every CLI invocation can reopen the lab with Open.
//
// Pieces:
//   - Up(ctx, Spec) creates (or resumes) a lab of Spec.Nodes hosts named
//     db01, db02, ... and writes StateDir/inventory.yaml for them, with
//     provider "lab", the first host as master, the "fast" sentinel profile and a
//     generated password in StateDir/secrets/requirepass. It returns the *Lab.
//     With Spec.Proxy (nspawn only) every host also has the haproxy role:
//     Debian's haproxy, baked into every nspawn base, listens on ProxyPort
//     of each node's address and routes to the master.
//   - Open(stateDir) reopens a lab; Down(ctx, stateDir, progress) removes it.
//   - Lab.Status reports every node's state (running, stopped, isolated).
//   - Fault drills, by host name: Lab.Kill (power cut: SIGKILL of everything
//     on the node), Lab.Stop (clean shutdown), Lab.Start (boot again, disk
//     kept), Lab.Isolate and Lab.Heal (network partition of one node).
//   - Host describes one node: name, address, how to reach it (Transport
//     "ssh" with SSH user/port/key/known_hosts, or "local" with Root, the
//     node's filesystem prefix on this machine).
//
// Drivers:
//
//   - DriverProcess ("process", no root needed): a node is a directory
//     StateDir/nodes/NAME/root (the prefix for every path hactl installs) and
//     an address 127.0.0.81, .82, ... (Spec.Subnet picks another loopback
//     /24). Services listen on the production ports of that address. hactl
//     reaches the node through its local transport and runs services
//     through Lab.StartService, Lab.RestartService, Lab.StopService and
//     Lab.Services (the stand-in for systemctl; hactl up drives them through
//     provision.ProcessManager, so the drills below act on exactly what up
//     started): each service is a process group started with setsid, its
//     pid (with the process start time, against pid reuse), definition and
//     log kept in StateDir/nodes/NAME/services. Kill sends SIGKILL to every
//     service of the node, Stop SIGTERM (then SIGKILL after 10 s), Start
//     restarts every defined service; while a node is stopped, starting a
//     service on it fails. Isolate and Heal need root and iptables: they drop
//     loopback packets to and from the node's address. Without root they
//     return ErrUnsupported. They cut what is addressed to the node and what
//     its processes send from its address, not connections a node process
//     opens from 127.0.0.1 (unbound source address).
//   - DriverNspawn ("nspawn", root and systemd-nspawn): Debian 12 containers
//     booted with systemd as PID 1 and sshd, on addresses 10.77.0.81, .82, ...
//     of a private bridge (hactl0, host side 10.77.0.1, no route out, no
//     forwarding). The base rootfs is built once with debootstrap from the
//     mirror apt already uses and cached as a tarball in Spec.CacheDir (kept
//     by Down, removed by PurgeCache). Each node is an overlay on that base,
//     in its own cgroup.
//     Kill writes cgroup.kill (killing nspawn alone does not stop a
//     container), Stop asks the container's systemd to power off, Isolate
//     takes the node's bridge port down. SSH key, known_hosts and an
//     ssh_config are generated per lab in the state directory. It works on
//     hosts whose PID 1 is not systemd (see docs/lab.md).
//
// Up is idempotent: on an existing lab it starts the nodes that are down and
// rewrites the inventory. Two concurrent calls on one state directory are
// serialized by a lock file.
package lab
