package pulumi

import (
	"fmt"
	"net/netip"
	"strconv"

	sdk "github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack output keys.
const (
	outHosts     = "hosts"     // list of Host objects
	outInventory = "inventory" // lab target: the inventory file the lab wrote
)

// Type tokens of the resources the programs register.
const (
	tokHcloudProvider = "pulumi:providers:hcloud"
	tokHcloudSSHKey   = "hcloud:index/sshKey:SshKey"
	tokHcloudNetwork  = "hcloud:index/network:Network"
	tokHcloudSubnet   = "hcloud:index/networkSubnet:NetworkSubnet"
	tokHcloudFirewall = "hcloud:index/firewall:Firewall"
	tokHcloudServer   = "hcloud:index/server:Server"
	tokAWSProvider    = "pulumi:providers:aws"
	tokAWSKeyPair     = "aws:ec2/keyPair:KeyPair"
	tokAWSGroup       = "aws:ec2/securityGroup:SecurityGroup"
	tokAWSInstance    = "aws:ec2/instance:Instance"
	tokAWSGetAMI      = "aws:ec2/getAmi:getAmi"
	tokLab            = "hactl:index:Lab"
)

// debianOwner is the AWS account of the official Debian AMIs.
const debianOwner = "136693071363"

// Program returns the Pulumi program of sp's target. It exports "hosts"
// (and, for the lab target, "inventory"); Up reads them back.
func Program(sp Spec) (sdk.RunFunc, error) {
	sp, err := sp.withDefaults()
	if err != nil {
		return nil, err
	}
	return func(ctx *sdk.Context) error {
		out, err := build(ctx, sp)
		if err != nil {
			return err
		}
		ctx.Export(outHosts, out.hosts)
		if sp.Target == TargetLab {
			ctx.Export(outInventory, out.inventory)
		}
		return nil
	}, nil
}

// built is what a program produced: the outputs Up turns into Hosts.
type built struct {
	hosts     sdk.ArrayOutput
	inventory sdk.StringOutput // lab only
}

// provider is an explicit provider instance, registered by type token.
type provider struct {
	sdk.ProviderResourceState
}

func build(ctx *sdk.Context, sp Spec) (*built, error) {
	switch sp.Target {
	case TargetHcloud:
		return hcloudProgram(ctx, sp)
	case TargetAWS:
		return awsProgram(ctx, sp)
	case TargetLab:
		return labProgram(ctx, sp)
	}
	return nil, fmt.Errorf("target %q: no program", sp.Target)
}

// custom is a custom resource registered by type token: only the
// outputs hactl reads are declared.
type custom struct {
	sdk.CustomResourceState
}

type hcloudServer struct {
	sdk.CustomResourceState
	Ipv4Address sdk.StringOutput `pulumi:"ipv4Address"`
}

type awsInstance struct {
	sdk.CustomResourceState
	PublicIP  sdk.StringOutput `pulumi:"publicIp"`
	PrivateIP sdk.StringOutput `pulumi:"privateIp"`
}

type labResource struct {
	sdk.CustomResourceState
	Hosts     sdk.ArrayOutput  `pulumi:"hosts"`
	Inventory sdk.StringOutput `pulumi:"inventory"`
}

// hostKeyInput returns the user data input of a cloud machine installing its
// host key, a Pulumi secret (encrypted in the state, [secret] in previews
// and logs), and the option that keeps a change of it from replacing a
// running machine: cloud-init reads it at the first boot only.
func hostKeyInput(sp Spec, name string) (sdk.StringOutput, sdk.ResourceOption, error) {
	k, ok := sp.hostKeys[name]
	if !ok {
		return sdk.StringOutput{}, nil, fmt.Errorf("host %s: no ssh host key (hactl makes them in the state directory)", name)
	}
	return sdk.ToSecret(sdk.String(userData(k))).(sdk.StringOutput), sdk.IgnoreChanges([]string{"userData"}), nil
}

// hostOutput is one exported host: each value a plain string or int, or
// an output of one.
func hostOutput(name string, address, private sdk.StringOutput, user string, id sdk.IDOutput) sdk.Output {
	return sdk.All(address, private, id).ApplyT(func(v []any) map[string]any {
		return map[string]any{
			"name": name, "address": v[0], "private_address": v[1],
			"ssh_user": user, "ssh_port": 22, "id": string(v[2].(sdk.ID)),
		}
	})
}

// collect turns per-host outputs into one array output.
func collect(hosts []sdk.Output) sdk.ArrayOutput {
	ins := make([]any, len(hosts))
	for i, h := range hosts {
		ins[i] = h
	}
	return sdk.All(ins...).ApplyT(func(v []any) []any { return v }).(sdk.ArrayOutput)
}

func hcloudProgram(ctx *sdk.Context, sp Spec) (*built, error) {
	prov := &provider{}
	if err := ctx.RegisterResource(tokHcloudProvider, "hcloud", sdk.Map{}, prov, sdk.Version(sp.ProviderVersion)); err != nil {
		return nil, fmt.Errorf("hcloud provider: %w", err)
	}
	opts := []sdk.ResourceOption{sdk.Provider(prov), sdk.Version(sp.ProviderVersion)}
	labels := sdk.StringMap{"hactl": sdk.String(sp.Project + "-" + sp.Stack)}
	key := &custom{}
	if err := ctx.RegisterResource(tokHcloudSSHKey, "operator", sdk.Map{
		"name": sdk.String(sp.Project + "-" + sp.Stack), "publicKey": sdk.String(sp.SSHPublicKey), "labels": labels,
	}, key, opts...); err != nil {
		return nil, fmt.Errorf("hcloud ssh key: %w", err)
	}
	subnet := netip.MustParsePrefix(sp.PrivateCIDR).Masked()
	network := &custom{}
	if err := ctx.RegisterResource(tokHcloudNetwork, "private", sdk.Map{
		"name": sdk.String(sp.Project + "-" + sp.Stack), "ipRange": sdk.String(subnet.String()), "labels": labels,
	}, network, opts...); err != nil {
		return nil, fmt.Errorf("hcloud network: %w", err)
	}
	sub := &custom{}
	if err := ctx.RegisterResource(tokHcloudSubnet, "private", sdk.Map{
		"networkId": intID(network), "type": sdk.String("cloud"),
		"networkZone": sdk.String(hcloudZone(sp.Location)), "ipRange": sdk.String(subnet.String()),
	}, sub, opts...); err != nil {
		return nil, fmt.Errorf("hcloud subnet: %w", err)
	}
	// Hetzner firewalls filter the public interfaces only: the engines and
	// sentinels talk over the private network, where they bind, so the
	// public side opens SSH to the operator and nothing else.
	fw := &custom{}
	if err := ctx.RegisterResource(tokHcloudFirewall, "hosts", sdk.Map{
		"name": sdk.String(sp.Project + "-" + sp.Stack), "labels": labels,
		"rules": sdk.Array{sdk.Map{
			"direction": sdk.String("in"), "protocol": sdk.String("tcp"), "port": sdk.String("22"),
			"sourceIps": sdk.StringArray{sdk.String(sp.OperatorCIDR)}, "description": sdk.String("ssh from the operator"),
		}},
	}, fw, opts...); err != nil {
		return nil, fmt.Errorf("hcloud firewall: %w", err)
	}
	var hosts []sdk.Output
	for i, name := range sp.Names {
		ip := nthAddr(subnet, i)
		ud, keep, err := hostKeyInput(sp, name)
		if err != nil {
			return nil, err
		}
		srv := &hcloudServer{}
		err = ctx.RegisterResource(tokHcloudServer, name, sdk.Map{
			"name": sdk.String(name), "serverType": sdk.String(sp.Size), "image": sdk.String(sp.Image),
			"location": sdk.String(sp.Location), "sshKeys": sdk.StringArray{key.ID().ToStringOutput()},
			"firewallIds": sdk.IntArray{intID(fw)}, "labels": labels,
			"publicNets": sdk.Array{sdk.Map{"ipv4Enabled": sdk.Bool(true), "ipv6Enabled": sdk.Bool(true)}},
			"networks":   sdk.Array{sdk.Map{"networkId": intID(network), "ip": sdk.String(ip)}},
			"userData":   ud,
		}, srv, append(opts, sdk.DependsOn([]sdk.Resource{sub}), keep)...)
		if err != nil {
			return nil, fmt.Errorf("hcloud server %s: %w", name, err)
		}
		hosts = append(hosts, hostOutput(name, srv.Ipv4Address, sdk.String(ip).ToStringOutput(), sp.SSHUser, srv.ID()))
	}
	return &built{hosts: collect(hosts)}, nil
}

// intID is a resource's id as a number: hcloud refers to networks and
// firewalls by integer id.
func intID(r sdk.CustomResource) sdk.IntOutput {
	return r.ID().ApplyT(func(id sdk.ID) (int, error) {
		n, err := strconv.Atoi(string(id))
		if err != nil {
			return 0, fmt.Errorf("hcloud id %q: not a number: %w", id, err)
		}
		return n, nil
	}).(sdk.IntOutput)
}

// hcloudZone is the network zone of a Hetzner location.
func hcloudZone(location string) string {
	switch location {
	case "ash":
		return "us-east"
	case "hil":
		return "us-west"
	case "sin":
		return "ap-southeast"
	}
	return "eu-central"
}

// nthAddr is the private address of host i: .11, .12, ... of the subnet.
func nthAddr(p netip.Prefix, i int) string {
	a := p.Addr()
	for range 11 + i {
		a = a.Next()
	}
	return a.String()
}

func awsProgram(ctx *sdk.Context, sp Spec) (*built, error) {
	prov := &provider{}
	if err := ctx.RegisterResource(tokAWSProvider, "aws", sdk.Map{"region": sdk.String(sp.Location)}, prov,
		sdk.Version(sp.ProviderVersion)); err != nil {
		return nil, fmt.Errorf("aws provider: %w", err)
	}
	opts := []sdk.ResourceOption{sdk.Provider(prov), sdk.Version(sp.ProviderVersion)}
	ami := sp.Image
	if ami == "" {
		var res struct {
			ID string `pulumi:"id"`
		}
		err := ctx.Invoke(tokAWSGetAMI, map[string]any{
			"owners": []string{debianOwner}, "mostRecent": true,
			"filters": []map[string]any{
				{"name": "name", "values": []string{"debian-12-amd64-*"}},
				{"name": "architecture", "values": []string{"x86_64"}},
			},
		}, &res, sdk.Provider(prov), sdk.Version(sp.ProviderVersion))
		if err != nil {
			return nil, fmt.Errorf("aws: find the debian 12 ami: %w", err)
		}
		ami = res.ID
	}
	tags := sdk.StringMap{"hactl": sdk.String(sp.Project + "-" + sp.Stack)}
	key := &custom{}
	if err := ctx.RegisterResource(tokAWSKeyPair, "operator", sdk.Map{
		"keyName": sdk.String(sp.Project + "-" + sp.Stack), "publicKey": sdk.String(sp.SSHPublicKey), "tags": tags,
	}, key, opts...); err != nil {
		return nil, fmt.Errorf("aws key pair: %w", err)
	}
	peer := func(port int, what string) sdk.Map {
		return sdk.Map{"protocol": sdk.String("tcp"), "fromPort": sdk.Int(port), "toPort": sdk.Int(port),
			"self": sdk.Bool(true), "description": sdk.String(what + " between the hosts")}
	}
	sg := &custom{}
	if err := ctx.RegisterResource(tokAWSGroup, "hosts", sdk.Map{
		"name": sdk.String(sp.Project + "-" + sp.Stack), "description": sdk.String("hactl: ssh from the operator, engine and sentinel between the hosts"),
		"tags": tags,
		"ingress": sdk.Array{
			sdk.Map{"protocol": sdk.String("tcp"), "fromPort": sdk.Int(22), "toPort": sdk.Int(22),
				"cidrBlocks": sdk.StringArray{sdk.String(sp.OperatorCIDR)}, "description": sdk.String("ssh from the operator")},
			peer(6379, "engine"), peer(26379, "sentinel"),
		},
		"egress": sdk.Array{sdk.Map{"protocol": sdk.String("-1"), "fromPort": sdk.Int(0), "toPort": sdk.Int(0),
			"cidrBlocks": sdk.StringArray{sdk.String("0.0.0.0/0")}, "description": sdk.String("updates and packages")}},
	}, sg, opts...); err != nil {
		return nil, fmt.Errorf("aws security group: %w", err)
	}
	var hosts []sdk.Output
	for _, name := range sp.Names {
		ud, keep, err := hostKeyInput(sp, name)
		if err != nil {
			return nil, err
		}
		inst := &awsInstance{}
		err = ctx.RegisterResource(tokAWSInstance, name, sdk.Map{
			"ami": sdk.String(ami), "instanceType": sdk.String(sp.Size), "keyName": key.ID().ToStringOutput(),
			"vpcSecurityGroupIds": sdk.StringArray{sg.ID().ToStringOutput()},
			"tags":                sdk.StringMap{"Name": sdk.String(name), "hactl": sdk.String(sp.Project + "-" + sp.Stack)},
			"userData":            ud,
		}, inst, append(opts, keep)...)
		if err != nil {
			return nil, fmt.Errorf("aws instance %s: %w", name, err)
		}
		hosts = append(hosts, hostOutput(name, inst.PublicIP, inst.PrivateIP, sp.SSHUser, inst.ID()))
	}
	return &built{hosts: collect(hosts)}, nil
}

func labProgram(ctx *sdk.Context, sp Spec) (*built, error) {
	l := &labResource{}
	in := sdk.Map{
		"nodes": sdk.Int(len(sp.Names)), "driver": sdk.String(sp.Lab.Driver), "subnet": sdk.String(sp.Lab.Subnet),
		"engine": sdk.String(sp.Lab.Engine), "stateDir": sdk.String(sp.Lab.Dir),
	}
	// Only when set: stacks created before these inputs see no change.
	for k, v := range map[string]string{"bridge": sp.Lab.Bridge, "prefix": sp.Lab.Prefix} {
		if v != "" {
			in[k] = sdk.String(v)
		}
	}
	err := ctx.RegisterResource(tokLab, "lab", in, l)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	return &built{hosts: l.Hosts, inventory: l.Inventory}, nil
}
