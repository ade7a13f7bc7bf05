"""The committed SDL, federation, and error masking."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from models.database import create_sessionmaker
from resolvers.loaders import RegionByCodeLoader
from schema.root import public_sdl, sdl

ROOT = Path(__file__).resolve().parents[1]


def test_committed_sdl_matches_the_running_schema():
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert committed == sdl(), "schema.graphql is stale: run `python server.py export-schema --output schema.graphql`"


async def test_service_sdl_is_a_federation_2_subgraph(gql, demo):

    token = await gql.login("edu-440106")
    served = (await gql("{ _service { sdl } }", token=token))["data"]["_service"]["sdl"]
    assert served + "\n" == sdl()
    # Without a session, the public part alone.
    assert (await gql("{ _service { sdl } }"))["data"]["_service"]["sdl"] + "\n" == public_sdl()
    assert '@link(url: "https://specs.apollo.dev/federation/v2' in served
    assert 'type Region @key(fields: "code")' in served
    assert 'type RegulatorAccount implements Account & Node @key(fields: "id")' in served


async def test_unexpected_errors_are_masked(gql, monkeypatch):
    # given: a read that fails in a way nobody planned for
    async def broken(self, codes):
        raise RuntimeError("secret detail /srv/app.py line 1")

    monkeypatch.setattr(RegionByCodeLoader, "batch_load_fn", broken)
    # when
    result = await gql('{ region(code: "440106") { name } }')
    # then: a generic message and code, no exception text or trace
    assert result == {
        "data": {"region": None},
        "errors": [{"message": "Unexpected error.", "locations": [{"line": 1, "column": 3}], "path": ["region"], "extensions": {"code": "INTERNAL_SERVER_ERROR"}}],
    }


async def test_an_unreachable_database_is_a_clear_error(gql, app):


    broken = create_async_engine("postgresql+asyncpg://nobody@/nowhere?host=/nonexistent")
    # Both pools: the regulators' and the public one.
    app.state.sessionmaker = app.state.public_sessionmaker = create_sessionmaker(broken)
    result = await gql('{ region(code: "440106") { name } }')
    # the operation fails as a whole (ask again), not with a null field
    assert result["data"] is None
    assert [(e["message"], e["extensions"], e["path"]) for e in result["errors"]] == [
        ("数据库暂时不可用，请稍后重试 (the database is unavailable; try again shortly)", {"code": "DATABASE_UNAVAILABLE", "retryAfterSeconds": 5}, ["region"])
    ]
    await broken.dispose()
