"""Inspection and rectification (排查 / 整改), the inspection list, and urging from above (督办)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from models import Inspection, Institution, UrgingNotice
from resolvers.inspections.ledgers import MAX_ITEMS
from tests.helpers import error_codes, insert_institutions

RECORD = """mutation($id: ID!, $input: InspectionInput!) {
  recordInspection(institutionId: $id, input: $input) {
    inspection { id problems items { id problem deadline progress } }
    errors { field code message }
  }
}"""
CORRECT = "mutation($id: ID!, $v: Int!, $input: InspectionInput!) { correctInspection(id: $id, version: $v, input: $input) { inspection { version items { id measures progress } } errors { field code message } } }"
PROGRESS = "mutation($id: ID!, $p: RectificationProgress!) { updateRectificationProgress(id: $id, progress: $p, note: \"已整改\") { item { progress } errors { code message } } }"
ACCEPT = "mutation($id: ID!) { acceptRectification(id: $id, opinion: \"经复查，已整改到位\") { inspection { acceptedOn acceptanceOpinion } errors { code message } } }"
STATE = "query($id: ID!) { institution(id: $id) { inspectionStatus overdue inspectionOperations inspections { inspectedOn acceptedOn items { problem } } } }"

CLEAN = {"inspectedOn": "2026-11-20", "inspectingUnit": "天河区教育局", "result": "证照齐全，未发现问题"}
WITH_PROBLEMS = {
    "inspectedOn": "2026-11-20",
    "inspectingUnit": "天河区教育局",
    "result": "发现安全隐患和超时培训",
    "problems": ["SAFETY_HAZARD", "LATE_CLASSES"],
    "items": [
        {"problem": "SAFETY_HAZARD", "measures": "增设消防通道", "deadline": "2026-12-10"},
        {"problem": "LATE_CLASSES", "measures": "调整课表，20:30 前结束", "deadline": "2026-12-01"},
    ],
}


async def institution_ids(sessionmaker, **per_unit) -> dict[str, list[str]]:
    names = await insert_institutions(sessionmaker, per_unit)
    async with sessionmaker() as db:
        ids = dict((await db.execute(sa.select(Institution.name, Institution.id))).all())
    return {unit: [str(ids[n]) for n in unit_names] for unit, unit_names in names.items()}


def payload(result: dict) -> dict:
    return next(iter(result["data"].values()))


async def test_the_whole_cycle_from_inspection_to_acceptance(gql, demo, sessionmaker):
    # given
    target = (await institution_ids(sessionmaker, **{"edu-440106": 1}))["edu-440106"][0]
    county = await gql.login("edu-440106")
    state = await gql(STATE, {"id": target}, token=county)
    assert state["data"]["institution"] == {"inspectionStatus": "NOT_INSPECTED", "overdue": False, "inspectionOperations": ["RECORD_INSPECTION"], "inspections": []}
    # an inspection without problems
    assert payload(await gql(RECORD, {"id": target, "input": CLEAN}, token=county))["errors"] == []
    assert (await gql(STATE, {"id": target}, token=county))["data"]["institution"]["inspectionStatus"] == "NO_PROBLEMS"
    # a later one with problems opens a ledger
    recorded = payload(await gql(RECORD, {"id": target, "input": {**WITH_PROBLEMS, "inspectedOn": "2026-11-21"}}, token=county))
    assert recorded["errors"] == []
    items = recorded["inspection"]["items"]
    assert [(i["problem"], i["deadline"], i["progress"]) for i in items] == [("LATE_CLASSES", "2026-12-01", "NOT_STARTED"), ("SAFETY_HAZARD", "2026-12-10", "NOT_STARTED")]
    state = (await gql(STATE, {"id": target}, token=county))["data"]["institution"]
    assert (state["inspectionStatus"], state["inspectionOperations"]) == ("RECTIFYING", ["CORRECT_INSPECTION", "UPDATE_PROGRESS", "ACCEPT"])
    # no skipping: no new inspection while the ledger is open, no acceptance before the work is done
    blocked = payload(await gql(RECORD, {"id": target, "input": CLEAN}, token=county))
    assert [(e["code"], e["message"]) for e in blocked["errors"]] == [("NOT_ALLOWED", "该机构的整改台账尚未销号，请先录入验收意见，再录入新的排查")]
    inspection_id = recorded["inspection"]["id"]
    assert [e["message"] for e in payload(await gql(ACCEPT, {"id": inspection_id}, token=county))["errors"]] == ["尚有 2 项整改未完成，不能验收"]
    # a correction keeps the progress of the items it keeps
    await gql(PROGRESS, {"id": items[0]["id"], "p": "DONE"}, token=county)
    correction = {**WITH_PROBLEMS, "inspectedOn": "2026-11-21", "items": [
        {"id": items[0]["id"], "problem": "LATE_CLASSES", "measures": "课表已调整", "deadline": "2026-12-01"},
        {"id": items[1]["id"], "problem": "SAFETY_HAZARD", "measures": "增设消防通道和应急照明", "deadline": "2026-12-10"},
    ]}
    corrected = payload(
        await gql(CORRECT, {"id": inspection_id, "v": 1, "input": {**WITH_PROBLEMS, "inspectedOn": "2026-11-21", "items": [
            {"id": items[0]["id"], "problem": "LATE_CLASSES", "measures": "课表已调整", "deadline": "2026-12-01"},
            {"id": items[1]["id"], "problem": "SAFETY_HAZARD", "measures": "增设消防通道和应急照明", "deadline": "2026-12-10"},
        ]}}, token=county)
    )
    assert corrected["errors"] == [] and [(i["measures"], i["progress"]) for i in corrected["inspection"]["items"]] == [("课表已调整", "DONE"), ("增设消防通道和应急照明", "NOT_STARTED")]
    assert corrected["inspection"]["version"] == 2
    # a correction based on the version before it is refused, not applied over it
    stale = payload(await gql(CORRECT, {"id": inspection_id, "v": 1, "input": correction}, token=county))
    assert [(e["field"], e["code"]) for e in stale["errors"]] == [("version", "CONFLICT")]
    await gql(PROGRESS, {"id": items[1]["id"], "p": "DONE"}, token=county)
    accepted = payload(await gql(ACCEPT, {"id": inspection_id}, token=county))
    assert accepted == {"inspection": {"acceptedOn": "2026-11-23", "acceptanceOpinion": "经复查，已整改到位"}, "errors": []}
    state = (await gql(STATE, {"id": target}, token=county))["data"]["institution"]
    assert (state["inspectionStatus"], state["inspectionOperations"]) == ("RECTIFIED", ["RECORD_INSPECTION"])
    # after acceptance the record is read-only
    assert payload(await gql(CORRECT, {"id": inspection_id, "v": 3, "input": WITH_PROBLEMS}, token=county))["errors"][0]["message"] == "台账已销号，排查记录只读"
    assert payload(await gql(PROGRESS, {"id": items[0]["id"], "p": "IN_PROGRESS"}, token=county))["errors"][0]["code"] == "NOT_ALLOWED"
    assert payload(await gql(ACCEPT, {"id": inspection_id}, token=county))["errors"][0]["message"] == "台账已销号"
    # and a new inspection may follow
    assert payload(await gql(RECORD, {"id": target, "input": {**CLEAN, "inspectedOn": "2026-11-23"}}, token=county))["errors"] == []


async def test_inspection_input_rules(gql, demo, sessionmaker, clock):
    target = (await institution_ids(sessionmaker, **{"edu-440106": 1}))["edu-440106"][0]
    county = await gql.login("edu-440106")
    cases = [
        ({}, [("inspectedOn", "REQUIRED"), ("inspectingUnit", "REQUIRED"), ("result", "REQUIRED")]),
        ({**CLEAN, "inspectedOn": "2026-11-24"}, [("inspectedOn", "INVALID")]),
        ({**CLEAN, "problems": ["OTHER", "FALSE_ADVERTISING"]}, [("otherProblem", "REQUIRED"), ("items", "REQUIRED"), ("items", "REQUIRED")]),
        ({**WITH_PROBLEMS, "items": [{**WITH_PROBLEMS["items"][0], "deadline": "2026-11-01"}, {"problem": "EXCESSIVE_FEES", "measures": "", "deadline": None}]},
         [("items.0.deadline", "INVALID"), ("items.1.problem", "INVALID"), ("items.1.measures", "REQUIRED"), ("items.1.deadline", "REQUIRED"), ("items", "REQUIRED")]),
    ]
    for given, expected in cases:
        result = payload(await gql(RECORD, {"id": target, "input": given}, token=county))
        assert [(e["field"], e["code"]) for e in result["errors"]] == expected, given
    async with sessionmaker() as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(Inspection))).scalar() == 0


async def test_overdue_ledgers_by_the_clock_and_by_region(gql, demo, sessionmaker, clock):
    ids = await institution_ids(sessionmaker, **{"edu-440106": 2, "edu-440104": 1, "edu-440304": 1})
    for unit, institution_id in (("edu-440106", ids["edu-440106"][0]), ("edu-440104", ids["edu-440104"][0]), ("edu-440304", ids["edu-440304"][0])):
        token = await gql.login(unit)
        assert payload(await gql(RECORD, {"id": institution_id, "input": WITH_PROBLEMS}, token=token))["errors"] == []
    province = await gql.login("edu-440000")
    query = "query($f: InstitutionFilter) { institutions(filter: $f) { totalCount } }"
    counts = "{ rectificationByRegion { region { code } rectifying overdue } }"
    assert (await gql(query, {"f": {"overdue": True}}, token=province))["data"]["institutions"]["totalCount"] == 0
    # the earliest unfinished deadline (1 December) passes
    clock.advance(days=9)
    province = await gql.login("edu-440000")  # (the earlier session has long timed out)
    assert (await gql(query, {"f": {"overdue": True}}, token=province))["data"]["institutions"]["totalCount"] == 3
    assert (await gql(query, {"f": {"inspectionStatus": "NOT_INSPECTED"}}, token=province))["data"]["institutions"]["totalCount"] == 1
    by_prefecture = (await gql(counts, token=province))["data"]["rectificationByRegion"]
    assert [(r["region"]["code"], r["rectifying"], r["overdue"]) for r in by_prefecture if r["rectifying"]] == [("440100", 2, 2), ("440300", 1, 1)]
    assert len(by_prefecture) == 21  # every prefecture of 广东, with zeros
    # finishing the late item moves the open deadline to 10 December: no longer overdue
    county = await gql.login("edu-440106")
    state = await gql("query($id: ID!) { institution(id: $id) { overdue inspections { items { id problem } } } }", {"id": ids["edu-440106"][0]}, token=county)
    late = next(i for i in state["data"]["institution"]["inspections"][0]["items"] if i["problem"] == "LATE_CLASSES")
    assert state["data"]["institution"]["overdue"] is True
    await gql(PROGRESS, {"id": late["id"], "p": "DONE"}, token=county)
    assert (await gql(STATE, {"id": ids["edu-440106"][0]}, token=county))["data"]["institution"]["overdue"] is False
    by_county = (await gql('{ rectificationByRegion(regionCode: "440100") { region { code } rectifying overdue } }', token=province))["data"]["rectificationByRegion"]
    assert [(r["region"]["code"], r["rectifying"], r["overdue"]) for r in by_county if r["rectifying"]] == [("440104", 1, 1), ("440106", 1, 0)]
    # out of scope reads as empty
    other = await gql.login("edu-420000")
    assert (await gql('{ rectificationByRegion(regionCode: "440000") { region { code } } }', token=other))["data"]["rectificationByRegion"] == []


async def test_who_records_and_who_reads(gql, demo, sessionmaker):
    ids = await institution_ids(sessionmaker, **{"edu-440106": 1, "edu-440106-01": 1})
    for username in ("edu-440100", "edu-000000", "sports-440106"):
        token = await gql.login(username)
        assert error_codes(await gql(RECORD, {"id": ids["edu-440106"][0], "input": CLEAN}, token=token)) == ["FORBIDDEN"], username
    sub = await gql.login("edu-440106-01")
    assert payload(await gql(RECORD, {"id": ids["edu-440106-01"][0], "input": WITH_PROBLEMS}, token=sub))["errors"] == []
    assert payload(await gql(RECORD, {"id": ids["edu-440106"][0], "input": CLEAN}, token=sub))["errors"][0]["code"] == "NOT_FOUND"
    # upper levels read the record and its ledger in their subtree; others read nothing
    query = "query($id: ID!) { institution(id: $id) { inspectionOperations inspections { items { problem } } } }"
    for username, expected in (("edu-440100", ["URGE"]), ("edu-440000", ["URGE"]), ("edu-000000", ["URGE"])):
        token = await gql.login(username)
        institution = (await gql(query, {"id": ids["edu-440106-01"][0]}, token=token))["data"]["institution"]
        assert institution["inspectionOperations"] == expected
        assert [i["problem"] for i in institution["inspections"][0]["items"]] == ["LATE_CLASSES", "SAFETY_HAZARD"]
    for username in ("edu-420000", "edu-440104"):
        token = await gql.login(username)
        assert (await gql(query, {"id": ids["edu-440106-01"][0]}, token=token))["data"]["institution"] is None


SEND = "mutation($m: String!, $i: ID, $c: String) { sendUrgingNotice(message: $m, institutionId: $i, countyCode: $c) { notice { id county { code } institution { name } senderName } errors { field code message } } }"
NOTICES = "query($h: Boolean) { urgingNotices(handled: $h) { totalCount edges { node { id message county { code } handledAt handlingNote } } } }"
HANDLE = "mutation($id: ID!) { markUrgingNoticeHandled(id: $id, note: \"已约谈机构负责人，限期整改\") { notice { handledAt handlingNote } errors { code message } } }"


async def test_urging_notices_go_down_and_are_handled_once(gql, demo, sessionmaker):
    ids = await institution_ids(sessionmaker, **{"edu-440106": 1, "edu-420102": 1})
    prefecture = await gql.login("edu-440100")
    sent = payload(await gql(SEND, {"m": "请加快整改", "i": ids["edu-440106"][0]}, token=prefecture))
    assert sent["errors"] == [] and sent["notice"]["county"] == {"code": "440106"} and sent["notice"]["senderName"] == "广州市教育局"
    province = await gql.login("edu-440000")
    about_county = payload(await gql(SEND, {"m": "请督促逾期台账", "c": "440104"}, token=province))
    assert about_county["errors"] == [] and about_county["notice"]["institution"] is None
    cases = [
        ({"m": "x", "i": ids["edu-420102"][0]}, [("institutionId", "NOT_FOUND")]),
        ({"m": "x", "c": "420102"}, [("countyCode", "OUT_OF_SCOPE")]),
        ({"m": "x", "c": "440100"}, [("countyCode", "INVALID")]),
        ({"m": "x"}, [(None, "INVALID")]),
        ({"m": " ", "c": "440104", "i": ids["edu-440106"][0]}, [("message", "REQUIRED"), (None, "INVALID")]),
    ]
    for variables, expected in cases:
        assert [(e["field"], e["code"]) for e in payload(await gql(SEND, variables, token=province))["errors"]] == expected, variables
    county = await gql.login("edu-440106")
    assert error_codes(await gql(SEND, {"m": "x", "c": "440106"}, token=county)) == ["FORBIDDEN"]
    # each county sees the notices addressed to it; the senders see what is in their subtree
    inbox = (await gql(NOTICES, {"h": False}, token=county))["data"]["urgingNotices"]
    assert [n["node"]["message"] for n in inbox["edges"]] == ["请加快整改"]
    assert (await gql(NOTICES, {}, token=province))["data"]["urgingNotices"]["totalCount"] == 2
    assert (await gql(NOTICES, {}, token=prefecture))["data"]["urgingNotices"]["totalCount"] == 2
    assert (await gql(NOTICES, {}, token=await gql.login("edu-420000")))["data"]["urgingNotices"]["totalCount"] == 0
    assert (await gql(NOTICES, {}, token=await gql.login("edu-440106-01")))["data"]["urgingNotices"]["totalCount"] == 0
    notice_id = inbox["edges"][0]["node"]["id"]
    beside = await gql.login("edu-440104")
    assert payload(await gql(HANDLE, {"id": notice_id}, token=beside))["errors"][0]["code"] == "NOT_FOUND"
    handled = payload(await gql(HANDLE, {"id": notice_id}, token=county))
    assert handled["errors"] == [] and handled["notice"]["handlingNote"] == "已约谈机构负责人，限期整改"
    assert payload(await gql(HANDLE, {"id": notice_id}, token=county))["errors"] == [{"code": "NOT_ALLOWED", "message": "该督办已办理"}]
    # handled again without a note: both problems at once
    again = "mutation($id: ID!) { markUrgingNoticeHandled(id: $id, note: \" \") { errors { field code } } }"
    assert payload(await gql(again, {"id": notice_id}, token=county))["errors"] == [{"field": None, "code": "NOT_ALLOWED"}, {"field": "note", "code": "REQUIRED"}]
    assert (await gql(NOTICES, {"h": True}, token=prefecture))["data"]["urgingNotices"]["totalCount"] == 1


async def test_deleting_an_institution_takes_its_inspections_and_keeps_notices(gql, demo, sessionmaker):
    target = (await institution_ids(sessionmaker, **{"edu-440106": 1}))["edu-440106"][0]
    county = await gql.login("edu-440106")
    await gql(RECORD, {"id": target, "input": WITH_PROBLEMS}, token=county)
    await gql(SEND, {"m": "请整改", "i": target}, token=await gql.login("edu-440100"))
    name = (await gql("query($id: ID!) { institution(id: $id) { name } }", {"id": target}, token=county))["data"]["institution"]["name"]
    deleted = await gql("mutation($id: ID!, $n: String!) { deleteInstitution(id: $id, confirmName: $n) { errors { code } } }", {"id": target, "n": name}, token=county)
    assert deleted["data"]["deleteInstitution"]["errors"] == []
    async with sessionmaker() as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(Inspection))).scalar() == 0
        notice = (await db.execute(sa.select(UrgingNotice))).scalar_one()
    assert notice.institution_id is None and notice.county_code == "440106"


async def test_only_the_latest_inspection_moves_and_it_cannot_be_back_dated(gql, demo, sessionmaker):
    target = (await institution_ids(sessionmaker, **{"edu-440106": 1}))["edu-440106"][0]
    county = await gql.login("edu-440106")
    # two recordings in one request, the same day: the later one is the latest
    both = await gql(
        'mutation($id: ID!, $a: InspectionInput!, $b: InspectionInput!) { a: recordInspection(institutionId: $id, input: $a) { errors { code } } '
        "b: recordInspection(institutionId: $id, input: $b) { inspection { id } errors { code } } }",
        {"id": target, "a": CLEAN, "b": WITH_PROBLEMS},
        token=county,
    )
    assert both["data"]["a"]["errors"] == [] and both["data"]["b"]["errors"] == []
    assert (await gql(STATE, {"id": target}, token=county))["data"]["institution"]["inspectionStatus"] == "RECTIFYING"
    latest = both["data"]["b"]["inspection"]["id"]
    items = (await gql(STATE.replace("items { problem }", "items { id }"), {"id": target}, token=county))["data"]["institution"]["inspections"][0]["items"]
    for item in items:
        await gql(PROGRESS, {"id": item["id"], "p": "DONE"}, token=county)
    assert payload(await gql(ACCEPT, {"id": latest}, token=county))["errors"] == []
    # a back-dated inspection is refused; so is correcting an older record
    back = payload(await gql(RECORD, {"id": target, "input": {**WITH_PROBLEMS, "inspectedOn": "2026-11-10"}}, token=county))
    assert [(e["field"], e["code"]) for e in back["errors"]] == [("inspectedOn", "INVALID")]
    newer = payload(await gql(RECORD, {"id": target, "input": {**CLEAN, "inspectedOn": "2026-11-22"}}, token=county))
    assert newer["errors"] == []
    async with sessionmaker() as db:
        first = (await db.execute(sa.select(Inspection.id).where(Inspection.problems == []).order_by(Inspection.seq))).scalars().first()
    assert payload(await gql(CORRECT, {"id": str(first), "v": 1, "input": WITH_PROBLEMS}, token=county))["errors"][0]["message"] == "只能修改最近一次排查记录"
    state = (await gql(STATE, {"id": target}, token=county))["data"]["institution"]
    assert (state["inspectionStatus"], state["inspectionOperations"]) == ("NO_PROBLEMS", ["RECORD_INSPECTION", "CORRECT_INSPECTION"])


async def test_overdue_false_includes_ledgers_whose_items_are_all_done(gql, demo, sessionmaker):
    ids = (await institution_ids(sessionmaker, **{"edu-440106": 2}))["edu-440106"]
    county = await gql.login("edu-440106")
    recorded = payload(await gql(RECORD, {"id": ids[0], "input": WITH_PROBLEMS}, token=county))
    for item in recorded["inspection"]["items"]:
        await gql(PROGRESS, {"id": item["id"], "p": "DONE"}, token=county)
    query = "query($f: InstitutionFilter) { institutions(filter: $f) { totalCount } }"
    assert (await gql(query, {"f": {"overdue": False}}, token=county))["data"]["institutions"]["totalCount"] == 2
    assert (await gql(query, {"f": {"overdue": True}}, token=county))["data"]["institutions"]["totalCount"] == 0


async def test_long_texts_are_refused_as_data(gql, demo, sessionmaker):
    target = (await institution_ids(sessionmaker, **{"edu-440106": 1}))["edu-440106"][0]
    county = await gql.login("edu-440106")
    too_long = {
        **WITH_PROBLEMS,
        "problems": ["OTHER"],
        "otherProblem": "长" * 201,
        "items": [{"problem": "OTHER", "measures": "措" * 1001, "deadline": "2026-12-01"}],
    }
    result = payload(await gql(RECORD, {"id": target, "input": too_long}, token=county))
    assert [(e["field"], e["code"]) for e in result["errors"]] == [("otherProblem", "TOO_LONG"), ("items.0.measures", "TOO_LONG")]


async def test_overdue_turns_at_midnight_in_beijing_not_in_utc(gql, demo, sessionmaker, clock):
    # given: a ledger whose earliest deadline is 1 December
    target = (await institution_ids(sessionmaker, **{"edu-440106": 1}))["edu-440106"][0]
    county = await gql.login("edu-440106")
    assert payload(await gql(RECORD, {"id": target, "input": WITH_PROBLEMS}, token=county))["errors"] == []
    # when: 23:30 on 1 December in Beijing (15:30 UTC), the deadline's own day
    clock.now = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    county = await gql.login("edu-440106")
    # then: not overdue yet
    assert (await gql(STATE, {"id": target}, token=county))["data"]["institution"]["overdue"] is False
    # when: 00:30 on 2 December in Beijing, still 1 December in UTC
    clock.now = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)
    # then: overdue, in the record and in the list's filter
    assert (await gql(STATE, {"id": target}, token=county))["data"]["institution"]["overdue"] is True
    query = "query($f: InstitutionFilter) { institutions(filter: $f) { totalCount } }"
    assert (await gql(query, {"f": {"overdue": True}}, token=county))["data"]["institutions"]["totalCount"] == 1


async def test_an_inspection_holds_at_most_max_items_ledger_items(gql, demo, sessionmaker):

    target = (await institution_ids(sessionmaker, **{"edu-440106": 1}))["edu-440106"][0]
    county = await gql.login("edu-440106")
    item = {"problem": "LATE_CLASSES", "measures": "调整课表", "deadline": "2026-12-01"}
    many = {**WITH_PROBLEMS, "problems": ["LATE_CLASSES"], "items": [item] * (MAX_ITEMS + 1)}
    assert [(e["field"], e["code"]) for e in payload(await gql(RECORD, {"id": target, "input": many}, token=county))["errors"]] == [("items", "NOT_ALLOWED")]
    recorded = payload(await gql(RECORD, {"id": target, "input": {**many, "items": [item] * MAX_ITEMS}}, token=county))
    assert recorded["errors"] == [] and len(recorded["inspection"]["items"]) == MAX_ITEMS
