"""The institution's documents (uploads by GraphQL multipart, downloads at /files/{id}) and
funds: who writes, who reads, types by bytes, limits, hostile names, storage kept in step
with the database, masking and optimistic concurrency, batched reads."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from core.settings import Settings
from models import Account, AuditRecord, Document, Institution, InstitutionFunds
from resolvers import documents
from resolvers.documents import MAX_FILE_BYTES
from server import create_app
from tests.helpers import FUNDS_FIELDS, PDF, SAVE_FUNDS, UPLOAD, error_codes, insert_institutions, institution_account, upload

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 20

DOCUMENTS = "query($id: ID!, $c: DocumentCategory) { institution(id: $id) { documents(category: $c) { id title category fileName } } }"
READ_FUNDS = f"query($id: ID!) {{ institution(id: $id) {{ funds {{ {FUNDS_FIELDS} }} }} }}"
DELETE = "mutation($id: ID!) { deleteInstitutionDocument(id: $id) { deletedId errors { field code } } }"
UPDATE = "mutation($id: ID!, $i: InstitutionDocumentInput!) { updateInstitutionDocument(id: $id, input: $i) { document { title number validTo } errors { field code } } }"


@pytest.fixture
async def app(database_url, clock, tmp_path):
    """The app with its files in a folder of this test's own."""
    application = create_app(Settings(database_url=database_url, clock=clock, data_dir=tmp_path))
    async with application.router.lifespan_context(application):
        yield application


def stored(tmp_path: Path) -> list[Path]:
    root = tmp_path / "files"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
async def world(gql, demo, sessionmaker):
    """Two institutions of 天河 (440106) with their accounts, and one of 越秀 (440104)."""
    names = await insert_institutions(sessionmaker, {"edu-440106": 2, "edu-440104": 1})
    own, neighbour = names["edu-440106"]
    async with sessionmaker() as db:
        ids = {name: str(i) for name, i in (await db.execute(sa.select(Institution.name, Institution.id))).all()}
    return {
        "id": ids[own],
        "neighbour_id": ids[neighbour],
        "yuexiu_id": ids[names["edu-440104"][0]],
        "own": await gql.login(await institution_account(sessionmaker, own)),
        "neighbour": await gql.login(await institution_account(sessionmaker, neighbour)),
    }


def uploaded(result: dict) -> dict:
    payload = result["data"]["uploadInstitutionDocument"]
    assert payload["errors"] == [], payload
    return payload["document"]


def refused(result: dict) -> list[tuple[str, str]]:
    payload = result["data"]["uploadInstitutionDocument"]
    assert payload["document"] is None
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def download(http, token: str | None, document_id: str):
    return await http.get(f"/files/{document_id}", headers={"Authorization": f"Bearer {token}"} if token else {})


# --- uploads ----------------------------------------------------------------------------


async def test_an_institution_uploads_pdf_png_and_jpeg_and_reads_them_back(http, gql, world, sessionmaker, tmp_path, clock):
    # when
    licence = uploaded(await upload(http, world["own"], PDF, number="教民1440106000001号", issuer="天河区教育局",
                                    validFrom="2022-01-01", validTo="2027-12-31"))
    clock.advance(minutes=1)
    party = uploaded(await upload(http, world["own"], PNG, "党建.png", "PARTY_BUILDING", "image/png", title="党支部成立批复"))
    clock.advance(minutes=1)
    contract = uploaded(await upload(http, world["own"], JPEG, "合同.jpg", "CONTRACT", "image/jpeg", title="培训服务合同", followsModelText=True))
    # then
    assert licence == {
        "id": licence["id"], "category": "LICENCE", "title": "办学许可证", "number": "教民1440106000001号", "issuer": "天河区教育局",
        "validFrom": "2022-01-01", "validTo": "2027-12-31", "followsModelText": None, "fileName": "许可证.pdf",
        "contentType": "application/pdf", "size": len(PDF), "sha256": hashlib.sha256(PDF).hexdigest(),
        "downloadUrl": f"/files/{licence['id']}",
    }
    assert (party["contentType"], party["fileName"]) == ("image/png", "党建.png")
    assert (contract["contentType"], contract["followsModelText"]) == ("image/jpeg", True)
    assert len(stored(tmp_path)) == 3
    read = await gql(DOCUMENTS, {"id": world["id"]}, token=world["own"])
    assert [d["id"] for d in read["data"]["institution"]["documents"]] == [contract["id"], party["id"], licence["id"]]  # newest first
    only = await gql(DOCUMENTS, {"id": world["id"], "c": "PARTY_BUILDING"}, token=world["own"])
    assert only["data"]["institution"]["documents"] == [{"id": party["id"], "title": "党支部成立批复", "category": "PARTY_BUILDING", "fileName": "党建.png"}]
    # every upload left an audit record in the institution's county
    async with sessionmaker() as db:
        records = (await db.execute(sa.select(AuditRecord).where(AuditRecord.operation == "uploadInstitutionDocument"))).scalars().all()
    assert {(r.username, r.region_code, r.record_type) for r in records} == {(records[0].username, "440106", "Document")}
    assert {r.changes["sha256"][1] for r in records} == {hashlib.sha256(c).hexdigest() for c in (PDF, PNG, JPEG)}


async def test_the_bytes_decide_the_type_not_the_name(http, world, sessionmaker, tmp_path):
    # a PNG named .pdf and declared as a PDF is kept as the PNG it is, under a PNG name
    png = uploaded(await upload(http, world["own"], PNG, "扫描件.pdf", declared="application/pdf"))
    assert (png["contentType"], png["fileName"]) == ("image/png", "扫描件.png")
    response = await download(http, world["own"], png["id"])
    assert response.headers["content-type"] == "image/png"
    # a photo.JPG keeps its own spelling of the extension
    jpeg = uploaded(await upload(http, world["own"], JPEG, "photo.JPG", declared="image/jpeg"))
    assert jpeg["fileName"] == "photo.JPG"
    # anything else is refused, whatever its name and declared type, and nothing is stored
    before = stored(tmp_path)
    for content, name in ((ZIP, "资料.pdf"), (EXE, "setup.pdf"), (b"just some text\n", "readme.pdf"), (b"<html><script>", "x.png")):
        assert refused(await upload(http, world["own"], content, name)) == [("file", "UNSUPPORTED_TYPE")], name
    assert refused(await upload(http, world["own"], b"", "empty.pdf")) == [("file", "INVALID")]
    assert stored(tmp_path) == before
    async with sessionmaker() as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(Document))).scalar() == 2


async def test_files_over_10_mb_are_refused(http, world, tmp_path):
    just = PDF + b"\0" * (MAX_FILE_BYTES - len(PDF))
    assert uploaded(await upload(http, world["own"], just))["size"] == MAX_FILE_BYTES
    assert refused(await upload(http, world["own"], just + b"\0")) == [("file", "TOO_LARGE")]
    assert len(stored(tmp_path)) == 1


async def test_an_institution_keeps_a_bounded_number_of_documents(http, world, tmp_path, monkeypatch):

    monkeypatch.setattr(documents, "MAX_DOCUMENTS", 2)
    for _ in range(2):
        uploaded(await upload(http, world["own"], PDF))
    assert refused(await upload(http, world["own"], PDF)) == [(None, "NOT_ALLOWED")]
    assert len(stored(tmp_path)) == 2  # the refused upload's file was removed
    uploaded(await upload(http, world["neighbour"], PDF))  # counted per institution


async def test_metadata_is_checked_with_the_file(http, world, tmp_path):
    assert refused(await upload(http, world["own"], PDF, title="  ")) == [("title", "REQUIRED")]
    assert refused(await upload(http, world["own"], PDF, title="标题\x07")) == [("title", "INVALID")]
    assert refused(await upload(http, world["own"], PDF, title="长" * 201)) == [("title", "TOO_LONG")]
    assert refused(await upload(http, world["own"], PDF, validFrom="2027-01-01", validTo="2026-01-01")) == [("validTo", "INVALID")]
    assert refused(await upload(http, world["own"], PDF, category="CONTRACT")) == [("followsModelText", "REQUIRED")]
    assert refused(await upload(http, world["own"], PDF, followsModelText=False)) == [("followsModelText", "INVALID")]
    # problems with the metadata and the file come back together
    assert refused(await upload(http, world["own"], ZIP, title="")) == [("title", "REQUIRED"), ("file", "UNSUPPORTED_TYPE")]
    assert stored(tmp_path) == []


def _multipart(operations: dict, filename: bytes, content: bytes) -> tuple[bytes, str]:
    """A multipart body written by hand, so that the file name reaches the server byte for
    byte (clients escape control characters in names)."""
    boundary = b"----xwpx-test-boundary"
    body = b"".join([
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="operations"\r\n\r\n' + json.dumps(operations).encode() + b"\r\n",
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0": ["variables.f"]}\r\n',
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="0"; filename="' + filename + b'"\r\n'
        b"Content-Type: application/pdf\r\n\r\n" + content + b"\r\n",
        b"--" + boundary + b"--\r\n",
    ])
    return body, f"multipart/form-data; boundary={boundary.decode()}"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../x.pdf".encode(), "x.pdf"),
        ("..\\..\\windows\\system32\\x.pdf".encode(), "x.pdf"),
        ("/etc/passwd".encode(), "passwd.pdf"),
        ("许可\x01证\x1b[31m.pdf".encode(), "许可证[31m.pdf"),
        ("合同\u202efdp.exe".encode(), "合同fdp.exe.pdf"),  # a right-to-left override that would show "exe.pdf"
        ("...".encode(), "file.pdf"),
        ('a<b>c:"d"|e?f*.pdf'.encode(), "a_b_c__d__e_f_.pdf"),
        (("长" * 300 + ".pdf").encode(), "长" * 100 + ".pdf"),
    ],
)
async def test_hostile_file_names_are_sanitised_and_never_paths(http, world, tmp_path, name, expected):
    operations = {"query": UPLOAD, "variables": {"c": "OTHER", "f": None, "i": {"title": "其他资料"}}}
    body, content_type = _multipart(operations, name, PDF)
    response = await http.post("/graphql", content=body, headers={"Content-Type": content_type, "Authorization": f"Bearer {world['own']}"})
    document = uploaded(response.json())
    assert document["fileName"] == expected
    # on disk: one file, named by its storage key, inside the storage folder
    [path] = stored(tmp_path)
    assert path.parent.parent == tmp_path / "files" and len(path.name) == 32 and path.read_bytes() == PDF
    assert [p for p in tmp_path.parent.rglob("x.pdf")] == [] and [p for p in tmp_path.rglob("*.pdf")] == []
    disposition = (await download(http, world["own"], document["id"])).headers["content-disposition"]
    assert disposition.endswith(f"filename*=UTF-8''{quote(expected, safe='')}")


async def test_a_transaction_that_fails_leaves_no_file(http, world, tmp_path, monkeypatch, sessionmaker):

    def broken(*args, **kwargs):
        raise RuntimeError("the audit trail is down")

    monkeypatch.setattr(documents.audit, "record", broken)
    result = await upload(http, world["own"], PDF)
    assert result["errors"][0]["message"] == "Unexpected error."
    assert stored(tmp_path) == []
    async with sessionmaker() as db:
        assert (await db.execute(sa.select(sa.func.count()).select_from(Document))).scalar() == 0


async def test_only_the_institution_itself_writes_its_documents(http, gql, world, demo, sessionmaker):
    document = uploaded(await upload(http, world["own"], PDF))
    for username in ("edu-440106", "edu-440000", "edu-000000"):
        token = await gql.login(username)
        assert error_codes(await upload(http, token, PDF)) == ["FORBIDDEN"], username
        assert error_codes(await gql(UPDATE, {"id": document["id"], "i": {"title": "改"}}, token=token)) == ["FORBIDDEN"]
        assert error_codes(await gql(DELETE, {"id": document["id"]}, token=token)) == ["FORBIDDEN"]
        assert error_codes(await gql(SAVE_FUNDS, {"i": {"feeStandard": "x"}}, token=token)) == ["FORBIDDEN"]
    assert error_codes(await upload(http, None, PDF)) == ["UNAUTHENTICATED"]
    # another institution finds nothing to edit or delete
    assert (await gql(UPDATE, {"id": document["id"], "i": {"title": "改"}}, token=world["neighbour"]))["data"]["updateInstitutionDocument"] == {
        "document": None, "errors": [{"field": "id", "code": "NOT_FOUND"}]}
    assert (await gql(DELETE, {"id": document["id"]}, token=world["neighbour"]))["data"]["deleteInstitutionDocument"] == {
        "deletedId": None, "errors": [{"field": "id", "code": "NOT_FOUND"}]}
    # an institution account whose institution is not yet bound may not upload
    async with sessionmaker() as db:
        await db.execute(sa.update(Account).where(Account.institution_id == uuid.UUID(world["neighbour_id"])).values(institution_id=None))
        await db.commit()
    assert error_codes(await upload(http, world["neighbour"], PDF)) == ["INSTITUTION_PENDING"]


async def test_the_institution_edits_metadata_and_deletes_row_then_file(http, gql, world, sessionmaker, tmp_path):
    document = uploaded(await upload(http, world["own"], PDF, number="1"))
    edited = await gql(UPDATE, {"id": document["id"], "i": {"title": "新标题", "number": "2", "validTo": "2030-01-01"}}, token=world["own"])
    assert edited["data"]["updateInstitutionDocument"] == {"document": {"title": "新标题", "number": "2", "validTo": "2030-01-01"}, "errors": []}
    assert (await gql(UPDATE, {"id": document["id"], "i": {"title": ""}}, token=world["own"]))["data"]["updateInstitutionDocument"]["errors"] == [
        {"field": "title", "code": "REQUIRED"}]
    [path] = stored(tmp_path)
    # when
    deleted = await gql(DELETE, {"id": document["id"]}, token=world["own"])
    # then
    assert deleted["data"]["deleteInstitutionDocument"] == {"deletedId": document["id"], "errors": []}
    assert not path.exists() and stored(tmp_path) == []
    assert (await download(http, world["own"], document["id"])).status_code == 404
    async with sessionmaker() as db:
        operations = (await db.execute(sa.select(AuditRecord.operation, AuditRecord.changes, AuditRecord.snapshot)
                                       .where(AuditRecord.record_id == uuid.UUID(document["id"])).order_by(AuditRecord.seq))).all()
    assert [o for o, _, _ in operations] == ["uploadInstitutionDocument", "updateInstitutionDocument", "deleteInstitutionDocument"]
    assert operations[1][1] == {"title": ["办学许可证", "新标题"], "number": ["1", "2"], "valid_to": [None, "2030-01-01"]}
    assert operations[2][2]["title"] == "新标题" and "storage_key" not in operations[2][2]


async def test_deleting_an_institution_removes_its_files(http, gql, world, tmp_path):
    uploaded(await upload(http, world["own"], PDF))
    uploaded(await upload(http, world["neighbour"], PNG, "x.png"))
    county = await gql.login("edu-440106")
    name = (await gql("query($id: ID!) { institution(id: $id) { name } }", {"id": world["id"]}, token=county))["data"]["institution"]["name"]
    result = await gql("mutation($id: ID!, $n: String!) { deleteInstitution(id: $id, confirmName: $n) { deletedId } }", {"id": world["id"], "n": name}, token=county)
    assert result["data"]["deleteInstitution"]["deletedId"] == world["id"]
    assert [p.read_bytes() for p in stored(tmp_path)] == [PNG]


# --- downloads --------------------------------------------------------------------------


async def test_downloads_by_who_may_see_the_institution(http, gql, world):
    document = uploaded(await upload(http, world["own"], PDF, "办学许可证（正本）.pdf"))
    # the owner: the bytes, as an attachment with the Chinese name, never sniffed
    response = await download(http, world["own"], document["id"])
    assert response.status_code == 200 and response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"" + "_" * 9 + ".pdf\"; filename*=UTF-8''" + quote("办学许可证（正本）.pdf", safe="")
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "private, no-store"
    # regulators whose scope holds it: the county, the prefecture, the province, the ministry
    for username in ("edu-440106", "edu-440100", "edu-440000", "edu-000000"):
        response = await download(http, await gql.login(username), document["id"])
        assert (response.status_code, response.content) == (200, PDF), username
    # everyone else: the same 404 as an unknown id
    not_found = (await download(http, world["own"], str(uuid.uuid4()))).json()
    for username in ("edu-440104", "edu-440300", "edu-420000", "sports-440106", "edu-440106-01"):
        response = await download(http, await gql.login(username), document["id"])
        assert (response.status_code, response.json()) == (404, not_found), username
    response = await download(http, world["neighbour"], document["id"])
    assert (response.status_code, response.json()) == (404, not_found)
    assert (await download(http, world["own"], "not-a-uuid")).status_code == 404
    # no session: 401
    assert (await download(http, None, document["id"])).status_code == 401
    assert (await download(http, "expired-or-made-up", document["id"])).status_code == 401


async def test_a_browser_downloads_with_its_session_cookie(http, gql, world, sessionmaker):
    document = uploaded(await upload(http, world["own"], PNG, "a.png", declared="image/png"))
    async with sessionmaker() as db:
        username = (await db.execute(sa.select(Account.username).where(
            Account.institution_id == uuid.UUID(world["id"])))).scalar_one()
    await gql("mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }", {"u": username, "p": "Demo#2026"})
    response = await http.get(document["downloadUrl"])
    assert (response.status_code, response.content) == (200, PNG)


# --- reads and scope --------------------------------------------------------------------


async def test_documents_and_funds_are_read_in_scope_only(http, gql, world, demo):
    uploaded(await upload(http, world["own"], PDF))
    await gql(SAVE_FUNDS, {"i": {"feeStandard": "80 元/课时"}}, token=world["own"])
    query = "query($id: ID!) { institution(id: $id) { documents { title } funds { feeStandard } } }"
    seen = {"institution": {"documents": [{"title": "办学许可证"}], "funds": {"feeStandard": "80 元/课时"}}}
    for username in ("edu-440106", "edu-440000", "edu-000000"):
        assert (await gql(query, {"id": world["id"]}, token=await gql.login(username)))["data"] == seen, username
    assert (await gql(query, {"id": world["id"]}, token=world["own"]))["data"] == seen
    for username in ("edu-440104", "edu-420000", "sports-440106", "edu-440106-01"):
        assert (await gql(query, {"id": world["id"]}, token=await gql.login(username)))["data"] == {"institution": None}, username
    assert (await gql(query, {"id": world["id"]}, token=world["neighbour"]))["data"] == {"institution": None}
    # an institution without any: an empty list and null funds
    empty = await gql(query, {"id": world["neighbour_id"]}, token=world["neighbour"])
    assert empty["data"] == {"institution": {"documents": [], "funds": None}}


async def test_a_page_of_institutions_costs_the_same_statements_whatever_its_size(gql, demo, sessionmaker, sql):
    await insert_institutions(sessionmaker, {"edu-440106": 25})
    async with sessionmaker() as db:
        for institution_id in (await db.execute(sa.select(Institution.id))).scalars():
            db.add(InstitutionFunds(institution_id=institution_id, fee_standard="按课时"))
            for n in range(2):
                db.add(Document(institution_id=institution_id, category="OTHER", title=f"资料{n}", file_name="a.pdf",
                                content_type="application/pdf", size=1, sha256="0" * 64, storage_key=uuid.uuid4().hex))
        await db.commit()
    province = await gql.login("edu-440000")
    query = "query($n: Int) { institutions(first: $n) { edges { node { documents { id } funds { feeStandard } } } } }"
    counts = {}
    await gql(query, {"n": 1}, token=province)  # the subtree's codes, read once a minute per region (auth.scope)
    for n in (5, 20):
        sql.reset()
        result = await gql(query, {"n": n}, token=province)
        nodes = [e["node"] for e in result["data"]["institutions"]["edges"]]
        assert len(nodes) == n and all(len(node["documents"]) == 2 and node["funds"] == {"feeStandard": "按课时"} for node in nodes)
        counts[n] = sql.count
    assert counts[5] == counts[20] == 4  # session, page (no count: not asked for), one batch of documents, one of funds


# --- funds ------------------------------------------------------------------------------

FUNDS = {
    "chargingMethod": "BY_TERM",
    "feeStandard": "每期 12 课时，共 960 元",
    "maxMonthsPerPayment": 3,
    "maxClassHoursPerPayment": 60,
    "refundPolicy": "未上课时按比例退费。\n开课前全额退费。",
    "escrowBank": "中国工商银行广州天河支行",
    "supervisedAccountNumber": "3602 0000 1234 5678 901",
    "riskReserve": "200000.00",
    "basicAccountBank": "中国银行广州天河支行",
    "basicAccountName": "广州市天河区某培训学校",
    "basicAccountNumber": "6217-0000-9999-1234",
}


def funds_of(result: dict) -> dict:
    payload = result["data"]["saveInstitutionFunds"]
    assert payload["errors"] == [], payload
    return payload["funds"]


def save_errors(result: dict) -> list[tuple[str, str]]:
    payload = result["data"]["saveInstitutionFunds"]
    assert payload["funds"] is None
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def test_funds_save_read_and_conflict(gql, world):
    # the first save creates them, with or without version 0
    first = funds_of(await gql(SAVE_FUNDS, {"i": FUNDS}, token=world["own"]))
    assert first == {**FUNDS, "supervisedAccountNumber": "3602000012345678901", "basicAccountNumber": "6217000099991234", "version": 1}
    # later saves send the version read; fields left out are kept, null clears one
    second = funds_of(await gql(SAVE_FUNDS, {"v": 1, "i": {"feeStandard": "每期 960 元", "escrowBank": None}}, token=world["own"]))
    assert (second["feeStandard"], second["escrowBank"], second["riskReserve"], second["version"]) == ("每期 960 元", None, "200000.00", 2)
    assert save_errors(await gql(SAVE_FUNDS, {"v": 1, "i": {"feeStandard": "旧"}}, token=world["own"])) == [("version", "CONFLICT")]
    assert save_errors(await gql(SAVE_FUNDS, {"i": {"feeStandard": "旧"}}, token=world["own"])) == [("version", "REQUIRED")]
    read = await gql(READ_FUNDS, {"id": world["id"]}, token=world["own"])
    assert read["data"]["institution"]["funds"] == second
    # a period beyond the rule (3 months, 60 class hours) is stored as declared
    longer = funds_of(await gql(SAVE_FUNDS, {"v": 2, "i": {"maxMonthsPerPayment": 12, "maxClassHoursPerPayment": 200}}, token=world["own"]))
    assert (longer["maxMonthsPerPayment"], longer["maxClassHoursPerPayment"], longer["version"]) == (12, 200, 3)


async def test_simultaneous_first_saves_do_not_overwrite_each_other(gql, world):

    results = await asyncio.gather(*(gql(SAVE_FUNDS, {"v": 0, "i": {"feeStandard": f"标准{n}"}}, token=world["own"]) for n in range(4)))
    outcomes = sorted("saved" if r["data"]["saveInstitutionFunds"]["funds"] else r["data"]["saveInstitutionFunds"]["errors"][0]["code"] for r in results)
    assert outcomes == ["CONFLICT", "CONFLICT", "CONFLICT", "saved"]


async def test_funds_are_checked_by_type_and_range(gql, world):
    bad = {"riskReserve": "-1", "maxMonthsPerPayment": 0, "maxClassHoursPerPayment": 10_001, "supervisedAccountNumber": "ABC123",
           "basicAccountNumber": "1234", "escrowBank": "银行\n支行", "feeStandard": "长" * 501}
    assert sorted(save_errors(await gql(SAVE_FUNDS, {"i": bad}, token=world["own"]))) == sorted([
        ("riskReserve", "INVALID"), ("maxMonthsPerPayment", "INVALID"), ("maxClassHoursPerPayment", "INVALID"),
        ("supervisedAccountNumber", "INVALID"), ("basicAccountNumber", "INVALID"), ("escrowBank", "INVALID"), ("feeStandard", "TOO_LONG"),
    ])
    assert save_errors(await gql(SAVE_FUNDS, {"i": {"riskReserve": "0.001"}}, token=world["own"])) == [("riskReserve", "INVALID")]
    assert (await gql(READ_FUNDS, {"id": world["id"]}, token=world["own"]))["data"]["institution"]["funds"] is None


async def test_account_numbers_are_masked_above_the_county_desk_and_in_the_trail(gql, world, demo, sessionmaker):
    funds_of(await gql(SAVE_FUNDS, {"i": FUNDS}, token=world["own"]))
    full = ("3602000012345678901", "6217000099991234")
    masked = ("*" * 15 + "8901", "*" * 12 + "1234")
    for token, expected in [(world["own"], full), (await gql.login("edu-440106"), full), (await gql.login("edu-440100"), masked),
                            (await gql.login("edu-440000"), masked), (await gql.login("edu-000000"), masked)]:
        funds = (await gql(READ_FUNDS, {"id": world["id"]}, token=token))["data"]["institution"]["funds"]
        assert (funds["supervisedAccountNumber"], funds["basicAccountNumber"]) == expected
        assert funds["escrowBank"] == FUNDS["escrowBank"]
    async with sessionmaker() as db:
        record = (await db.execute(sa.select(AuditRecord).where(AuditRecord.operation == "saveInstitutionFunds"))).scalar_one()
    assert (record.record_type, str(record.record_id), record.region_code) == ("InstitutionFunds", world["id"], "440106")
    assert record.changes["supervised_account_number"] == [None, masked[0]]
    assert record.changes["basic_account_number"] == [None, masked[1]]
    assert record.changes["risk_reserve"] == [None, "200000.00"]
