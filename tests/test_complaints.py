"""Complaints (网上投诉): public filing, tracking, county handling, masking, limits."""

from __future__ import annotations

import asyncio
import re

import sqlalchemy as sa

from auth.passwords import hash_password
from models import Account, AccountKind, Institution
from tests.helpers import SUBMIT, complaint, error_codes, insert_institutions

STATUS = "query($n: String!, $m: String!) { complaintStatus(trackingNumber: $n, mobile: $m) { status reply rejectReason } }"
INBOX = "query($f: ComplaintFilter) { complaints(filter: $f) { totalCount edges { node { id complainantName complainantMobile content status county { code } } } } }"
HANDLE = {
    "accept": "mutation($id: ID!) { acceptComplaint(id: $id) { complaint { status } errors { field code message } } }",
    "reply": "mutation($id: ID!, $t: String!) { replyComplaint(id: $id, reply: $t) { complaint { status } errors { field code message } } }",
    "reject": "mutation($id: ID!, $t: String!) { rejectComplaint(id: $id, reason: $t) { complaint { status } errors { field code message } } }",
}


async def submit(gql, token: str | None = None, **overrides) -> dict:
    return (await gql(SUBMIT, {"input": complaint(**overrides)}, token=token))["data"]["submitComplaint"]


def payload(result: dict) -> dict:
    return next(iter(result["data"].values()))


async def test_the_public_files_and_follows_a_complaint(gql, demo):
    filed = await submit(gql)
    assert filed["errors"] == [] and re.fullmatch(r"TS20261123[A-HJ-NP-Z2-9]{8}", filed["trackingNumber"])
    number = filed["trackingNumber"]
    assert await gql(STATUS, {"n": number, "m": "13812345678"}) == {"data": {"complaintStatus": {"status": "SUBMITTED", "reply": None, "rejectReason": None}}}
    # nothing shows when the pair does not match
    assert await gql(STATUS, {"n": number, "m": "13900000000"}) == {"data": {"complaintStatus": None}}
    assert await gql(STATUS, {"n": "TS20261123AAAAAAAA", "m": "13812345678"}) == {"data": {"complaintStatus": None}}
    assert await gql(STATUS, {"n": number, "m": "not a phone"}) == {"data": {"complaintStatus": None}}
    # the county accepts and replies; the complainant reads the reply
    county = await gql.login("edu-440106")
    complaint_id = (await gql(INBOX, token=county))["data"]["complaints"]["edges"][0]["node"]["id"]
    assert payload(await gql(HANDLE["accept"], {"id": complaint_id}, token=county)) == {"complaint": {"status": "ACCEPTED"}, "errors": []}
    assert payload(await gql(HANDLE["reply"], {"id": complaint_id, "t": "已约谈该机构，责令整改并退还超期费用。"}, token=county))["complaint"] == {"status": "REPLIED"}
    assert (await gql(STATUS, {"n": number, "m": "+86 138 1234 5678"}))["data"]["complaintStatus"] == {"status": "REPLIED", "reply": "已约谈该机构，责令整改并退还超期费用。", "rejectReason": None}


async def test_submissions_are_validated_as_data(gql, demo, sessionmaker):
    other_county = (await insert_institutions(sessionmaker, {"edu-440104": 1}))["edu-440104"][0]


    async with sessionmaker() as db:
        other_id = str((await db.execute(sa.select(Institution.id).where(Institution.name == other_county))).scalar_one())
    cases = [
        ({"complainantName": "", "complainantMobile": None, "targetType": None, "content": " "},
         [("complainantName", "REQUIRED"), ("complainantMobile", "REQUIRED"), ("targetType", "REQUIRED"), ("content", "REQUIRED")]),
        ({"complainantMobile": "12345"}, [("complainantMobile", "INVALID")]),
        ({"countyCode": "440100"}, [("countyCode", "INVALID")]),
        ({"countyCode": "999999"}, [("countyCode", "NOT_FOUND")]),
        ({"content": "长" * 2001}, [("content", "TOO_LONG")]),
        ({"institutionId": other_id}, [("institutionId", "NOT_FOUND")]),
    ]
    for overrides, expected in cases:
        result = await submit(gql, **overrides)
        assert result["trackingNumber"] is None
        assert [(e["field"], e["code"]) for e in result["errors"]] == expected, overrides
    assert (await submit(gql, countyCode="441900", content="长" * 2000))["errors"] == []  # 东莞: a prefecture without counties


async def test_who_files_and_who_reads_the_identity(gql, demo, sessionmaker):

    async with sessionmaker() as db:
        db.add(Account(username="org-1", name="某培训学校", kind=AccountKind.INSTITUTION, password_hash=hash_password("Org#2026x"), must_change_password=False))
        await db.commit()
    institution = await gql.login("org-1", "Org#2026x")
    assert (await submit(gql, institution))["errors"] == []
    assert error_codes(await gql(SUBMIT, {"input": complaint()}, token=await gql.login("edu-440106"))) == ["FORBIDDEN"]
    full = ("王小明", "13812345678")
    masked = ("王**", "138****5678")
    for username, expected in (("edu-440106", [full]), ("edu-440100", [masked]), ("edu-440000", [masked]), ("edu-000000", [masked]),
                               ("edu-440104", []), ("edu-420000", []), ("edu-440106-01", []), ("sports-440106", [])):
        token = await gql.login(username)
        page = (await gql(INBOX, token=token))["data"]["complaints"]
        assert [(n["node"]["complainantName"], n["node"]["complainantMobile"]) for n in page["edges"]] == expected, username
        assert page["totalCount"] == len(expected)
    assert error_codes(await gql(INBOX)) == ["UNAUTHENTICATED"]


async def test_handling_steps_are_legal_transitions_for_the_handling_county_only(gql, demo):
    await submit(gql)
    await submit(gql, complainantMobile="13912345678")
    county = await gql.login("edu-440106")
    first, second = [e["node"]["id"] for e in (await gql(INBOX, token=county))["data"]["complaints"]["edges"]]
    assert payload(await gql(HANDLE["reply"], {"id": first, "t": "x"}, token=county))["errors"] == [{"field": None, "code": "NOT_ALLOWED", "message": "请先受理，再答复"}]
    assert payload(await gql(HANDLE["reject"], {"id": first, "t": " "}, token=county))["errors"][0]["code"] == "REQUIRED"
    # a step out of turn with a bad text: both problems at once
    assert payload(await gql(HANDLE["reply"], {"id": first, "t": "答\x07复"}, token=county))["errors"] == [
        {"field": None, "code": "NOT_ALLOWED", "message": "请先受理，再答复"},
        {"field": "reply", "code": "INVALID", "message": "答复内容不能包含控制字符"},
    ]
    assert payload(await gql(HANDLE["reject"], {"id": first, "t": "不属于校外培训监管范围"}, token=county))["complaint"] == {"status": "REJECTED"}
    assert payload(await gql(HANDLE["accept"], {"id": first}, token=county))["errors"][0]["message"] == "只能受理待受理的投诉"
    await gql(HANDLE["accept"], {"id": second}, token=county)
    await gql(HANDLE["reply"], {"id": second, "t": "已处理"}, token=county)
    assert payload(await gql(HANDLE["reject"], {"id": second, "t": "x"}, token=county))["errors"][0]["message"] == "已办结的投诉不能再驳回"
    assert error_codes(await gql(HANDLE["accept"], {"id": second}, token=await gql.login("edu-440100"))) == ["FORBIDDEN"]
    assert payload(await gql(HANDLE["accept"], {"id": second}, token=await gql.login("edu-440104")))["errors"][0]["code"] == "NOT_FOUND"
    filtered = (await gql(INBOX, {"f": {"status": "REJECTED"}}, token=county))["data"]["complaints"]
    assert [e["node"]["id"] for e in filtered["edges"]] == [first]


async def test_rate_limits_per_contact_and_per_address(gql, demo, clock):
    # the same contact: three a day, whoever files them
    for _ in range(3):
        assert (await submit(gql, complainantMobile="13800000001"))["errors"] == []
    limited = await gql(SUBMIT, {"input": complaint(complainantMobile="+86 138 0000 0001")})
    assert error_codes(limited) == ["RATE_LIMITED"] and "该联系方式" in limited["errors"][0]["message"]
    # one address (a shared office): 30 an hour, well above one person's three
    for i in range(2, 29):
        assert (await submit(gql, complainantMobile=f"1380000{i:04d}"))["errors"] == []
    limited = await gql(SUBMIT, {"input": complaint(complainantMobile="13800009999")})
    assert error_codes(limited) == ["RATE_LIMITED"] and "本网络地址" in limited["errors"][0]["message"]
    assert limited["errors"][0]["extensions"]["retryAfterSeconds"] == 3600
    clock.advance(hours=1)
    assert (await submit(gql, complainantMobile="13800009999"))["errors"] == []


async def test_a_landline_is_a_contact(gql, demo):
    # 联系方式 is a contact: a landline with its area code serves as well as a mobile
    filed = await submit(gql, complainantMobile="020-3888 0000")
    assert filed["errors"] == []
    status = await gql(STATUS, {"n": filed["trackingNumber"], "m": "02038880000"})
    assert status == {"data": {"complaintStatus": {"status": "SUBMITTED", "reply": None, "rejectReason": None}}}


async def test_simultaneous_submissions_are_counted_one_by_one(gql, demo):

    results = await asyncio.gather(*(gql(SUBMIT, {"input": complaint(complainantMobile="13800000001")}) for i in range(8)))
    accepted = [r for r in results if "errors" not in r and r["data"]["submitComplaint"]["errors"] == []]
    limited = [r for r in results if "errors" in r]
    assert len(accepted) == 3 and len(limited) == 5
    assert {e["extensions"]["code"] for r in limited for e in r["errors"]} == {"RATE_LIMITED"}
