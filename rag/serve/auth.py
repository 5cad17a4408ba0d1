"""``rag serve --auth``: without credentials, nothing but the login page answers.

Gradio's own login leaves gaps: its page embeds ``window.gradio_api_info`` (every endpoint's
schema, the document list) for anyone, and ``/gradio_api/reset``, ``/gradio_api/cancel``,
``/openapi.json`` and others need no login. :class:`LoginRequired` wraps the whole app (API and
UI) as ASGI middleware and lets a request through only when it carries

- HTTP Basic credentials matching ``--auth`` (scripts, the JSON API), or
- the session cookie Gradio sets on a successful ``POST /login`` (the browser UI).

Anything else gets this module's small login page at ``/`` (a form that posts to Gradio's
``/login`` and reloads), ``POST /login`` itself, and a 401 for every other path.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import secrets
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie

OPEN_PATHS = {("POST", "/login"), ("POST", "/login/")}
LOGIN_PATHS = {"/", ""}

LOGIN_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>政策问答助手 · 登录</title>
<style>
body{{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;background:#f5f6f8;margin:0;
display:flex;min-height:100vh;align-items:center;justify-content:center}}
form{{background:#fff;padding:2em 2.4em;border-radius:10px;box-shadow:0 2px 12px #0002;min-width:18em}}
h1{{font-size:1.25em;margin:0 0 1em}} label{{display:block;margin:.6em 0 .2em}}
input{{width:100%;box-sizing:border-box;padding:.5em;font-size:1em}}
button{{margin-top:1.2em;width:100%;padding:.6em;font-size:1em;background:#f97316;color:#fff;border:0;border-radius:6px}}
#msg{{color:#b91c1c;min-height:1.2em}}
</style></head>
<body><form id="login" method="post" action="login">
<h1>{message}</h1>
<label for="u">用户名</label><input id="u" name="username" autocomplete="username" required autofocus>
<label for="p">密码</label><input id="p" name="password" type="password" autocomplete="current-password" required>
<button type="submit">登录</button><p id="msg" role="alert"></p>
</form>
<script>
document.getElementById("login").addEventListener("submit", async (e) => {{
  e.preventDefault();
  const r = await fetch("login", {{method: "POST", body: new URLSearchParams(new FormData(e.target))}});
  if (r.ok) location.reload(); else document.getElementById("msg").textContent = "用户名或密码错误，请重试。";
}});
</script></body></html>
"""


def basic_ok(header: str, user: str, password: str) -> bool:
    """True when ``header`` (an Authorization value) is HTTP Basic with exactly these credentials."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    u, sep, p = decoded.partition(":")
    return bool(sep) and secrets.compare_digest(u.encode(), user.encode()) \
        and secrets.compare_digest(p.encode(), password.encode())


class LoginRequired:
    """ASGI middleware over the whole app (see the module docstring).

    ``session_ok(cookies)`` says whether a request's cookies hold a live Gradio session.
    """

    def __init__(self, app, auth: tuple[str, str], session_ok: Callable[[dict[str, str]], bool],
                 message: str = "政策问答助手：请登录"):
        self.app = app
        self.user, self.password = auth
        self.session_ok = session_ok
        self.page = LOGIN_PAGE.format(message=html.escape(message)).encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self._authenticated(headers):
            return await self.app(scope, receive, send)
        method, path = scope.get("method", "GET"), scope.get("path", "/")
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        if (method, path) in OPEN_PATHS:
            return await self.app(scope, receive, send)
        if method in ("GET", "HEAD") and path in LOGIN_PATHS:
            return await self._reply(send, 200, self.page, "text/html; charset=utf-8", method == "HEAD")
        body = json.dumps({"error": "需要登录 / authentication required: use HTTP Basic with the --auth "
                                    "credentials, or log in at /"}, ensure_ascii=False).encode()
        return await self._reply(send, 401, body, "application/json", method == "HEAD",
                                 [(b"www-authenticate", b'Basic realm="rag"')])

    def _authenticated(self, headers: dict[str, str]) -> bool:
        if basic_ok(headers.get("authorization", ""), self.user, self.password):
            return True
        raw = headers.get("cookie", "")
        if not raw:
            return False
        try:
            jar = SimpleCookie()
            jar.load(raw)
        except CookieError:
            return False
        return self.session_ok({k: m.value for k, m in jar.items()})

    @staticmethod
    async def _reply(send, status: int, body: bytes, ctype: str, head: bool, extra=()):
        headers = [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode()),
                   (b"cache-control", b"no-store"), *extra]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else body})
