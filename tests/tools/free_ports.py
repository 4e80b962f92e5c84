#!/usr/bin/env python3
"""Prints N distinct loopback TCP ports that are free now, for e2e tests.

Chosen at random BELOW the kernel's ephemeral range (ip_local_port_range):
a port from bind(0) lies inside that range, and between picking it and the
server binding it any outgoing connection of a parallel test (Kafka clients,
curl, Prometheus) may get it as its local port -- CI saw "cannot listen" from
exactly that. Below the range only explicit binds can take a port.
Usage: free_ports.py N
"""
import random
import socket
import sys


def ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    hi = ephemeral_low() - 1
    lo = min(20000, hi - 1000)
    rng = random.SystemRandom()
    ports = []
    for _ in range(10000):
        if len(ports) == n:
            break
        p = rng.randint(lo, hi)
        if p in ports:
            continue
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", p))
            s.listen()
            ports.append(p)
        except OSError:
            pass
        finally:
            s.close()
    if len(ports) < n:
        sys.exit("free_ports.py: not enough free ports below the ephemeral range")
    print(*ports)


if __name__ == "__main__":
    main()
