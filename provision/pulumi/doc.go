// Package pulumi creates the machines of an inventory with Pulumi before
// hactl installs on them, and destroys them afterwards.
//
// It runs inline Automation API programs (github.com/pulumi/pulumi/sdk/v3/go/auto)
// through a pulumi CLI that hactl never downloads: it is found in
// Spec.PulumiRoot (ROOT/bin/pulumi, as tools/pulumi/build.sh lays it out) or
// on PATH. State lives in a file:// backend inside Spec.StateDir, next to a
// persistent workspace directory (the passphrase secrets salt is kept there),
// so a re-run continues a stack rather than creating the machines again.
// The passphrase comes from PULUMI_CONFIG_PASSPHRASE,
// PULUMI_CONFIG_PASSPHRASE_FILE or Spec.PassphraseFile: it is handed to the
// CLI as a file name or inherited environment, never on a command line.
//
// Pieces:
//   - Spec says what to create: the Target (hcloud, aws or lab), host names,
//     size, location, image, SSH key, the operator's CIDR and the pinned
//     provider version.
//   - Program(Spec) is the Pulumi program of a target. Cloud resources are
//     registered by type token (hcloud:index/server:Server,
//     aws:ec2/instance:Instance, ...) with a pinned provider version, so no
//     cloud SDK is compiled in; a real user's Pulumi downloads the provider
//     on first use. The lab target registers hactl:index:Lab, served by
//     hactl's own provider plugin (cmd/pulumi-resource-hactl, package
//     labplugin), which creates a lab with package lab.
//   - Host keys (cloud targets): hactl makes an ed25519 SSH host key per
//     machine in StateDir/hostkeys/NAME (0600, kept until Destroy), hands
//     it to the machine as cloud-init user data (ssh_keys, ssh_deletekeys;
//     a Pulumi secret, so [secret] in previews and encrypted in the state),
//     and writes StateDir/known_hosts for the addresses the stack outputs:
//     the first SSH connection is verified, with no trust on first use.
//   - Up, Preview and Destroy run the stack; Up turns the stack outputs into
//     Hosts (addresses, SSH user, private addresses, known_hosts, the lab's
//     inventory).
//   - Hosts.InventoryHosts and Hosts.InventoryYAML turn Hosts into inventory
//     hosts and an inventory file hactl then uses exactly like SSH hosts.
//   - WaitSSH waits, with bounded retries and one progress line per try,
//     until every host's SSH port answers.
package pulumi
