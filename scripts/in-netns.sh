#!/bin/sh
# Runs a command in a new network namespace that has only the loopback interface, so
# WebRTC and every test socket stay on 127.0.0.1 (root: unshare -n; others: unshare -rn).
set -e
if [ "$SWARMSITE_IN_NETNS" = 1 ]; then exec "$@"; fi
if [ "$(id -u)" = 0 ]; then flags=-n; else flags=-rn; fi
exec unshare $flags sh -c 'ip link set lo up && SWARMSITE_IN_NETNS=1 exec "$@"' sh "$@"
