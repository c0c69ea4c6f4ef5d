#!/usr/bin/python3
"""tests/hardening/tun_impair.py NS LOSS_PCT DUP_PCT DELAY_MS JITTER_MS: a user-space netem for
kernels without sch_netem (tests/hardening/faults.sh uses it then).

It makes a point-to-point IP link between the current network namespace (tunx, 10.98.0.1) and
the named namespace NS (tuny, 10.98.0.2) out of two TUN devices, and carries every IP packet
between them itself: each is dropped with LOSS_PCT %, duplicated with DUP_PCT %, and delivered
after DELAY_MS plus a uniform jitter of +-JITTER_MS (which reorders, as netem's jitter does).
Prints "ready" once both ends are up; on SIGTERM prints its counts and exits."""
import ctypes
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time

NS = sys.argv[1]
LOSS, DUP, DELAY, JITTER = (float(a) for a in sys.argv[2:6])
TUNSETIFF, IFF_TUN, IFF_NO_PI, CLONE_NEWNET = 0x400454CA, 0x0001, 0x1000, 0x40000000

libc = ctypes.CDLL(None, use_errno=True)


def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        sys.exit(f"tun_impair: setns: {os.strerror(ctypes.get_errno())}")


own = os.open("/proc/self/ns/net", os.O_RDONLY)
fx = tun("tunx")
setns(os.open(f"/run/netns/{NS}", os.O_RDONLY))
fy = tun("tuny")
setns(own)
for cmd in (["ip", "addr", "add", "10.98.0.1", "peer", "10.98.0.2", "dev", "tunx"],
            ["ip", "link", "set", "tunx", "up"],
            ["ip", "-n", NS, "addr", "add", "10.98.0.2", "peer", "10.98.0.1", "dev", "tuny"],
            ["ip", "-n", NS, "link", "set", "tuny", "up"]):
    subprocess.run(cmd, check=True)

rng = random.Random(7)
pending = []  # (due, n, fd, packet)
count = {"packets": 0, "lost": 0, "duplicated": 0}
seq = 0
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
print("ready", flush=True)
while not stop:
    now = time.monotonic()
    while pending and pending[0][0] <= now:
        _, _, fd, pkt = heapq.heappop(pending)
        try:
            os.write(fd, pkt)
        except OSError:
            pass
    timeout = min(0.02, max(0.0, pending[0][0] - now)) if pending else 0.02
    try:
        ready, _, _ = select.select([fx, fy], [], [], timeout)
    except InterruptedError:
        continue
    for fd in ready:
        pkt = os.read(fd, 65536)
        out = fy if fd == fx else fx
        count["packets"] += 1
        if rng.random() * 100 < LOSS:
            count["lost"] += 1
            continue
        copies = 2 if rng.random() * 100 < DUP else 1
        count["duplicated"] += copies - 1
        for _ in range(copies):
            d = max(0.0, DELAY + rng.uniform(-JITTER, JITTER)) / 1000
            seq += 1
            heapq.heappush(pending, (time.monotonic() + d, seq, out, pkt))
print("tun_impair: %(packets)d packets, %(lost)d lost, %(duplicated)d duplicated" % count,
      flush=True)
