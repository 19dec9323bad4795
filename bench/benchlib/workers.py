"""N workers at once against the mock model, wall time against N times one worker: raw `codex exec --json`
processes (what the machine can do) and `coco exec` (Coco's worker pool, which runs the same processes and
joins their results into a report)."""
import json
import os
import resource
import subprocess
import time
from pathlib import Path

from .peers import write_codex_home


def run_batch(codex, n, port, workdir, prompt, timeout=300):
    """Starts n workers together, each with its own CODEX_HOME (as coco's workers get), and waits for all."""
    procs = []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    for i in range(n):
        wd = Path(workdir) / f"w{i}"
        home = write_codex_home(wd / "codex-home", port)
        project = wd / "project"
        project.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, CODEX_HOME=str(home))
        out = open(wd / "stdout.jsonl", "wb")
        err = open(wd / "stderr.log", "wb")
        # stdin must be /dev/null: exec otherwise waits for stdin's EOF even with a prompt.
        p = subprocess.Popen([str(codex), "exec", "--json", "--skip-git-repo-check", "-s", "read-only",
                              "-C", str(project), prompt],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        procs.append((p, out, err, wd))
    failures = []
    for p, out, err, wd in procs:
        try:
            rc = p.wait(timeout=max(1, timeout - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        out.close()
        err.close()
        events = [json.loads(l) for l in (wd / "stdout.jsonl").read_text().splitlines() if l.startswith("{")]
        if rc != 0 or not any(e.get("type") == "turn.completed" for e in events):
            failures.append(f"{wd.name}: exit {rc}, {len(events)} events; see {wd}/stderr.log")
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if failures:
        raise RuntimeError("workers failed: " + "; ".join(failures))
    return {"n": n, "wall_s": wall, "cpu_s": cpu}


def run_coco_exec(coco, codex, n, port, workdir, prompt, timeout=300):
    """`coco exec --parallel n` with n prompts; every worker's CODEX_HOME is seeded from ours."""
    wd = Path(workdir)
    home = write_codex_home(wd / "codex-home", port)
    project = wd / "project"
    project.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CODEX_HOME=str(home), COCO_HOME=str(wd / "coco-home"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    with open(wd / "coco-exec.log", "wb") as log:
        r = subprocess.run([str(coco), "exec", "--parallel", str(n), "--task-root", str(wd / "tasks"),
                            "--cwd", str(project), "--codex", str(codex), *([prompt] * n)],
                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=timeout)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(f"coco exec exited {r.returncode}; see {wd}/coco-exec.log")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"n": n, "wall_s": wall, "cpu_s": cpu}
