package main

import "github.com/spf13/cobra"

// addLabCommand adds hactl lab (wired to package lab).
func addLabCommand(root *cobra.Command, f *Factory) {}
