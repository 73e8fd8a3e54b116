// Package labplugin is hactl's Pulumi resource provider: its one resource,
// hactl:index:Lab, is a lab of package lab (the same code as `hactl lab
// up`), so the whole Pulumi path of hactl runs for real on one machine.
//
// Pieces:
//   - New returns the provider's gRPC server; cmd/pulumi-resource-hactl
//     serves it with provider.Main, and pulumi finds that binary on PATH or
//     through `pulumi plugin install resource hactl VERSION --file BIN`.
//   - Create runs lab.Up and returns the nodes as the "hosts" output (name,
//     address, transport, root, ssh user/port) and the lab's inventory file
//     as "inventory"; the resource id is the lab's state directory.
//   - Read reopens the lab (gone means deleted), Delete runs lab.Down. Any
//     change of an input replaces the lab (delete first: same directory).
package labplugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/hactl/hactl/lab"
)

// Name and Version identify the plugin (pulumi-resource-hactl).
const (
	Name    = "hactl"
	Version = "0.1.0"
	// Type is the token of the lab resource.
	Type = "hactl:index:Lab"
)

// Server implements the provider protocol for hactl:index:Lab.
type Server struct {
	pulumirpc.UnimplementedResourceProviderServer
	// Progress receives the lab's progress lines; nil discards them.
	Progress io.Writer
}

// New returns the provider server.
func New(progress io.Writer) *Server { return &Server{Progress: progress} }

var opts = plugin.MarshalOptions{KeepUnknowns: true, SkipNulls: true}

// GetPluginInfo reports the plugin's version.
func (s *Server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

// CheckConfig accepts the (empty) provider configuration.
func (s *Server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

// DiffConfig reports no configuration change: there is none.
func (s *Server) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{}, nil
}

// Configure accepts secrets; Create is never called during previews.
func (s *Server) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true}, nil
}

// Cancel has nothing to stop.
func (s *Server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// spec decodes the resource's inputs.
func spec(props *structpb.Struct) (lab.Spec, error) {
	m, err := plugin.UnmarshalProperties(props, opts)
	if err != nil {
		return lab.Spec{}, fmt.Errorf("lab inputs: %w", err)
	}
	var sp lab.Spec
	str := func(k string) string {
		if v, ok := m[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	if v, ok := m["nodes"]; ok && v.IsNumber() {
		sp.Nodes = int(v.NumberValue())
	}
	sp.Driver, sp.Subnet, sp.Engine, sp.StateDir = lab.Driver(str("driver")), str("subnet"), str("engine"), str("stateDir")
	sp.Bridge, sp.Prefix = str("bridge"), str("prefix")
	if sp.StateDir == "" || !filepath.IsAbs(sp.StateDir) {
		return sp, fmt.Errorf("lab inputs: stateDir %q: want an absolute directory", sp.StateDir)
	}
	return sp, nil
}

// Check validates the inputs.
func (s *Server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if _, err := spec(req.GetNews()); err != nil {
		return &pulumirpc.CheckResponse{Failures: []*pulumirpc.CheckFailure{{Reason: err.Error()}}}, nil
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

// inputKeys are the inputs; a change of any replaces the lab.
var inputKeys = []string{"nodes", "driver", "subnet", "engine", "stateDir", "bridge", "prefix"}

// Diff replaces the lab when an input changed.
func (s *Server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := plugin.UnmarshalProperties(req.GetOldInputs(), opts)
	if err != nil {
		return nil, fmt.Errorf("lab diff: %w", err)
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), opts)
	if err != nil {
		return nil, fmt.Errorf("lab diff: %w", err)
	}
	var changed []string
	for _, k := range inputKeys {
		if !olds[resource.PropertyKey(k)].DeepEquals(news[resource.PropertyKey(k)]) {
			changed = append(changed, k)
		}
	}
	if len(changed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Replaces: changed,
		Diffs: changed, DeleteBeforeReplace: true}, nil
}

// Create makes the lab.
func (s *Server) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	sp, err := spec(req.GetProperties())
	if err != nil {
		return nil, err
	}
	sp.Progress = s.Progress
	l, err := lab.Up(ctx, sp)
	if err != nil {
		return nil, fmt.Errorf("create lab: %w", err)
	}
	props, err := outputs(req.GetProperties(), l)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: l.StateDir, Properties: props}, nil
}

// Read reports the lab as it is, or as deleted when it is gone.
func (s *Server) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	l, err := lab.Open(req.GetId())
	if errors.Is(err, lab.ErrNoLab) {
		return &pulumirpc.ReadResponse{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lab %s: %w", req.GetId(), err)
	}
	props, err := outputs(req.GetInputs(), l)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: props, Inputs: req.GetInputs()}, nil
}

// Delete removes the lab and everything it created.
func (s *Server) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	progress := s.Progress
	if progress == nil {
		progress = io.Discard
	}
	if err := lab.Down(ctx, req.GetId(), progress); err != nil && !errors.Is(err, lab.ErrNoLab) {
		return nil, fmt.Errorf("delete lab %s: %w", req.GetId(), err)
	}
	return &emptypb.Empty{}, nil
}

// outputs are the inputs plus the hosts and the inventory file.
func outputs(inputs *structpb.Struct, l *lab.Lab) (*structpb.Struct, error) {
	m, err := plugin.UnmarshalProperties(inputs, opts)
	if err != nil {
		return nil, fmt.Errorf("lab outputs: %w", err)
	}
	hosts := make([]any, len(l.Hosts))
	for i, h := range l.Hosts {
		x := map[string]any{"name": h.Name, "address": h.Address, "transport": string(h.Transport), "id": h.Name}
		if h.Root != "" {
			x["root"] = h.Root
		}
		if h.Transport == lab.TransportSSH {
			x["ssh_user"], x["ssh_port"] = h.SSH.User, h.SSH.Port
		}
		hosts[i] = x
	}
	for k, v := range resource.NewPropertyMapFromMap(map[string]any{"hosts": hosts, "inventory": l.Inventory}) {
		m[k] = v
	}
	return plugin.MarshalProperties(m, opts)
}
