// Command hactl turns three Linux hosts into a highly available
// Redis-compatible service: inventory -> render -> install -> verify.
package main

import "os"

func main() {
	os.Exit(int(Main()))
}
