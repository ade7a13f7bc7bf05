"""Account management down the tree: create, list, edit, disable, enable, reset, delete."""

from __future__ import annotations

import base64
import json

import sqlalchemy as sa

from models import Account
from resolvers.accounts.regulators import MAX_SUB_UNITS
from tests.helpers import error_codes

CREATE = """mutation($input: CreateRegulatorAccountInput!) {
  createRegulatorAccount(input: $input) {
    account { username name level department enabled mustChangePassword region { code } parent { username } }
    errors { field code message }
  }
}"""
LIST = """query($filter: RegulatorAccountFilter, $first: Int, $after: String) {
  regulatorAccounts(filter: $filter, first: $first, after: $after) {
    totalCount
    edges { cursor node { username name enabled } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""
UPDATE = "mutation($id: ID!, $v: Int!, $input: UpdateRegulatorAccountInput!) { updateRegulatorAccount(id: $id, version: $v, input: $input) { account { name mobile email } errors { field code } } }"
ENABLE = "mutation($id: ID!, $on: Boolean!) { setRegulatorAccountEnabled(id: $id, enabled: $on) { account { enabled } errors { field code } } }"
RESET = "mutation($id: ID!) { resetRegulatorAccountPassword(id: $id) { account { mustChangePassword } errors { field code } } }"
DELETE = "mutation($id: ID!) { deleteRegulatorAccount(id: $id) { deletedId errors { field code } } }"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"


async def account_id(sessionmaker, username: str) -> str:
    async with sessionmaker() as db:
        return str((await db.execute(sa.select(Account.id).where(Account.username == username))).scalar_one())


async def test_county_adds_a_sub_unit_on_the_initial_password(gql, demo):
    # given
    token = await gql.login("edu-440106")
    # when: a county adds a sub-unit, disabled for now (新增用户时可暂时禁用用户账号)
    result = await gql(CREATE, {"input": {"username": "thq-school-office", "name": "天河区校外培训监管办公室", "level": "SUB_UNIT", "enabled": False}}, token=token)
    # then
    assert result == {
        "data": {
            "createRegulatorAccount": {
                "account": {
                    "username": "thq-school-office",
                    "name": "天河区校外培训监管办公室",
                    "level": "SUB_UNIT",
                    "department": "EDUCATION",
                    "enabled": False,
                    "mustChangePassword": True,
                    "region": {"code": "440106"},
                    "parent": {"username": "edu-440106"},
                },
                "errors": [],
            }
        }
    }
    # the list of sub-units (单位列表: name, enabled, login name)
    listed = await gql(LIST, {"filter": {"level": "SUB_UNIT"}}, token=token)
    assert [(e["node"]["username"], e["node"]["enabled"]) for e in listed["data"]["regulatorAccounts"]["edges"]] == [
        ("edu-440106-01", True),
        ("edu-440106-02", True),
        ("thq-school-office", False),
    ]
    # disabled: cannot log in until enabled; then the initial password 123456 works
    assert error_codes(await gql(LOGIN, {"u": "thq-school-office", "p": "123456"})) == ["ACCOUNT_DISABLED"]
    sub_id = listed["data"]["regulatorAccounts"]["edges"][2]["node"]
    new_id = (await gql('query { regulatorAccounts(filter: {search: "thq"}) { edges { node { id } } } }', token=token))["data"]["regulatorAccounts"]["edges"][0]["node"]["id"]
    assert (await gql(ENABLE, {"id": new_id, "on": True}, token=token))["data"]["setRegulatorAccountEnabled"] == {"account": {"enabled": True}, "errors": []}
    sub_token = (await gql(LOGIN, {"u": "thq-school-office", "p": "123456"}))["data"]["login"]["token"]
    assert error_codes(await gql("{ regulatorAccounts { totalCount } }", token=sub_token)) == ["PASSWORD_CHANGE_REQUIRED"]
    assert sub_id["name"] == "天河区校外培训监管办公室"


async def test_edit_disable_reset_and_delete_a_sub_unit(gql, demo, sessionmaker):
    token = await gql.login("edu-440106")
    sub = await account_id(sessionmaker, "edu-440106-01")
    sub_token = await gql.login("edu-440106-01")
    # edit
    edited = await gql(UPDATE, {"id": sub, "v": 1, "input": {"name": "天河区教育督导室", "mobile": "13800138000", "email": "dd@example.cn"}}, token=token)
    assert edited == {"data": {"updateRegulatorAccount": {"account": {"name": "天河区教育督导室", "mobile": "13800138000", "email": "dd@example.cn"}, "errors": []}}}
    # An edit based on the version before that one is refused, not applied over it.
    stale = await gql(UPDATE, {"id": sub, "v": 1, "input": {"name": "旧名称"}}, token=token)
    assert stale == {"data": {"updateRegulatorAccount": {"account": None, "errors": [{"field": "version", "code": "CONFLICT"}]}}}
    bad = await gql(UPDATE, {"id": sub, "v": 2, "input": {"mobile": "010-12345678", "email": "not-an-email"}}, token=token)
    assert bad == {"data": {"updateRegulatorAccount": {"account": None, "errors": [{"field": "mobile", "code": "INVALID"}, {"field": "email", "code": "INVALID"}]}}}
    # disable: its session ends at once
    assert (await gql(ENABLE, {"id": sub, "on": False}, token=token))["data"]["setRegulatorAccountEnabled"]["account"] == {"enabled": False}
    assert error_codes(await gql("{ me { username } regulatorAccounts { totalCount } }", token=sub_token)) == ["UNAUTHENTICATED"]
    await gql(ENABLE, {"id": sub, "on": True}, token=token)
    # reset: back to 123456, to be changed first
    assert (await gql(RESET, {"id": sub}, token=token))["data"]["resetRegulatorAccountPassword"] == {"account": {"mustChangePassword": True}, "errors": []}
    assert error_codes(await gql(LOGIN, {"u": "edu-440106-01", "p": "Demo#2026"})) == ["INVALID_CREDENTIALS"]
    assert "errors" not in await gql(LOGIN, {"u": "edu-440106-01", "p": "123456"})
    # delete
    assert (await gql(DELETE, {"id": sub}, token=token))["data"]["deleteRegulatorAccount"] == {"deletedId": sub, "errors": []}
    assert (await gql(DELETE, {"id": sub}, token=token))["data"]["deleteRegulatorAccount"] == {"deletedId": None, "errors": [{"field": "id", "code": "NOT_FOUND"}]}
    async with sessionmaker() as db:
        assert (await db.execute(sa.select(sa.func.count()).where(Account.username == "edu-440106-01"))).scalar() == 0


async def test_never_beside_or_above(gql, demo, sessionmaker):
    token = await gql.login("edu-440106")
    targets = {
        "another county's sub-unit": "edu-440104-01",
        "a county beside it": "edu-440104",
        "the sports bureau of the same county": "sports-440106",
        "its prefecture": "edu-440100",
        "itself": "edu-440106",
    }
    for label, username in targets.items():
        target = await account_id(sessionmaker, username)
        for mutation, variables in ((UPDATE, {"id": target, "v": 1, "input": {"name": "x"}}), (ENABLE, {"id": target, "on": False}), (RESET, {"id": target}), (DELETE, {"id": target})):
            result = await gql(mutation, variables, token=token)
            payload = next(iter(result["data"].values()))
            assert payload["errors"] == [{"field": "id", "code": "NOT_FOUND"}], (label, mutation)
    async with sessionmaker() as db:
        untouched = (await db.execute(sa.select(sa.func.count()).where(Account.enabled.is_(False) | (Account.name == "x")))).scalar()
    assert untouched == 0


async def test_levels_regions_and_departments_are_checked(gql, demo):
    province = await gql.login("edu-440000")
    cases = [
        # (input, expected errors)
        ({"username": "gd-2", "name": "x", "level": "PROVINCE", "regionCode": "440000", "department": "EDUCATION"}, [("level", "NOT_ALLOWED")]),
        ({"username": "hb-1", "name": "x", "level": "PREFECTURE", "regionCode": "420100", "department": "SPORTS"}, [("regionCode", "OUT_OF_SCOPE")]),
        ({"username": "gz-c", "name": "x", "level": "COUNTY", "regionCode": "440100", "department": "SPORTS"}, [("regionCode", "INVALID")]),
        ({"username": "gz-p", "name": "x", "level": "PREFECTURE", "regionCode": "440106", "department": "SPORTS"}, [("regionCode", "INVALID")]),
        ({"username": "gz-e", "name": "x", "level": "PREFECTURE", "regionCode": "440100", "department": "EDUCATION"}, [("regionCode", "DUPLICATE")]),
        ({"username": "edu-440106", "name": "x", "level": "COUNTY", "regionCode": "440111", "department": "EDUCATION"}, [("username", "DUPLICATE")]),
        ({"username": "x", "name": " ", "level": "COUNTY", "regionCode": "999999"}, [("username", "INVALID"), ("name", "REQUIRED"), ("regionCode", "NOT_FOUND"), ("department", "REQUIRED")]),
        ({"username": "sub-x", "name": "x", "level": "SUB_UNIT"}, [("parentId", "REQUIRED")]),
    ]
    for input_, expected in cases:
        result = await gql(CREATE, {"input": input_}, token=province)
        payload = result["data"]["createRegulatorAccount"]
        assert payload["account"] is None
        assert [(e["field"], e["code"]) for e in payload["errors"]] == expected, input_


async def test_province_creates_down_to_a_prefecture_without_counties(gql, demo):
    province = await gql.login("edu-440000")
    # 东莞 441900 has no counties: its county-level desk sits on the prefecture itself
    result = await gql(CREATE, {"input": {"username": "edu-441900", "name": "东莞市教育局", "level": "COUNTY", "regionCode": "441900", "department": "EDUCATION"}}, token=province)
    assert result["data"]["createRegulatorAccount"]["account"]["region"] == {"code": "441900"}
    sports = await gql(CREATE, {"input": {"username": "sports-440111", "name": "白云区文化广电旅游体育局", "level": "COUNTY", "regionCode": "440111", "department": "SPORTS"}}, token=province)
    assert sports["data"]["createRegulatorAccount"]["errors"] == []


async def test_non_education_departments_manage_their_own_department_only(gql, demo):
    sports = await gql.login("sports-440106")
    own = await gql(CREATE, {"input": {"username": "thq-sports-1", "name": "天河区体育下属单位", "level": "SUB_UNIT"}}, token=sports)
    assert own["data"]["createRegulatorAccount"]["account"]["department"] == "SPORTS"
    listed = await gql(LIST, {}, token=sports)
    assert [e["node"]["username"] for e in listed["data"]["regulatorAccounts"]["edges"]] == ["sports-440106", "thq-sports-1"]


async def test_a_higher_level_creates_a_sub_unit_under_a_named_county(gql, demo, sessionmaker):
    prefecture = await gql.login("edu-440100")
    county = await account_id(sessionmaker, "edu-440104")
    result = await gql(CREATE, {"input": {"username": "yx-sub-3", "name": "越秀区下属单位三", "level": "SUB_UNIT", "parentId": county}}, token=prefecture)
    assert result["data"]["createRegulatorAccount"]["account"]["parent"] == {"username": "edu-440104"}
    outside = await account_id(sessionmaker, "edu-440304")
    result = await gql(CREATE, {"input": {"username": "ft-sub-3", "name": "x", "level": "SUB_UNIT", "parentId": outside}}, token=prefecture)
    assert result["data"]["createRegulatorAccount"]["errors"] == [{"field": "parentId", "code": "NOT_FOUND", "message": "请选择所属区县账号"}]


async def test_a_county_with_sub_units_is_not_deleted(gql, demo, sessionmaker):
    prefecture = await gql.login("edu-440100")
    county = await account_id(sessionmaker, "edu-440106")
    result = await gql(DELETE, {"id": county}, token=prefecture)
    assert result["data"]["deleteRegulatorAccount"] == {"deletedId": None, "errors": [{"field": "id", "code": "HAS_DEPENDENTS"}]}


async def test_sub_units_and_anonymous_callers_manage_nothing(gql, demo):
    sub = await gql.login("edu-440106-01")
    payload = {"input": {"username": "zzz", "name": "x", "level": "SUB_UNIT"}}
    assert error_codes(await gql(CREATE, payload, token=sub)) == ["FORBIDDEN"]
    assert error_codes(await gql(CREATE, payload)) == ["UNAUTHENTICATED"]


async def test_list_pages_through_with_cursors_and_filters(gql, demo):
    province = await gql.login("edu-440000")
    seen, after = [], None
    while True:
        page = (await gql(LIST, {"first": 4, "after": after}, token=province))["data"]["regulatorAccounts"]
        assert page["totalCount"] == 27  # itself, 2 prefectures, 4 counties, 4 × 3 other bureaus, 8 sub-units
        seen += [e["node"]["username"] for e in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 27 and seen == sorted(seen)
    filtered = await gql(LIST, {"filter": {"regionCode": "440300", "department": "SPORTS"}}, token=province)
    assert [e["node"]["username"] for e in filtered["data"]["regulatorAccounts"]["edges"]] == ["sports-440304", "sports-440305"]
    by_parent = await gql(LIST, {"filter": {"parentId": "not-a-uuid"}}, token=province)
    assert by_parent["data"]["regulatorAccounts"]["totalCount"] == 0


async def test_bad_paging_input_is_a_clear_error(gql, demo):
    province = await gql.login("edu-440000")
    assert error_codes(await gql(LIST, {"first": 1000}, token=province)) == ["BAD_USER_INPUT"]
    assert error_codes(await gql(LIST, {"after": "garbage!"}, token=province)) == ["BAD_USER_INPUT"]


async def test_list_costs_the_same_statements_whatever_the_page_size(gql, demo, sql):
    ministry = await gql.login("edu-000000")
    query = "query($n: Int) { regulatorAccounts(first: $n) { totalCount edges { node { username region { name parent { name } } parent { username } } } } }"
    counts = {}
    await gql(query, {"n": 1}, token=ministry)  # the subtree's codes, read once a minute per region (auth.scope)
    for n in (10, 39):  # both pages hold accounts of every level
        sql.reset()
        result = await gql(query, {"n": n}, token=ministry)
        assert len(result["data"]["regulatorAccounts"]["edges"]) == n
        counts[n] = sql.count
    assert counts[10] == counts[39] == 5  # session, page, count, one batch of regions, one of parent accounts (region parents are in the same batch's cache)


async def test_a_taken_username_is_refused_for_sub_units_too(gql, demo):
    county = await gql.login("edu-440106")
    result = await gql(CREATE, {"input": {"username": "EDU-440104", "name": "x", "level": "SUB_UNIT"}}, token=county)
    assert result["data"]["createRegulatorAccount"] == {"account": None, "errors": [{"field": "username", "code": "DUPLICATE", "message": "登录名已被使用"}]}


async def test_cursors_with_wrong_values_are_bad_input(gql, demo):

    province = await gql.login("edu-440000")
    for payload in (["a", "not-a-uuid"], ["a"], "[" * 3000 + "]" * 3000):
        raw = payload if isinstance(payload, str) else json.dumps(payload)
        cursor = base64.urlsafe_b64encode(raw.encode()).decode()
        assert error_codes(await gql(LIST, {"after": cursor}, token=province)) == ["BAD_USER_INPUT"], payload
    # A cursor longer than any string may be is refused before it is read.
    cursor = base64.urlsafe_b64encode(("[" * 5000 + "]" * 5000).encode()).decode()
    assert error_codes(await gql(LIST, {"after": cursor}, token=province)) == ["INPUT_TOO_LONG"]


async def test_contacts_are_checked_and_normalised(gql, demo, sessionmaker):
    token = await gql.login("edu-440106")
    sub = await account_id(sessionmaker, "edu-440106-01")
    bad = await gql(UPDATE, {"id": sub, "v": 1, "input": {"email": "a@b.cn\n"}}, token=token)
    assert bad["data"]["updateRegulatorAccount"]["errors"] == [{"field": "email", "code": "INVALID"}]
    ok = await gql(UPDATE, {"id": sub, "v": 1, "input": {"mobile": "+86 138-0013-8000"}}, token=token)
    assert ok["data"]["updateRegulatorAccount"]["account"]["mobile"] == "13800138000"


async def test_login_names_are_trimmed_and_may_hold_no_newline(gql, demo):
    county = await gql.login("edu-440106")
    result = await gql(CREATE, {"input": {"username": "abc\n", "name": "x", "level": "SUB_UNIT"}}, token=county)
    # stripped first, so "abc" is created; an inner newline is refused
    assert result["data"]["createRegulatorAccount"]["account"]["username"] == "abc"
    result = await gql(CREATE, {"input": {"username": "ab\nc", "name": "x", "level": "SUB_UNIT"}}, token=county)
    assert [(e["field"], e["code"]) for e in result["data"]["createRegulatorAccount"]["errors"]] == [("username", "INVALID")]


async def test_a_county_has_at_most_max_sub_units(gql, demo, sessionmaker):

    async with sessionmaker() as db:
        county = (await db.execute(sa.select(Account).where(Account.username == "edu-440106"))).scalar_one()
        kept = (await db.execute(sa.select(sa.func.count()).where(Account.parent_id == county.id))).scalar_one()
        db.add_all([
            Account(username=f"unit-{n}", name=f"下属单位{n}", kind="REGULATOR", level="SUB_UNIT", region_code="440106", department="EDUCATION",
                    parent_id=county.id, password_hash="x")
            for n in range(MAX_SUB_UNITS - kept - 1)
        ])
        await db.commit()
    token = await gql.login("edu-440106")
    create = 'mutation($u: String!) { createRegulatorAccount(input: {username: $u, name: "最后一个", level: SUB_UNIT}) { account { username } errors { field code } } }'
    assert (await gql(create, {"u": "unit-last"}, token=token))["data"]["createRegulatorAccount"] == {"account": {"username": "unit-last"}, "errors": []}
    assert (await gql(create, {"u": "unit-over"}, token=token))["data"]["createRegulatorAccount"] == {"account": None, "errors": [{"field": "level", "code": "NOT_ALLOWED"}]}
