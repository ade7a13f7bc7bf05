"""The peers harness (bench/peers.py --quick) runs end to end: it installs PostGraphile
and Node.js 22 from npm (bench/peers/), generates a small dataset in an embedded PostgreSQL
of its own, starts this server and PostGraphile, finds the same answers on every target,
measures one short round, stops everything and prints the ratios as its last line.

Skips with its reason where npm is missing or the registry does not answer while
bench/peers/node_modules is not installed yet."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, npm_installed

pytestmark = pytest.mark.slow


def test_quick_run_compares_the_same_answers_and_prints_the_ratios():
    npm_installed(ROOT / "bench" / "peers")
    run = subprocess.run(
        [sys.executable, "bench/peers.py", "--quick", "--rounds", "1", "--seconds", "0.5"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    lines = run.stdout.splitlines()
    # The answers were compared before anything was timed (the run stops on a difference).
    assert re.search(r"^list page: the same 50 institutions \(of \d+\) in the same order with the same values on all four$", run.stdout, re.M)
    assert "detail: the same sites, courses, classes, schedules and teachers for 5 institutions (PostGraphile plain and RLS)" in lines
    assert "search: the same totals and first pages for 10 names" in lines
    # Every row of the three tables, at 1 and 16 clients.
    for target in ("this server", "PostGraphile, county filter", "PostGraphile, RLS policy", "raw asyncpg floor"):
        assert len([line for line in lines if line.startswith(target + " ")]) >= 2, target
    # Everything it started is stopped, its folder removed.
    assert "servers stopped" in lines and "PostgreSQL stopped" in lines
    folder = re.search(r"^starting the embedded PostgreSQL in (\S+)/pg \.\.\.$", run.stdout, re.M).group(1)
    assert not Path(folder).exists()
    # The last line: the ratios, exactly these keys, each a positive number.
    result = json.loads(lines[-1])
    assert list(result) == ["list_page_ratio_vs_postgraphile_plain", "vs_rls", "vs_floor"]
    assert all(isinstance(value, float) and value > 0 for value in result.values())
