"""Several "hosts" on one Linux machine: network namespaces joined by veth links to a bridge,
for the multi-host test and the benchmark. Needs root and ``ip`` (iproute2).

Each host is a namespace with its own loopback and an ``eth0`` on a private /24 that exists
only inside the namespaces made here; a switch namespace holds the bridge. ``mpirun`` starts in
host 0's namespace and reaches the others through an "ssh" stand-in that runs the remote
command in the named host's namespace. Everything is removed on exit, also after a failure;
names carry a prefix and this process's id, and namespaces left by a process that no longer
runs are removed before new ones are made.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PREFIX = "crdist"
SUBNET = "10.213.77"  # private; exists only inside these namespaces
NETNS_ETC = Path("/etc/netns")


@functools.cache
def available() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        return "needs ip (iproute2) and unshare"
    probe = f"{PREFIX}-probe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True)
    if made.returncode:
        return f"cannot create a network namespace: {made.stderr.decode().strip()}"
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def remove_stale() -> None:
    """Delete namespaces (and their /etc/netns folders) made by processes that have ended."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        if not name.startswith(PREFIX + "-"):
            continue
        owner = name[len(PREFIX) + 1:].split("-")[0].removeprefix("p")
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)
            shutil.rmtree(NETNS_ETC / name, ignore_errors=True)


class SimulatedHosts:
    """``count`` namespaced hosts ``h0 … h{count-1}``; a context manager.

    Args:
        count: number of hosts.
        rate: a ``tc tbf`` bandwidth limit on every host's link (``"1gbit"``), or None.
    """

    def __init__(self, count: int, rate: str | None = None):
        self.count, self.rate = count, rate
        tag = f"{PREFIX}-p{os.getpid()}"
        self.switch = f"{tag}-sw"
        self.hosts = [f"h{i}" for i in range(count)]
        self.namespaces = [f"{tag}-{host}" for host in self.hosts]
        self.folder: Path | None = None

    def __enter__(self) -> SimulatedHosts:
        remove_stale()
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _create(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="crdist-"))
        _ip("netns", "add", self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")
        hosts_file = "127.0.0.1 localhost\n" + "".join(
            f"{SUBNET}.{i + 1} {host}\n" for i, host in enumerate(self.hosts))
        for i, (host, ns) in enumerate(zip(self.hosts, self.namespaces)):
            _ip("netns", "add", ns)
            etc = NETNS_ETC / ns
            etc.mkdir(parents=True, exist_ok=True)
            (etc / "hosts").write_text(hosts_file)
            (etc / "hostname").write_text(host + "\n")
            # The veth pair is made inside the host's namespace, so no name ever appears in
            # the machine's own namespace; its far end moves to the switch.
            _ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", f"p{i}")
            _ip("-n", ns, "link", "set", f"p{i}", "netns", self.switch)
            _ip("-n", self.switch, "link", "set", f"p{i}", "master", "br0")
            _ip("-n", self.switch, "link", "set", f"p{i}", "up")
            _ip("-n", ns, "addr", "add", f"{SUBNET}.{i + 1}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            if self.rate is not None:
                # A 256 KB burst: measured, 1.7 MB allreduces then take what 1 and 10 Gbit/s
                # allow; a 2 MB burst lets a whole gradient through at the veth's own speed,
                # a 32 KB one falls well below the rate.
                subprocess.run(["tc", "-n", ns, "qdisc", "add", "dev", "eth0", "root", "tbf",
                                "rate", self.rate, "burst", "256kb", "latency", "100ms"],
                               check=True, capture_output=True)
        agent = self.folder / "agent"
        # Open MPI calls "<agent> [options] HOST COMMAND"; run COMMAND in HOST's namespace
        # under its own hostname.
        namespaces = " ".join(f"{h}) ns={n} ;;" for h, n in zip(self.hosts, self.namespaces))
        agent.write_text(
            "#!/bin/sh\n"
            'while [ "${1#-}" != "$1" ]; do shift; done\n'
            'host=$1; shift\n'
            f'case $host in {namespaces} *) echo "unknown host $host" >&2; exit 1 ;; esac\n'
            'exec ip netns exec "$ns" unshare --uts sh -c "hostname $host; $*"\n')
        agent.chmod(0o755)
        (self.folder / "hostfile").write_text("".join(f"{h} slots=1\n" for h in self.hosts))

    def mpirun(self, ranks: int, command: list[str], mpirun: str | None = None) -> list[str]:
        """The command line that runs ``command`` on ``ranks`` ranks, one per host."""
        mpirun = mpirun or str(Path(sys.executable).parent / "mpirun")
        line = [mpirun, "-n", str(ranks), "--hostfile", str(self.folder / "hostfile"),
                "--map-by", "node", "--bind-to", "none", "--mca", "mpi_yield_when_idle", "1",
                "--prtemca", "plm_ssh_agent", str(self.folder / "agent"),
                "--allow-run-as-root", *command]
        inner = f"hostname {self.hosts[0]}; exec {shlex.join(line)}"
        return ["ip", "netns", "exec", self.namespaces[0], "unshare", "--uts", "sh", "-c", inner]

    def close(self) -> None:
        """Delete the namespaces (with their veths and the bridge) and the files made."""
        for ns in [*self.namespaces, self.switch]:
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True)
            shutil.rmtree(NETNS_ETC / ns, ignore_errors=True)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
