"""The machine and its processes, read from /proc: what a benchmark result must carry to be compared."""
import os
import platform
import re
import subprocess
from pathlib import Path


def _read(path, default=""):
    try:
        return Path(path).read_text()
    except OSError:
        return default


def status_kb(pid):
    """VmRSS, VmHWM, ... of one process in KiB ({} when it is gone)."""
    out = {}
    for line in _read(f"/proc/{pid}/status").splitlines():
        key, _, value = line.partition(":")
        if key.startswith("Vm") or key.startswith("Rss"):
            out[key] = int(value.split()[0])
    return out


def pss_kb(pid):
    """Proportional set size: shared pages divided among their users (0 when unreadable)."""
    for line in _read(f"/proc/{pid}/smaps_rollup").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def children(pid):
    kids = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids  # gone meanwhile
    for tid in tids:
        kids += [int(x) for x in _read(f"/proc/{pid}/task/{tid}/children").split()]
    return kids


def tree(pid):
    """pid and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children(p)
    return out


def comm(pid):
    return _read(f"/proc/{pid}/comm").strip()


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    """User + system CPU seconds of one process so far (None when it is gone)."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


class TreeSampler:
    """Samples a process tree's memory and CPU: keeps the largest total RSS seen and its breakdown per
    process, and the CPU time each process had used when last seen (a process that is gone keeps its
    last sample, so CPU spent in its last sampling period is not counted)."""

    def __init__(self, root_pid):
        self.root = root_pid
        self.last_rss_kb = 0
        self.peak_rss_kb = 0
        self.peak_pss_kb = 0
        self.peak_breakdown = {}
        self.cpu = {}  # pid -> (name, cpu seconds when last seen)

    def sample(self):
        total, total_pss, breakdown = 0, 0, {}
        for p in tree(self.root):
            name = comm(p) or str(p)
            used = cpu_s(p)
            if used is not None:
                self.cpu[p] = (name, max(used, self.cpu.get(p, ("", 0.0))[1]))
            rss = status_kb(p).get("VmRSS", 0)
            if rss == 0:
                continue  # gone since the walk, or a zombie
            total += rss
            total_pss += pss_kb(p)
            breakdown[name] = breakdown.get(name, 0) + rss
        self.last_rss_kb = total
        if total > self.peak_rss_kb:
            self.peak_rss_kb, self.peak_breakdown = total, breakdown
        self.peak_pss_kb = max(self.peak_pss_kb, total_pss)
        return total

    def pids(self):
        return list(self.cpu)

    def cpu_by_process(self):
        out = {}
        for name, used in self.cpu.values():
            out[name] = out.get(name, 0.0) + used
        return out

    def result(self):
        # `end`: the last sample, taken after the work (steady state, free of a fork's brief double count).
        by_process = self.cpu_by_process()
        return {"peak_rss_kb": self.peak_rss_kb, "peak_pss_kb": self.peak_pss_kb, "end_rss_kb": self.last_rss_kb,
                "peak_rss_by_process_kb": self.peak_breakdown, "cpu_s": sum(by_process.values()),
                "cpu_by_process_s": by_process}


def cpu_snapshot():
    """(steal, total) jiffies of all CPUs: on a VM, steal is time the host ran something else."""
    fields = [int(x) for x in _read("/proc/stat", "cpu 0").splitlines()[0].split()[1:]]
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def steal_pct(before, after):
    total = after[1] - before[1]
    return round(100.0 * (after[0] - before[0]) / total, 1) if total > 0 else 0.0


def loadavg():
    return [float(x) for x in _read("/proc/loadavg", "0 0 0").split()[:3]]


def _cmd(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def machine(build_dir, codex, coco, acp_version):
    cpu = re.search(r"^model name\s*:\s*(.*)$", _read("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+)", _read("/proc/meminfo"), re.M)
    os_name = re.search(r'^PRETTY_NAME="?([^"\n]*)', _read("/etc/os-release"), re.M)
    cache = _read(Path(build_dir) / "CMakeCache.txt")
    build_type = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", cache, re.M)
    compiler = re.search(r"^CMAKE_CXX_COMPILER:\w+=(.*)$", cache, re.M)
    root = Path(__file__).resolve().parents[2]
    commit = _cmd(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    dirty = _cmd(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu.group(1) if cpu else platform.processor(),
        "memory_mb": int(mem.group(1)) // 1024 if mem else None,
        "kernel": platform.release(),
        "os": os_name.group(1) if os_name else platform.system(),
        "python": platform.python_version(),
        "node": _cmd(["node", "--version"]),
        "compiler": _cmd([compiler.group(1), "--version"]).splitlines()[0] if compiler and _cmd([compiler.group(1), "--version"]) else None,
        "build_type": build_type.group(1) if build_type else None,
        "build_dir": str(build_dir),
        "coco": _cmd([str(coco), "version"]).splitlines()[0] if _cmd([str(coco), "version"]) else None,
        "codex": _cmd([str(codex), "--version"]) if codex else None,
        "codex_acp": acp_version,
        "git_commit": commit,
        "git_dirty": bool(dirty) if dirty is not None else None,
    }
