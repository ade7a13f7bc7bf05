"""Benchmark: import N institutions (default 10,000) from the Excel template, then export M
(default 100,000).

    python bench/import_institutions.py [--rows 10000] [--export-rows 100000]

Builds an import file of N valid, fully registered institutions in one county (天河,
440106), then runs the same import as ``importInstitutions`` (read-only openpyxl, the forms'
validation, one transaction) twice: the first run creates every row, the second updates
every row. Then it adds rows up to M in the county and exports them as
``GET /exports/institutions.xlsx`` does (write-only openpyxl from a server-side cursor).
Prints seconds per stage and peak memory. Uses ``DATABASE_URL`` when set (the
database is dropped and recreated: give a scratch one), else a temporary embedded
PostgreSQL. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from openpyxl import Workbook  # noqa: E402
from stdnum.cn import uscc  # noqa: E402

from auth.viewer import Viewer  # noqa: E402
from core.clock import utcnow  # noqa: E402
from demo.accounts import seed_accounts  # noqa: E402
from demo.institutions import demo_institution  # noqa: E402
from models import Account, AccountKind, Institution  # noqa: E402
from models.database import (  # noqa: E402
    async_url,
    create_engine,
    create_sessionmaker,
    execute_admin,
    run_migrations,
    server_url,
    start_embedded,
    with_database,
)
from resolvers.institutions.exporting import export_row, export_workbook  # noqa: E402
from resolvers.institutions.importing import import_rows, read_rows  # noqa: E402
from resolvers.institutions.template import DATA_SHEET, HEADERS  # noqa: E402

#: The day the generated licences are dated from (the demo's).
DAY = date(2026, 11, 23)


def peak_rss() -> float:
    """The process's peak resident memory, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    print(f"\r  {label:<10} [{'#' * filled}{'.' * (width - filled)}] {done:>6}/{total}", end="", flush=True)
    if done >= total:
        print()


def build_file(rows: int) -> bytes:
    rng = random.Random(7)
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet(DATA_SHEET)
    sheet.append(HEADERS)
    for n in range(1, rows + 1):
        institution = demo_institution(rng, "440106", "天河区", 10_000 + n if rows < 90_000 else n, uuid.uuid4(), DAY)
        institution.qualifications_saved = institution.operation_saved = True
        institution.subject_training_saved = institution.facilities_saved = True
        sheet.append(export_row(institution))
        if n % 1000 == 0 or n == rows:
            progress("file", n, rows)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def counted(rows, total: int):
    for index, row in enumerate(rows, start=1):
        if index % 1000 == 0 or index == total:
            progress("read", index, total)
        yield row


async def run(url: str, content: bytes, rows: int, export_rows: int) -> None:
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    await seed_accounts(sessionmaker)
    async with sessionmaker() as db:
        import sqlalchemy as sa

        county = (await db.execute(sa.select(Account).where(Account.username == "edu-440106"))).scalar_one()
    viewer = Viewer(
        account_id=county.id, session_id=uuid.uuid4(), kind=AccountKind.REGULATOR, username=county.username,
        must_change_password=False, level=county.level, region_code=county.region_code,
        region_path="000000/440000/440100/440106/", department=county.department,
    )
    for label in ("create", "update"):
        started = time.perf_counter()
        result = await import_rows(sessionmaker, viewer, utcnow(), counted(read_rows(content), rows))
        seconds = time.perf_counter() - started
        assert not result.errors, result.errors[:5]
        print(
            f"  {label}: {seconds:.1f} s ({rows / seconds:,.0f} rows/s), created {result.created}, "
            f"updated {result.updated}, process peak RSS so far {peak_rss():.0f} MiB"
        )
    if export_rows > rows:
        await add_rows(sessionmaker, county.id, export_rows - rows)
        before = peak_rss()
        started = time.perf_counter()
        output = await export_workbook(sessionmaker, viewer, None)
        seconds = time.perf_counter() - started
        size = output.seek(0, io.SEEK_END)
        output.close()
        print(
            f"  export: {export_rows:,} rows in {seconds:.1f} s ({export_rows / seconds:,.0f} rows/s), "
            f"{size / 2**20:.1f} MiB, process peak RSS {before:.0f} → {peak_rss():.0f} MiB"
        )
    await engine.dispose()


async def add_rows(sessionmaker, unit_id, count: int) -> None:
    import sqlalchemy as sa

    rng = random.Random(11)
    columns = [c.key for c in Institution.__table__.columns]
    for start in range(0, count, 5000):
        batch = []
        for n in range(start, min(start + 5000, count)):
            row = demo_institution(rng, "440106", "天河区", n + 1, unit_id, DAY)
            base = row.credit_code[:8] + f"MA6{n:06d}"  # apart from the imported rows' codes
            row.credit_code = base + uscc.calc_check_digit(base)
            batch.append({k: getattr(row, k) for k in columns})
        async with sessionmaker() as db:
            await db.execute(sa.insert(Institution), batch)
            await db.commit()
        progress("add", min(start + 5000, count), count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--export-rows", type=int, default=100_000)
    args = parser.parse_args()
    print(f"building an import file of {args.rows:,} rows")
    started = time.perf_counter()
    content = build_file(args.rows)
    print(f"  {len(content) / 2**20:.1f} MiB in {time.perf_counter() - started:.1f} s; process peak RSS {peak_rss():.0f} MiB")

    server = None
    if os.environ.get("DATABASE_URL"):
        admin = async_url(os.environ["DATABASE_URL"])
    else:
        server = start_embedded(Path(tempfile.mkdtemp(prefix="xwpx-bench-")) / "pg", cleanup_mode="delete")
        admin = server_url(server)
    name = f"xwpx_bench_{os.getpid()}"
    asyncio.run(execute_admin(admin, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'))
    try:
        url = with_database(admin, name)
        print("migrating a scratch database")
        run_migrations(url)
        print("importing (read + validate + write, one transaction each)")
        asyncio.run(run(url, content, args.rows, args.export_rows))
    finally:
        asyncio.run(execute_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if server is not None:
            server.cleanup()
    print(f"process peak RSS {peak_rss():.0f} MiB")


if __name__ == "__main__":
    main()
