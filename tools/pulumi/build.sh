#!/bin/sh
# build.sh builds the pinned pulumi CLI from github.com/pulumi/pulumi/pkg/v3
# (the version in go.mod) into a cache directory outside the repository, once:
# an existing binary of the same version is kept. It takes ~5 min and ~2 GB.
#
#   tools/pulumi/build.sh [CACHE_DIR]     (default /var/cache/hactl/pulumi)
#
# The binary lands in CACHE_DIR/VERSION/bin/pulumi; put that directory on
# PATH or pass it to hactl with --pulumi-root (PULUMI_ROOT). The version
# ldflag is required: without it the Automation API refuses the binary.
set -eu
cd "$(dirname "$0")"
version=$(go list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)
cache=${1:-/var/cache/hactl/pulumi}
out="$cache/$version/bin/pulumi"
if [ -x "$out" ] && "$out" version 2>/dev/null | grep -qx "$version"; then
	echo "$out (cached)"
	exit 0
fi
mkdir -p "$cache/$version/bin"
go build -trimpath -o "$out.tmp" \
	-ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
	github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
mv "$out.tmp" "$out"
echo "$out"
