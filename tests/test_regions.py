"""Regions: the national table, its anomalies, public access, batching."""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa

from models import Region

CSV = Path(__file__).resolve().parents[1] / "data" / "regions.csv"
with CSV.open(encoding="utf-8") as f:
    ROWS = list(csv.DictReader(f))


async def test_provinces_are_the_children_of_the_root(gql):
    # given: no login
    # when
    result = await gql("{ regions { code name level } root: region(code: \"000000\") { name level parent { code } } }")
    # then
    provinces = [{"code": r["code"], "name": r["name"], "level": "PROVINCE"} for r in ROWS if r["level"] == "1"]
    assert result == {
        "data": {
            "regions": sorted(provinces, key=lambda r: r["code"]),
            "root": {"name": "全国", "level": "MINISTRY", "parent": None},
        }
    }
    assert len(provinces) == 34


async def test_every_row_of_the_table_is_loaded_with_its_parent(sessionmaker):
    # given: the 2023 base table, then the first change set (重庆 2026: 两江新区 created, its
    # predecessors kept as retired regions)
    async with sessionmaker() as db:
        loaded = {(r.code, r.name, r.level, r.parent_code) for r in (await db.execute(sa.select(Region))).scalars()}
    expected = {(r["code"], r["name"], int(r["level"]), r["parent_code"] or "000000") for r in ROWS}
    assert loaded == expected | {("000000", "全国", 0, None), ("500157", "两江新区", 3, "500000")}


async def test_county_chain_up_to_the_root(gql):
    result = await gql('{ region(code: "440106") { name level parent { code level parent { code level parent { code } } } } }')
    assert result == {
        "data": {
            "region": {
                "name": "天河区",
                "level": "COUNTY",
                "parent": {"code": "440100", "level": "PREFECTURE", "parent": {"code": "440000", "level": "PROVINCE", "parent": {"code": "000000"}}},
            }
        }
    }


async def test_municipality_districts_sit_right_under_the_province(gql):
    result = await gql('{ regions(parentCode: "110000") { code level } }')
    codes = [r["code"] for r in result["data"]["regions"]]
    assert codes == sorted(r["code"] for r in ROWS if r["parent_code"] == "110000")
    assert {r["level"] for r in result["data"]["regions"]} == {"COUNTY"}
    assert "110108" in codes  # 海淀区


async def test_county_level_city_directly_under_a_province(gql):
    result = await gql('{ region(code: "429004") { name level parent { code name } } }')
    assert result == {"data": {"region": {"name": "仙桃市", "level": "COUNTY", "parent": {"code": "420000", "name": "湖北省"}}}}


async def test_prefecture_without_counties_is_a_leaf(gql):
    result = await gql('{ region(code: "441900") { name level children { code } } regions(parentCode: "441900") { code } }')
    assert result == {"data": {"region": {"name": "东莞市", "level": "PREFECTURE", "children": []}, "regions": []}}


async def test_provinces_without_subdivisions(gql):
    result = await gql('{ hk: region(code: "810000") { name children { code } } }')
    assert result == {"data": {"hk": {"name": "香港特别行政区", "children": []}}}


async def test_unknown_code_is_null(gql):
    assert await gql('{ region(code: "999999") { code } }') == {"data": {"region": None}}


async def test_children_of_every_province_cost_one_batched_query(gql, demo, sql):
    # when: 34 provinces, each with its children, each child with its parent (more than the
    # public's query budget: as a regulator)
    token = await gql.login("edu-000000")
    sql.reset()
    result = await gql("{ regions { code children { code parent { code } } } }", token=token)
    # then: the session, its region's subtree (its first request: auth.scope), one query for
    # the provinces, one batch for all children; parents come from the cache of the same
    # request or one batch
    assert len(result["data"]["regions"]) == 34
    provinces = {r["code"] for r in ROWS if r["level"] == "1"}
    # (the children in force: 重庆's two retired districts gone, 两江新区 there)
    assert sum(len(p["children"]) for p in result["data"]["regions"]) == sum(1 for r in ROWS if r["parent_code"] in provinces) - 2 + 1
    assert sql.count <= 5
