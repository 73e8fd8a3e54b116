package labplugin

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/hactl/hactl/lab"
)

func props(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(resource.NewPropertyMapFromMap(m), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "lab")
	in := props(t, map[string]any{"nodes": 2, "driver": "process", "subnet": "127.0.77", "engine": "hactl", "stateDir": dir})
	s := New(nil)
	if r, err := s.Check(ctx, &pulumirpc.CheckRequest{News: in}); err != nil || len(r.Failures) != 0 {
		t.Fatalf("check: %v %v", r.GetFailures(), err)
	}
	cr, err := s.Create(ctx, &pulumirpc.CreateRequest{Properties: in})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() { _ = lab.Down(ctx, dir, nil) })
	if cr.Id != dir {
		t.Errorf("id %q, want the state dir %q", cr.Id, dir)
	}
	out, err := plugin.UnmarshalProperties(cr.Properties, opts)
	if err != nil {
		t.Fatal(err)
	}
	hosts := out["hosts"].ArrayValue()
	if len(hosts) != 2 {
		t.Fatalf("hosts %v, want 2", hosts)
	}
	h := hosts[1].ObjectValue()
	if h["name"].StringValue() != "db02" || h["address"].StringValue() != "127.0.77.82" || h["transport"].StringValue() != "local" {
		t.Errorf("host 1 = %v", h)
	}
	if fi, err := os.Stat(h["root"].StringValue()); err != nil || !fi.IsDir() {
		t.Errorf("node root %v: %v", h["root"], err)
	}
	if _, err := os.Stat(out["inventory"].StringValue()); err != nil {
		t.Errorf("inventory: %v", err)
	}
	rr, err := s.Read(ctx, &pulumirpc.ReadRequest{Id: cr.Id, Inputs: in})
	if err != nil || rr.Id != dir {
		t.Fatalf("read: %v %v", rr.GetId(), err)
	}
	same, err := s.Diff(ctx, &pulumirpc.DiffRequest{Id: cr.Id, OldInputs: in, News: in})
	if err != nil || same.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Errorf("diff of equal inputs: %v %v", same, err)
	}
	more := props(t, map[string]any{"nodes": 3, "driver": "process", "subnet": "127.0.77", "engine": "hactl", "stateDir": dir})
	d, err := s.Diff(ctx, &pulumirpc.DiffRequest{Id: cr.Id, OldInputs: in, News: more})
	if err != nil || d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 1 || d.Replaces[0] != "nodes" || !d.DeleteBeforeReplace {
		t.Errorf("diff nodes 2->3: %v %v", d, err)
	}
	if _, err := s.Delete(ctx, &pulumirpc.DeleteRequest{Id: cr.Id, Properties: cr.Properties}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := lab.Open(dir); err == nil {
		t.Error("lab still there after delete")
	}
	if rr, err := s.Read(ctx, &pulumirpc.ReadRequest{Id: cr.Id, Inputs: in}); err != nil || rr.Id != "" {
		t.Errorf("read after delete: id %q, %v; want gone", rr.GetId(), err)
	}
	if _, err := s.Delete(ctx, &pulumirpc.DeleteRequest{Id: cr.Id}); err != nil {
		t.Errorf("second delete: %v", err)
	}
}

func TestCheckRefusesRelativeDir(t *testing.T) {
	r, err := New(nil).Check(context.Background(), &pulumirpc.CheckRequest{News: props(t, map[string]any{"nodes": 1, "stateDir": "lab"})})
	if err != nil || len(r.Failures) != 1 {
		t.Errorf("check of relative dir: %v %v, want one failure", r.GetFailures(), err)
	}
}
