// Command pulumi-resource-hactl is hactl's Pulumi resource provider plugin:
// its resource hactl:index:Lab is a lab of package lab (see package
// labplugin). Pulumi starts it; it is not meant to be run by hand. Put it on
// PATH, or install it with
//
//	pulumi plugin install resource hactl 0.1.0 --file pulumi-resource-hactl
package main

import (
	"fmt"
	"os"

	pulumiprovider "github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"github.com/hactl/hactl/provision/pulumi/labplugin"
)

func main() {
	err := pulumiprovider.Main(labplugin.Name, func(*pulumiprovider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return labplugin.New(os.Stderr), nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-hactl: %v\n", err)
		os.Exit(1)
	}
}
