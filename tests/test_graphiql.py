"""GraphiQL served by the server itself (web/graphiql.py): the page, its files from the
server's origin under a policy that allows nothing else, and the page that says it loads
them from unpkg.com when they are not installed. The page run in a browser with the network
closed is in tests/test_ecosystem.py."""

from __future__ import annotations

import base64
import hashlib
import html

import pytest

from tests.helpers import ROOT, npm_installed
from web import graphiql

FOLDER = ROOT / "web" / "graphiql"
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def assets():
    npm_installed(FOLDER)
    return FOLDER / "node_modules"


async def test_the_page_and_its_files_come_from_the_server(assets, http):
    # given the packages installed, when a browser opens /graphql
    page = await http.get("/graphql", headers=HTML)
    # then every script and style is the server's own, and the policy allows no other origin
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "unpkg.com" not in page.text and html.escape(graphiql.FALLBACK_NOTICE) not in page.text and "xwpx-notice" not in page.text
    assert page.headers["content-security-policy"] == graphiql.LOCAL_POLICY
    assert "script-src 'self';" in graphiql.LOCAL_POLICY and "connect-src 'self';" in graphiql.LOCAL_POLICY
    for name in [*graphiql.ASSETS, *graphiql.OWN]:
        assert f'"/graphiql/{name}"' in page.text, name
        served = await http.get(f"/graphiql/{name}")
        assert served.status_code == 200, name
        assert served.headers["content-type"] == ("text/css; charset=utf-8" if name.endswith(".css") else "text/javascript; charset=utf-8")
    assert (await http.get("/graphiql/..%2Fpackage.json")).status_code == 404
    assert (await http.get("/graphiql/index.html")).status_code == 404


def test_the_installed_files_are_the_bytes_the_fallback_pins(assets):
    # the lock installs the very files whose hashes the unpkg.com page checks
    for asset in graphiql.ASSETS.values():
        path = graphiql.installed(assets, asset)
        assert path is not None, asset
        digest = base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()
        assert asset.integrity == f"sha384-{digest}", asset.name


def test_without_the_packages_the_page_loads_them_from_unpkg_and_says_so(tmp_path):
    page = graphiql.page(tmp_path)  # an empty folder: nothing installed
    text = page.body.decode()
    assert html.escape(graphiql.FALLBACK_NOTICE) in text and "class=\"xwpx-notice\"" in text
    for asset in graphiql.ASSETS.values():
        assert f'"{asset.cdn_url}" integrity="{asset.integrity}" crossorigin="anonymous"' in text
    assert page.headers["content-security-policy"] == graphiql.CDN_POLICY
    assert "script-src 'self' https://unpkg.com;" in graphiql.CDN_POLICY
    assert graphiql.asset_response(tmp_path, "graphiql.min.js").status_code == 404
    assert graphiql.asset_response(tmp_path, "app.js").status_code == 200  # the page's own script is in the repository
