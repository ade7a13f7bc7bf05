"""GraphiQL served by the server itself (docs/http.md, "GraphiQL").

A browser that opens ``/graphql`` gets this page; its scripts and styles come from the
server's own origin, ``/graphiql/<file>``, read from the npm packages that
``npm ci --prefix web/graphiql`` installs (``web/graphiql/package-lock.json`` pins them), so
the page works on an intranet with no way out. Its ``Content-Security-Policy`` allows that
origin alone. When the packages are not installed, the page loads the same pinned versions
from unpkg.com, each checked by its Subresource Integrity hash, says so at its top, and its
policy allows that origin too."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

#: The page's own script and style, kept in the repository beside the packages' manifest.
HERE = Path(__file__).resolve().parent / "graphiql"
CDN = "https://unpkg.com"


@dataclass(frozen=True)
class Asset:
    #: Its name under ``/graphiql/``.
    name: str
    package: str
    version: str
    path: str
    #: The unpkg.com file's Subresource Integrity hash (the fallback page checks it).
    integrity: str

    @property
    def cdn_url(self) -> str:
        return f"{CDN}/{self.package}@{self.version}/{self.path}"


#: In the order the page loads them: styles, then React before GraphiQL before its plugin.
STYLES = (
    Asset("graphiql.min.css", "graphiql", "3.8.3", "graphiql.min.css", "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM"),
    Asset("explorer.css", "@graphiql/plugin-explorer", "1.0.2", "dist/style.css", "sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi"),
)
SCRIPTS = (
    Asset("react.production.min.js", "react", "18.2.0", "umd/react.production.min.js", "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8"),
    Asset("react-dom.production.min.js", "react-dom", "18.2.0", "umd/react-dom.production.min.js", "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh"),
    Asset("graphiql.min.js", "graphiql", "3.8.3", "graphiql.min.js", "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie"),
    Asset("explorer.umd.js", "@graphiql/plugin-explorer", "1.0.2", "dist/index.umd.js", "sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9"),
)
ASSETS = {asset.name: asset for asset in (*STYLES, *SCRIPTS)}
#: The page's own files (``web/graphiql/``).
OWN = {"app.js": HERE / "app.js", "app.css": HERE / "app.css"}
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

_POLICY = (
    "default-src 'none'; script-src {sources}; style-src {sources} 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
LOCAL_POLICY = _POLICY.format(sources="'self'")
CDN_POLICY = _POLICY.format(sources=f"'self' {CDN}")
FALLBACK_NOTICE = (
    "本页的脚本和样式从 unpkg.com 加载：服务器上尚未安装 GraphiQL 的文件（npm ci --prefix web/graphiql）。"
    "无法访问外网时本页为空白。(GraphiQL's files are not installed on the server; this page loads them from unpkg.com.)"
)


def installed(folder: Path, asset: Asset) -> Path | None:
    """The asset's file in the installed packages, when it is there at the pinned version."""
    package = folder / asset.package
    path = package / asset.path
    try:
        if path.is_file() and f'"version": "{asset.version}"' in (package / "package.json").read_text(encoding="utf-8"):
            return path
    except OSError:
        pass
    return None


def _all_installed(folder: Path) -> bool:
    return all(installed(folder, asset) for asset in ASSETS.values())


def page(folder: Path) -> HTMLResponse:
    """The GraphiQL page: from the server's own origin when the packages are installed in
    ``folder``, else from unpkg.com with a notice."""
    local = _all_installed(folder)

    def source(asset: Asset) -> str:
        if local:
            return f'"/graphiql/{asset.name}"'
        return f'"{asset.cdn_url}" integrity="{asset.integrity}" crossorigin="anonymous"'

    styles = "\n".join(f"<link rel=\"stylesheet\" href={source(a)}>" for a in STYLES)
    scripts = "\n".join(f"<script src={source(a)}></script>" for a in SCRIPTS)
    notice = "" if local else f'<p class="xwpx-notice" role="alert">{html.escape(FALLBACK_NOTICE)}</p>'
    body = f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>GraphiQL · 全国校外教育培训监管与服务综合平台</title>
<link rel="icon" href="data:,">
{styles}
<link rel="stylesheet" href="/graphiql/app.css">
</head>
<body>
{notice}
<div id="graphiql" data-origin="{'local' if local else 'cdn'}">正在加载 GraphiQL…</div>
{scripts}
<script src="/graphiql/app.js"></script>
</body>
</html>
"""
    return HTMLResponse(body, headers={"Content-Security-Policy": LOCAL_POLICY if local else CDN_POLICY, "Cache-Control": "no-store"})


def asset_response(folder: Path, name: str) -> Response:
    """``GET /graphiql/<name>``: one of the page's files (any other name is a 404)."""
    path = OWN.get(name) or (installed(folder, ASSETS[name]) if name in ASSETS else None)
    if path is None:
        return PlainTextResponse("未找到 (not found)", status_code=404)
    return FileResponse(path, media_type=_TYPES[path.suffix], headers={"Cache-Control": "public, max-age=3600"})


async def asset(request: Request) -> Response:
    settings = request.app.state.settings
    if not settings.graphiql:
        return PlainTextResponse("未找到 (not found)", status_code=404)
    return asset_response(settings.graphiql_assets, request.path_params["name"])
