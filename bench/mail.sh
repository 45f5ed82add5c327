#!/usr/bin/env bash
# Email fan-out benchmark (bench/mail.rs) against Postfix's smtp-sink on a free loopback port.
# Usage: bench/mail.sh [--count 10000] [--connections 16]
# Needs: apt-get install postfix (for /usr/sbin/smtp-sink).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v smtp-sink >/dev/null || { echo "smtp-sink is missing: apt-get install postfix" >&2; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
smtp-sink -u "$(id -un)" 127.0.0.1:"$port" 1000 >/dev/null 2>&1 &
sink=$!
trap 'kill $sink 2>/dev/null; wait 2>/dev/null' EXIT
sleep 0.3
cargo run --release --locked --quiet --bin keepsake-bench-mail -- --smtp 127.0.0.1:"$port" "$@"
