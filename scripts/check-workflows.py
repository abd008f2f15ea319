"""Syntax check of the GitHub Actions workflows: they cannot run here, but they must parse.

    python scripts/check-workflows.py [.github/workflows/*.yml ...]

Loads every workflow with PyYAML and checks the structure GitHub requires: a trigger (`on`),
a mapping of jobs, each with `runs-on` (or a reusable workflow's `uses`) and a list of steps,
each step either `uses: owner/repo@ref` or `run: ...`; `needs` names jobs that exist. It does
not check expressions or that the actions exist (that needs the network). Exits 1 listing
every problem. Needs `pip install pyyaml`.
"""

import glob
import re
import sys

import yaml

JOB_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
ACTION = re.compile(r"^(\./.+|docker://.+|[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[A-Za-z0-9_./-]+)$")


def check(path: str) -> list[str]:
    problems = []

    def bad(msg: str) -> None:
        problems.append(f"{path}: {msg}")

    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except yaml.YAMLError as e:
        return [f"{path}: not valid YAML: {e}"]
    if not isinstance(doc, dict):
        return [f"{path}: the top level is not a mapping"]

    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean true.
    trigger = doc.get("on", doc.get(True))
    if not trigger:
        bad("no `on:` trigger")
    jobs = doc.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        return problems + [f"{path}: `jobs` is missing or empty"]

    for job_id, job in jobs.items():
        where = f"job {job_id}"
        if not JOB_ID.match(str(job_id)):
            bad(f"{where}: invalid job id")
        if not isinstance(job, dict):
            bad(f"{where}: not a mapping")
            continue
        needs = job.get("needs", [])
        for need in [needs] if isinstance(needs, str) else needs:
            if need not in jobs:
                bad(f"{where}: needs unknown job {need!r}")
        if "uses" in job:  # a reusable workflow call has no steps
            continue
        if "runs-on" not in job:
            bad(f"{where}: no `runs-on`")
        steps = job.get("steps")
        if not isinstance(steps, list) or not steps:
            bad(f"{where}: `steps` is missing or not a list")
            continue
        for i, step in enumerate(steps, 1):
            at = f"{where}, step {i}"
            if not isinstance(step, dict):
                bad(f"{at}: not a mapping")
                continue
            at = f"{where}, step {i} ({step.get('name', '')})"
            has_uses, has_run = "uses" in step, "run" in step
            if has_uses == has_run:
                bad(f"{at}: needs exactly one of `uses` and `run`")
            if has_uses and not ACTION.match(str(step["uses"])):
                bad(f"{at}: `uses: {step['uses']}` is not owner/repo@ref")
            if has_run and not isinstance(step["run"], str):
                bad(f"{at}: `run` is not a string")
            if "with" in step and not isinstance(step["with"], dict):
                bad(f"{at}: `with` is not a mapping")
    return problems


def main() -> None:
    paths = sys.argv[1:] or sorted(glob.glob(".github/workflows/*.yml"))
    if not paths:
        raise SystemExit("no workflow files found")
    problems = [p for path in paths for p in check(path)]
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        raise SystemExit(1)
    for path in paths:
        print(f"workflow ok: {path}")


if __name__ == "__main__":
    main()
