"""The committed SDL, federation, and error masking."""

from __future__ import annotations

from pathlib import Path

from schema import sdl

ROOT = Path(__file__).resolve().parents[1]


def test_committed_sdl_matches_the_running_schema():
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert committed == sdl(), "schema.graphql is stale: run `python server.py export-schema --output schema.graphql`"


async def test_service_sdl_is_a_federation_2_subgraph(gql):
    result = await gql("{ _service { sdl } }")
    served = result["data"]["_service"]["sdl"]
    assert served + "\n" == sdl()
    assert '@link(url: "https://specs.apollo.dev/federation/v2' in served
    assert 'type Region @key(fields: "code")' in served
    assert 'type RegulatorAccount implements Account @key(fields: "id")' in served


async def test_unexpected_errors_are_masked(gql, app):
    # given: the database is gone mid-flight (the engine is disposed and its URL broken)
    from sqlalchemy.ext.asyncio import create_async_engine

    from models.database import create_sessionmaker

    broken = create_async_engine("postgresql+asyncpg://nobody@/nowhere?host=/nonexistent")
    app.state.sessionmaker = create_sessionmaker(broken)
    # when
    result = await gql('{ region(code: "440106") { name } }')
    # then: a generic message, no exception text or trace
    assert result["data"] == {"region": None}
    assert result["errors"][0]["message"] == "Unexpected error."
    assert "extensions" not in result["errors"][0] or "exception" not in result["errors"][0]["extensions"]
    await broken.dispose()
