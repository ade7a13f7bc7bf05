"""区划调整: change sets applied in one transaction (docs/regions.md) — a merge, a split with a
mapping, a rename and moves, each with institutions, accounts, ledgers and tallies in the
counties concerned: nothing lost, scope right for the old and the new accounts, the tallies
agreeing with a recount, the totals unchanged, history re-attributed, the audit trail
written; a second application refused, a dry run writing nothing; the 重庆 2026 change that
ships with the base table."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from models import Account, Application, AuditRecord, AuthSession, Complaint, Institution, Region, RegionChangeSet, UrgingNotice
from models.database import run_migrations
from resolvers.regions.applying import Operator, apply_file
from resolvers.regions.changes import ChangeSetError
from tests.helpers import (
    ROOT,
    SERIES,
    STATISTICS,
    apply_changes,
    at,
    build_world,
    change_set,
    database_at,
    error_codes,
    institution_account,
    tally_differences,
)

LIST = "query($f: InstitutionFilter) { institutions(first: 100, filter: $f) { totalCount edges { node { id name county { code } } } } }"
REGION = """query($c: String!) { region(code: $c) {
  code name inForce validFrom validTo parent { code } successors { code } predecessors { code } history { kind effective description }
} }"""


async def names(gql, token: str, f: dict | None = None) -> set[str]:
    page = (await gql(LIST, {"f": f}, token=token))["data"]["institutions"]
    assert page["totalCount"] == len(page["edges"])
    return {e["node"]["name"] for e in page["edges"]}


async def view(gql, token: str, region: str) -> dict:
    """A statistics view by child region: its rows by key and its total (without the time taken)."""
    result = (await gql(STATISTICS, {"r": region}, token=token))["data"]["statistics"]
    return {"rows": {r["key"]: {k: v for k, v in r.items() if k not in ("key", "label", "region")} for r in result["rows"]},
            "total": {k: v for k, v in result["total"].items() if k not in ("key", "label", "region")}}


async def series(gql, token: str, region: str) -> list[dict]:
    result = await gql(SERIES, {"r": region, "from": "2025-12-01", "to": "2026-11-30"}, token=token)
    return result["data"]["statisticsSeries"]["months"]


def summed(a: dict, b: dict, without: str | None = None) -> dict:
    """Two rows' counts added up, group by group (leaving out ``without``)."""
    return {k: summed(a[k], b[k]) if isinstance(a[k], dict) else a[k] + b[k] for k in a if k != without}


def added(a: list[dict], b: list[dict]) -> list[dict]:
    return [{k: (x[k] + y[k] if k != "month" else x[k]) for k in x} for x, y in zip(a, b, strict=True)]


async def rows(sessionmaker, stmt) -> list:
    async with sessionmaker() as db:
        return (await db.execute(stmt)).all()


@pytest.fixture
async def world(demo, sessionmaker):
    """build_world (天河 440106, 越秀 440104, 福田 440304, 江岸 420102), an urging notice and a
    pending application of 越秀, and an institution account there."""
    ids = await build_world(sessionmaker)
    async with sessionmaker() as db:
        accounts = dict((await db.execute(sa.select(Account.username, Account.id))).all())
        db.add(UrgingNotice(sender_id=accounts["edu-440100"], county_code="440104", institution_id=ids["C2"], message="请尽快整改", sent_at=at("2026-11-01")))
        db.add(UrgingNotice(sender_id=accounts["edu-440100"], county_code="440104", message="越秀区逾期台账", sent_at=at("2026-11-02")))
        db.add(Application(institution_id=ids["C2"], type="LICENCE", status="PENDING", authority_region_code="440104", authority_department="EDUCATION",
                           authority_level="COUNTY", submitted_at=at("2026-11-05")))
        await db.commit()
    name = (await rows(sessionmaker, sa.select(Institution.name).where(Institution.id == ids["C2"])))[0][0]
    await institution_account(sessionmaker, name, "org-c2")
    return ids


async def test_the_chongqing_change_ships_with_the_base_table(gql, sessionmaker):
    # given: the 2023 table (data/regions.csv) and the first change set, applied by migration 0015
    old, split, new = [(await gql(REGION, {"c": c}))["data"]["region"] for c in ("500105", "500112", "500157")]
    # then: the old codes resolve, retired, with their successors
    assert old == {
        "code": "500105", "name": "江北区", "inForce": False, "validFrom": None, "validTo": "2026-01-25", "parent": {"code": "500000"},
        "successors": [{"code": "500157"}], "predecessors": [], "history": [{"kind": "MERGE", "effective": "2026-01-25", "description": "并入 500157"}],
    }
    assert split["validTo"] == "2026-01-25" and split["successors"] == [{"code": "500109"}, {"code": "500157"}]
    assert split["history"] == [{"kind": "SPLIT", "effective": "2026-01-25", "description": "拆分为 500157、500109"}]
    assert new == {
        "code": "500157", "name": "两江新区", "inForce": True, "validFrom": "2026-01-25", "validTo": None, "parent": {"code": "500000"},
        "successors": [], "predecessors": [{"code": "500105"}, {"code": "500112"}],
        "history": [
            {"kind": "CREATE", "effective": "2026-01-25", "description": "设立，上级区划 500000"},
            {"kind": "MERGE", "effective": "2026-01-25", "description": "由 500105 并入"},
            {"kind": "SPLIT", "effective": "2026-01-25", "description": "承接 500112 拆分出的区域"},
            {"kind": "TRANSFER", "effective": "2026-01-25", "description": "承接 500109 移交的部分区域"},
        ],
    }
    # the lists of regions in force have the new district, not the old ones
    children = {r["code"] for r in (await gql('{ regions(parentCode: "500000") { code } }'))["data"]["regions"]}
    assert "500157" in children and not {"500105", "500112"} & children and len(children) == 37
    # the change set is recorded once, with its file, and the unverified code is flagged in it
    recorded = await rows(sessionmaker, sa.select(RegionChangeSet.name, RegionChangeSet.applied_by, RegionChangeSet.content))
    assert [(n, by) for n, by, _ in recorded] == [("2026-01-25-chongqing-liangjiang", "migration 0015")]
    assert [u["code"] for u in recorded[0][2]["unverified"]] == ["500157"]
    shipped = json.loads((ROOT / "data" / "region-changes" / "2026-01-25-chongqing-liangjiang.json").read_text(encoding="utf-8"))
    assert recorded[0][2] == shipped
    # a complaint cannot be filed with a retired county, and is told what replaced it
    complaint = await gql(
        "mutation($i: ComplaintInput!) { submitComplaint(input: $i) { errors { field code message } } }",
        {"i": {"complainantName": "王五", "complainantMobile": "13812345678", "targetType": "INSTITUTION", "complaintType": "OTHER",
               "countyCode": "500105", "targetName": "某机构", "content": "内容"}},
    )
    assert complaint["data"]["submitComplaint"]["errors"] == [
        {"field": "countyCode", "code": "NOT_FOUND", "message": "该区划已于 2026-01-25 撤销，继任区划：两江新区（500157） (the region is retired)"}
    ]


async def test_a_merge_moves_everything_and_keeps_the_totals(app, gql, sessionmaker, world):
    # given: what each viewer sees, counts and reads before
    ministry, city, tianhe, yuexiu = [await gql.login(u) for u in ("edu-000000", "edu-440100", "edu-440106", "edu-440104")]
    before = {u: await names(gql, t) for u, t in (("edu-000000", ministry), ("edu-440100", city), ("edu-440106", tianhe), ("edu-440104", yuexiu))}
    national, prefecture = await view(gql, ministry, "000000"), await view(gql, city, "440100")
    months = {c: await series(gql, city, c) for c in ("440106", "440104", "440100")}
    assert await tally_differences(sessionmaker) == []
    # when: 越秀 merges into 天河
    checked, moved = await apply_changes(app, change_set({"op": "merge", "from": ["440104"], "into": "440106"}))
    # then: what moved, counted
    assert [(m.op, m.counts) for m in moved] == [(
        "merge",
        {"institutions": 2, "institution_accounts": 1, "notices": 2, "complaints": 1, "applications": 1, "accounts_disabled": 4, "sub_units": 2},
    )]
    assert moved[0].summary == "合并 440104 越秀区 → 440106 天河区"
    # nothing is lost: 天河 sees both counties' institutions, the city and the ministry the same as before
    assert await names(gql, tianhe) == before["edu-440106"] | before["edu-440104"]
    assert await names(gql, city) == before["edu-440100"]
    assert await names(gql, ministry) == before["edu-000000"]
    assert await rows(sessionmaker, sa.select(Institution.id).where(Institution.region_code == "440104")) == []
    # the old county's accounts: its bureaus disabled (天河 has its own), sessions ended, no login
    assert error_codes(await gql("{ institutions(first: 1) { totalCount } }", token=yuexiu)) == ["UNAUTHENTICATED"]
    assert error_codes(await gql("mutation { login(username: \"edu-440104\", password: \"Demo#2026\") { token } }")) == ["ACCOUNT_DISABLED"]
    accounts = {u: (r, p, e) for u, r, p, e in await rows(sessionmaker, sa.select(Account.username, Account.region_code, Account.parent_id, Account.enabled))}
    assert accounts["edu-440104"][::2] == ("440104", False) and accounts["sports-440104"][::2] == ("440104", False)
    tianhe_id = (await rows(sessionmaker, sa.select(Account.id).where(Account.username == "edu-440106")))[0][0]
    # its sub-units now under 天河's bureau, seeing what they registered
    assert accounts["edu-440104-01"] == ("440106", tianhe_id, True) and accounts["edu-440104-02"] == ("440106", tianhe_id, True)
    assert await rows(sessionmaker, sa.select(AuthSession.id).join(Account).where(Account.username == "edu-440104")) == []
    # the institution account follows its institution; the notices, the complaint and the pending application go to 天河
    assert accounts["org-c2"][0] == "440106"
    assert {c for (c,) in await rows(sessionmaker, sa.select(UrgingNotice.county_code))} == {"440106"}
    assert {c for (c,) in await rows(sessionmaker, sa.select(Complaint.county_code).where(Complaint.tracking_number == "TS202600000004"))} == {"440106"}
    assert (await rows(sessionmaker, sa.select(Application.authority_region_code).where(Application.institution_id == world["C2"])))[0][0] == "440106"
    notices = (await gql("{ urgingNotices(first: 10) { totalCount } }", token=tianhe))["data"]["urgingNotices"]["totalCount"]
    assert notices == 2
    # the tallies agree with a recount; the ministry's totals and rows, and the city's total, are unchanged
    assert await tally_differences(sessionmaker) == []
    assert await view(gql, ministry, "000000") == national
    after = await view(gql, city, "440100")
    assert after["total"] == prefecture["total"] and set(after["rows"]) == set(prefecture["rows"]) - {"440104"}
    merged = {k: v for k, v in after["rows"]["440106"].items() if k != "complaints"}
    assert merged == summed(prefecture["rows"]["440106"], prefecture["rows"]["440104"], without="complaints")
    assert after["rows"]["440106"]["complaints"]["total"] == prefecture["rows"]["440106"]["complaints"]["total"] + 1
    # history re-attributed: 天河's months are both counties' months, the city's unchanged
    assert await series(gql, city, "440106") == added(months["440106"], months["440104"])
    assert await series(gql, city, "440100") == months["440100"]
    retired = await gql(SERIES, {"r": "440104", "from": "2026-01-01", "to": "2026-11-30"}, token=city)
    assert error_codes(retired) == ["BAD_USER_INPUT"] and "继任区划：天河区（440106）" in retired["errors"][0]["message"]
    # the region answers its history; the trail names who moved what, and 天河 reads it
    region = (await gql(REGION, {"c": "440104"}))["data"]["region"]
    assert (region["inForce"], region["validTo"], region["successors"]) == (False, "2026-11-20", [{"code": "440106"}])
    trail = await rows(sessionmaker, sa.select(AuditRecord.record_type, sa.func.count()).where(AuditRecord.operation == "applyRegionChangeSet")
                       .where(AuditRecord.username == "cli:test").group_by(AuditRecord.record_type))
    assert dict(trail) == {"Institution": 2, "Account": 7, "UrgingNotice": 2, "Complaint": 1, "Application": 1, "RegionChange": 2, "RegionChangeSet": 1}
    seen = (await gql('{ auditRecords(filter: {operation: "applyRegionChangeSet", recordType: "Institution"}, first: 10) { totalCount } }', token=tianhe))
    assert seen["data"]["auditRecords"]["totalCount"] == 2
    # published lists are snapshots: their entries keep the old county
    assert checked.change_set.name == "test-change"


async def test_an_account_disabled_before_the_merge_is_not_disabled_again(app, sessionmaker, world):
    # given: 越秀's sports bureau disabled before the change
    async with sessionmaker() as db:
        await db.execute(sa.update(Account).where(Account.username == "sports-440104").values(enabled=False))
        await db.commit()
    sports = (await rows(sessionmaker, sa.select(Account.id).where(Account.username == "sports-440104")))[0][0]
    # when: 越秀 merges into 天河
    _, moved = await apply_changes(app, change_set({"op": "merge", "from": ["440104"], "into": "440106"}))
    # then: only the other bureaus (education, culture and tourism, science) are counted and recorded as disabled; the sports one stays as it was
    assert moved[0].counts["accounts_disabled"] == 3
    disabled = await rows(sessionmaker, sa.select(AuditRecord.record_id).where(
        AuditRecord.operation == "applyRegionChangeSet", AuditRecord.record_type == "Account", AuditRecord.record_id == sports))
    assert disabled == []
    assert (await rows(sessionmaker, sa.select(Account.region_code, Account.enabled).where(Account.id == sports))) == [("440104", False)]


async def test_a_split_with_a_mapping_leaves_the_rest_for_the_province(app, gql, sessionmaker, world):
    # given: 江岸 420102's three institutions
    e1, e2, e3 = world["E1"], world["E2"], world["E3"]
    credit = dict(await rows(sessionmaker, sa.select(Institution.id, Institution.credit_code)))
    province, wuhan = await gql.login("edu-420000"), await gql.login("edu-420100")
    before = {"province": await names(gql, province), "wuhan": await names(gql, wuhan)}
    totals = (await view(gql, province, "420000"))["total"]
    # when: split into 武昌 420106 and a new 420199, one institution named by id, one by credit code, the third unnamed
    _, moved = await apply_changes(app, change_set(
        {"op": "create", "code": "420199", "name": "江岸新区", "parent": "420100", "level": 3},
        {"op": "split", "from": "420102", "into": ["420106", "420199"], "bureau": "420106",
         "institutions": {str(e1): "420199", credit[e2]: "420106"}},
    ))
    assert [m.counts for m in moved] == [{}, {
        "institutions": 2, "complaints": 1, "accounts_disabled": 4, "sub_units": 2, "review": 1,
    }]
    # then: each mapped institution is where the mapping said; the third waits on the retired code
    located = dict(await rows(sessionmaker, sa.select(Institution.id, Institution.region_code).where(Institution.id.in_([e1, e2, e3]))))
    assert located == {e1: "420199", e2: "420106", e3: "420102"}
    # nothing lost above; 武昌 sees its new one, not the one waiting; the review list is the supervisors'
    assert await names(gql, province) == before["province"] and await names(gql, wuhan) == before["wuhan"]
    wuchang = await gql.login("edu-420106")
    assert {n[:6] for n in await names(gql, wuchang)} == {"420102"}  # (the name keeps its old county prefix)
    waiting = await names(gql, province, {"regionRetired": True})
    assert len(waiting) == 1 and waiting <= before["province"]
    assert await names(gql, wuchang, {"regionRetired": True}) == set()
    # the province's view still sums: the retired county is a row while it holds an institution
    view_after = await view(gql, province, "420000")
    assert view_after["total"] == totals
    wuhan_rows = (await gql(STATISTICS, {"r": "420100"}, token=province))["data"]["statistics"]["rows"]
    labels = {r["key"]: r["label"] for r in wuhan_rows}
    assert (labels["420102"], labels["420106"], labels["420199"]) == ("江岸区（已撤销）", "武昌区", "江岸新区")
    assert sum(r["institutions"]["registered"] for r in wuhan_rows) == (await view(gql, province, "420100"))["total"]["institutions"]["registered"]
    assert await tally_differences(sessionmaker) == []
    # when: the province assigns it, first to a region that is no successor, then to one
    third = str(e3)
    assign = "mutation($id: ID!, $r: String!) { assignInstitutionRegion(id: $id, regionCode: $r) { institution { county { code } } errors { field code message } } }"
    wrong = (await gql(assign, {"id": third, "r": "420502"}, token=province))["data"]["assignInstitutionRegion"]
    assert wrong == {"institution": None, "errors": [{"field": "regionCode", "code": "INVALID", "message": "请选择 420102 的继任区划之一：420106、420199"}]}
    assert error_codes(await gql(assign, {"id": third, "r": "420199"}, token=wuchang)) == ["FORBIDDEN"]
    done = (await gql(assign, {"id": third, "r": "420199"}, token=province))["data"]["assignInstitutionRegion"]
    assert done == {"institution": {"county": {"code": "420199"}}, "errors": []}
    again = (await gql(assign, {"id": str(e1), "r": "420106"}, token=province))["data"]["assignInstitutionRegion"]
    assert again["errors"][0]["code"] == "NOT_ALLOWED"  # its region is in force: nothing to assign
    # then: the review list is empty, the retired county no longer a row, the tallies right
    assert await names(gql, province, {"regionRetired": True}) == set()
    assert "420102" not in (await view(gql, province, "420100"))["rows"]
    assert (await view(gql, province, "420000"))["total"] == totals
    assert await tally_differences(sessionmaker) == []
    trail = await rows(sessionmaker, sa.select(AuditRecord.username, AuditRecord.changes).where(AuditRecord.operation == "assignInstitutionRegion"))
    assert trail == [("edu-420000", {"regionCode": ["420102", "420199"]})]


async def test_a_rename_and_moves_keep_the_codes_and_change_the_scope(app, gql, sessionmaker, world):
    # given: an online subject institution of 福田 with a compliance application pending at the province
    async with sessionmaker() as db:
        db.add(Application(institution_id=world["D1"], type="COMPLIANCE", status="PENDING", authority_region_code="440000",
                           authority_department="EDUCATION", authority_level="PROVINCE", submitted_at=at("2026-11-05")))
        await db.commit()
    yichang, wuhan, guangdong, hubei, ministry = [await gql.login(u) for u in ("edu-420500", "edu-420100", "edu-440000", "edu-420000", "edu-000000")]
    county = await gql.login("edu-420503")
    before = {"yichang": await names(gql, yichang), "wuhan": await names(gql, wuhan), "county": await names(gql, county)}
    national = await view(gql, ministry, "000000")
    # when: 南山 is renamed, 伍家岗 moves from 宜昌 to 武汉, 福田 from 广东 to 湖北 (as a test of a move across provinces)
    _, moved = await apply_changes(app, change_set(
        {"op": "rename", "code": "440305", "name": "南山新区"},
        {"op": "move", "code": "420503", "parent": "420100"},
        {"op": "move", "code": "440304", "parent": "420000"},
    ))
    assert [(m.summary, m.counts) for m in moved] == [
        ("更名 440305 南山区 → 南山新区", {}),
        ("改变隶属 420503 伍家岗区：420500 宜昌市 → 420100 武汉市", {}),
        ("改变隶属 440304 福田区：440300 深圳市 → 420000 湖北省", {"applications": 1}),
    ]
    # then: codes and names
    renamed = (await gql(REGION, {"c": "440305"}))["data"]["region"]
    assert (renamed["name"], renamed["inForce"], renamed["history"]) == ("南山新区", True, [{"kind": "RENAME", "effective": "2026-11-20", "description": "由「南山区」更名为「南山新区」"}])
    assert (await gql('{ region(code: "420503") { parent { code } } }'))["data"]["region"]["parent"] == {"code": "420100"}
    # the county keeps its own; its old prefecture loses it, the new one gains it
    assert await names(gql, county) == before["county"]
    assert await names(gql, wuhan) == before["wuhan"] | before["county"]
    assert await names(gql, yichang) == before["yichang"] - before["county"]
    # 福田's institution is Hubei's now, and its pending application went to the new province
    assert {n[:6] for n in await names(gql, hubei)} >= {"440304"}
    assert not {n for n in await names(gql, guangdong) if n.startswith("440304")}
    assert (await rows(sessionmaker, sa.select(Application.authority_region_code).where(Application.institution_id == world["D1"], Application.type == "COMPLIANCE")))[0][0] == "420000"
    # the national totals are unchanged, the tallies right
    after = await view(gql, ministry, "000000")
    assert after["total"] == national["total"]
    assert await tally_differences(sessionmaker) == []


async def test_a_second_application_and_a_bad_file_are_refused_before_anything_is_written(app, sessionmaker, world, clock):
    content = change_set({"op": "merge", "from": ["440104"], "into": "440106"})
    await apply_changes(app, content)
    audited = len(await rows(sessionmaker, sa.select(AuditRecord.id)))
    # a second application, even renamed, is refused: by its name, then because 越秀 is retired
    with pytest.raises(ChangeSetError) as again:
        await apply_changes(app, content)
    assert again.value.code == "CHANGE_SET_APPLIED" and "不能重复应用" in again.value.problems[0].message
    with pytest.raises(ChangeSetError) as renamed:
        await apply_changes(app, change_set({"op": "merge", "from": ["440104"], "into": "440106"}, name="test-change-2"))
    assert [(p.key, p.code.value) for p in renamed.value.problems] == [("changes[0].from[0]", "NOT_ALLOWED")]
    # every problem of a file at once, each with where and what
    with pytest.raises(ChangeSetError) as bad:
        await apply_changes(app, change_set(
            {"op": "merge", "from": ["999999"], "into": "440100"},
            {"op": "split", "from": "420102", "into": ["420106", "420502"], "institutions": {str(uuid.uuid4()): "420106"}},
            {"op": "create", "code": "440106", "name": "天河区", "parent": "440100", "level": 3},
            {"op": "move", "code": "420100", "parent": "420102"},
            {"op": "explode"},
            name="bad",
        ))
    assert bad.value.code == "CHANGE_SET_INVALID"
    assert [(p.key, p.code.value) for p in bad.value.problems] == [("changes[4].op", "INVALID")]
    unknown = str(uuid.uuid4())
    with pytest.raises(ChangeSetError) as bad:
        await apply_changes(app, change_set(
            {"op": "merge", "from": ["999999"], "into": "440100"},
            {"op": "split", "from": "420102", "into": ["420106", "420502"], "institutions": {unknown: "420106"}},
            {"op": "create", "code": "440106", "name": "天河区", "parent": "440100", "level": 3},
            {"op": "move", "code": "420100", "parent": "440100"},
            name="bad",
        ))
    assert [(p.key, p.code.value, p.message) for p in bad.value.problems] == [
        ("changes[0].into", "HAS_DEPENDENTS", "changes[0].into: 区划 440100 广州市 有下级区划，不是最低一级 (not a lowest region)"),
        ("changes[0].from[0]", "NOT_FOUND", "changes[0].from[0]: 区划 999999 不存在 (no such region)"),
        (f"changes[1].institutions.{unknown}", "NOT_FOUND", f"changes[1].institutions.{unknown}: 没有这个机构 (no such institution)"),
        ("changes[2].code", "DUPLICATE", "changes[2].code: 区划代码 440106 已被 天河区 使用 (the code is taken)"),
        ("changes[3].parent", "INVALID", "changes[3].parent: 广州市 的级别不高于 武汉市 (not above it)"),
    ]
    # a change set not yet in force is refused until its day
    with pytest.raises(ChangeSetError) as early:
        await apply_changes(app, change_set({"op": "rename", "code": "440305", "name": "南山新区"}, name="later", effective="2027-01-01"))
    assert early.value.code == "CHANGE_SET_NOT_EFFECTIVE"
    with pytest.raises(ChangeSetError) as broken:
        await apply_changes(app, b"{not json")
    assert broken.value.code == "CHANGE_SET_INVALID"
    # nothing of those was written
    assert len(await rows(sessionmaker, sa.select(AuditRecord.id))) == audited
    assert [n for (n,) in await rows(sessionmaker, sa.select(RegionChangeSet.name).order_by(RegionChangeSet.name))] == ["2026-01-25-chongqing-liangjiang", "test-change"]
    assert (await rows(sessionmaker, sa.select(Region.name).where(Region.code == "440305")))[0][0] == "南山区"


TABLES = ("region", "region_successor", "region_change", "region_change_set", "institution", "institution_tally", "county_tally_delta",
          "county_day_delta", "account", "auth_session", "complaint", "urging_notice", "application", "audit_record")


async def snapshot(sessionmaker) -> dict[str, str]:
    """Every row of the tables a change set writes, as one digest per table."""
    async with sessionmaker() as db:
        return {t: (await db.execute(sa.text(f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x"))).scalar_one() for t in TABLES}


async def test_a_dry_run_reports_the_same_and_writes_nothing(app, gql, sessionmaker, world):
    await gql.login("edu-440104")  # a session the merge would end
    content = change_set({"op": "merge", "from": ["440104"], "into": "440106"})
    before = await snapshot(sessionmaker)
    _, rehearsed = await apply_changes(app, content, dry_run=True)
    assert await snapshot(sessionmaker) == before
    _, applied = await apply_changes(app, content)
    assert [(m.summary, m.counts) for m in rehearsed] == [(m.summary, m.counts) for m in applied]
    assert await snapshot(sessionmaker) != before


async def test_a_create_adopts_a_region_the_table_already_has(app, sessionmaker):
    # given: a table loaded with the change already in it (as the earlier data/regions.csv had 500157)
    async with sessionmaker() as db:
        db.add(Region(code="440199", name="天河新区", level=3, parent_code="440100", path="000000/440000/440100/440199/"))
        await db.commit()
    content = change_set({"op": "create", "code": "440199", "name": "天河新区", "parent": "440100", "level": 3})
    # then: a plain apply refuses the code as taken; adopting takes the row as created
    with pytest.raises(ChangeSetError) as taken:
        await apply_changes(app, content)
    assert [(p.key, p.code.value) for p in taken.value.problems] == [("changes[0].code", "DUPLICATE")]
    async with app.state.engine.connect() as conn, conn.begin():
        from_file = await conn.run_sync(lambda c: apply_file(c, content, app.state.settings.clock(), Operator("migration"), adopt=True))
    assert from_file[1][0].counts == {}
    assert (await rows(sessionmaker, sa.select(Region.valid_from).where(Region.code == "440199")))[0][0] == date(2026, 11, 20)


@pytest.mark.slow
async def test_the_command_line_applies_with_a_progress_bar_and_refuses_a_second_time(database_url, world, sessionmaker, tmp_path):
    path = tmp_path / "merge.json"
    path.write_bytes(change_set({"op": "merge", "from": ["440104"], "into": "440106"}, effective="2026-01-01"))

    def cli(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "DATABASE_URL": database_url}
        return subprocess.run([sys.executable, "server.py", "regions", "apply", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    rehearsal = await asyncio.to_thread(cli, str(path), "--dry-run")
    assert rehearsal.returncode == 0, rehearsal.stderr
    assert "区划调整: 100%|██████████| 2/2" in rehearsal.stderr
    report = rehearsal.stdout.splitlines()
    assert report[0] == "test-change: 测试区划调整 (生效 2026-01-01)"
    assert report[1:3] == ["  [0] 合并 440104 越秀区 → 440106 天河区",
                           "      机构 2  机构账号 1  管理账号停用 4  下属单位 2  投诉 1  督办 2  待审申请 1"]
    assert report[-1] == "演练：未写入任何数据 (dry run: nothing written)"
    assert len(await rows(sessionmaker, sa.select(Institution.id).where(Institution.region_code == "440104"))) == 2
    done = await asyncio.to_thread(cli, str(path))
    assert done.returncode == 0 and done.stdout.splitlines()[1:3] == report[1:3] and done.stdout.splitlines()[-1] == "已应用 (applied)"
    assert await rows(sessionmaker, sa.select(Institution.id).where(Institution.region_code == "440104")) == []
    again = await asyncio.to_thread(cli, str(path))
    said = [line for line in again.stderr.splitlines() if not line.startswith("{")]  # (the log lines are JSON)
    assert again.returncode == 1 and said[0].startswith("CHANGE_SET_APPLIED: 调整 test-change 已于 ") and said[1] == "1 problems: nothing was written"
    missing = await asyncio.to_thread(cli, str(tmp_path / "none.json"))
    assert missing.returncode == 1 and missing.stderr.splitlines()[-1].startswith("CHANGE_SET_INVALID: 无法读取")


async def test_the_migration_brings_a_table_that_had_the_change_in_it_to_the_same_end(pg_server_url):
    # given: a database at migration 0014 whose table was loaded with the 重庆 change already in
    # it (the earlier data/regions.csv: 500157 present, 500105 and 500112 absent)
    async with database_at(pg_server_url, "0014", prefix="xwpx_old_table") as (url, engine):
        async with engine.begin() as conn:
            await conn.execute(sa.text("DELETE FROM region WHERE code IN ('500105', '500112')"))
            await conn.execute(sa.text("INSERT INTO region (code, name, level, parent_code, path) VALUES ('500157', '两江新区', 3, '500000', '000000/500000/500157/')"))
        # when
        await asyncio.to_thread(run_migrations, url)
        # then: the old districts are back, retired into 两江新区, which is adopted from its day
        async with engine.connect() as conn:
            regions = (await conn.execute(sa.text(
                "SELECT code, name, valid_from, valid_to, path FROM region WHERE code IN ('500105', '500112', '500157') ORDER BY code"
            ))).all()
            successors = (await conn.execute(sa.text("SELECT code, successor_code FROM region_successor ORDER BY 1, 2"))).all()
            applied = (await conn.execute(sa.text("SELECT name, applied_by FROM region_change_set"))).all()
    assert regions == [
        ("500105", "江北区", None, date(2026, 1, 25), "000000/500000/500157/500105/"),
        ("500112", "渝北区", None, date(2026, 1, 25), "000000/500000/500112/"),
        ("500157", "两江新区", date(2026, 1, 25), None, "000000/500000/500157/"),
    ]
    assert successors == [("500105", "500157"), ("500112", "500109"), ("500112", "500157")]
    assert applied == [("2026-01-25-chongqing-liangjiang", "migration 0015")]
