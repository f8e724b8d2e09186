#!/bin/sh
# Runs a command in a new network namespace of its own (root: unshare -n; others:
# unshare -rn), so WebRTC and every test socket stay inside it. Besides `lo` it holds one
# veth pair, swarm0 = 10.203.0.1/24, whose peer end leads nowhere: libdatachannel (WebRTC
# in Node) gathers no ICE candidates on loopback, so Node nodes need a non-loopback
# address; this one exists only inside the namespace.
set -e
if [ "$SWARMSITE_IN_NETNS" = 1 ]; then exec "$@"; fi
if [ "$(id -u)" = 0 ]; then flags=-n; else flags=-rn; fi
exec unshare $flags sh -c '
  ip link set lo up &&
  ip link add swarm0 type veth peer name swarm1 &&
  ip addr add 10.203.0.1/24 dev swarm0 &&
  ip link set swarm0 up && ip link set swarm1 up &&
  SWARMSITE_IN_NETNS=1 exec "$@"' sh "$@"
