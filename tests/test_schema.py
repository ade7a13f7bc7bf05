"""The committed SDL, federation, and error masking."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from models.database import create_sessionmaker
from resolvers.loaders import RegionByCodeLoader
from schema.descriptions import EXEMPT_TYPES, undescribed
from schema.root import public_schema, public_sdl, schema, sdl

ROOT = Path(__file__).resolve().parents[1]


def test_committed_sdl_matches_the_running_schema():
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert committed == sdl(), "schema.graphql is stale: run `python server.py export-schema --output schema.graphql`"


def test_every_element_of_the_schema_is_described_in_chinese():
    # every type, field, argument, input field and enum value of both schemas, as built:
    # only GraphQL's own scalars and the federation's plumbing are left to their specs
    for built in (schema, public_schema):
        assert undescribed(built._schema) == []
    assert EXEMPT_TYPES == {"String", "Int", "Float", "Boolean", "ID", "_Any", "_Entity", "_Service", "_FieldSet", "link__Import", "link__Purpose"}
    # the terms of the manuals are there, and the printed SDL carries them
    institution = schema._schema.type_map["Institution"].fields
    assert (institution["kind"].description, institution["mode"].description, institution["nature"].description) == ("机构类型", "办学形式", "机构性质")
    complaint = schema._schema.type_map["ComplaintInput"].fields
    assert [complaint[f].description.split(" ")[0] for f in ("complainantName", "complainantMobile", "targetType", "complaintType", "targetName", "content")] == [
        "联系人", "联系方式", "投诉对象", "投诉类型", "投诉对象名称", "投诉内容",
    ]
    assert schema._schema.type_map["InstitutionQualificationsInput"].fields["licenceNumber"].description == "办学许可证编号（办学资质情况为“证照齐全”或“有证无照”时必填，否则须留空）"
    assert schema._schema.type_map["Gender"].values["FEMALE"].description == "女"
    assert '"""女"""\n  FEMALE' in sdl()


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


async def test_request_errors_a_front_end_shows_are_in_chinese_with_a_code(gql, demo):
    token = await gql.login("edu-440106")
    cases = [
        # an unknown enum value in a variable, and in the document
        ("mutation($i: ComplaintInput!) { submitComplaint(input: $i) { trackingNumber } }", {"i": {"targetType": "PARENT"}},
         "BAD_USER_INPUT", "变量 $i 的 targetType 取值无效：ComplaintTargetType 中没有取值 PARENT"),
        ("mutation { submitComplaint(input: {targetType: PARENT}) { trackingNumber } }", None,
         "GRAPHQL_VALIDATION_FAILED", "ComplaintTargetType 中没有取值 PARENT"),
        # a missing, an unknown and a wrongly typed argument
        ("{ region { name } }", None, "GRAPHQL_VALIDATION_FAILED", "Query.region 缺少必填参数 code（类型 String!）"),
        ('{ region(code: "440106", depth: 1) { name } }', None, "GRAPHQL_VALIDATION_FAILED", "Query.region 没有参数 depth"),
        ("{ region(code: 440106) { name } }", None, "GRAPHQL_VALIDATION_FAILED", "String 类型不能表示该值"),
        ("query($c: String!) { region(code: $c) { name } }", {}, "BAD_USER_INPUT", "变量 $c 取值无效：缺少必填的值（类型 String!）"),
        # an unknown field, with graphql's suggestion
        ('{ region(code: "440106") { nam } }', None, "GRAPHQL_VALIDATION_FAILED", "类型 Region 没有字段 nam，是否想用 'name'？"),
        ('{ region(code: "440106") { name ', None, "GRAPHQL_PARSE_FAILED", "语法错误：Expected Name, found <EOF>."),
    ]
    for query, variables, code, chinese in cases:
        result = await gql(query, variables, token=token)
        assert result.get("data") is None, query
        [error] = result["errors"]
        # the Chinese first, graphql's English after it in parentheses
        assert error["extensions"]["code"] == code, (query, error)
        assert error["message"].startswith(chinese + " ("), (query, error["message"])
    # without a session the same problem is refused as outside the public part, in Chinese too
    anonymous = await gql("{ region { name } }")
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert anonymous["errors"][0]["message"].startswith("Query.region 缺少必填参数 code（类型 String!）")
