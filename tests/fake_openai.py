"""A fake OpenAI-compatible chat server on 127.0.0.1 for offline tests of the LLM path.

It speaks ``POST /v1/chat/completions`` for real: a JSON completion, or Server-Sent Events
when the request asks for ``"stream": true``. Set ``server.reply`` to choose what it does:

    FakeOpenAI.text("……[1]。")          normal reply (JSON or SSE, as requested)
    FakeOpenAI.status(500) / (429)      an error status with an OpenAI-style error body
    FakeOpenAI.slow(2.0, "……")          wait before answering (beyond the client's timeout)
    FakeOpenAI.raw("not json")          a 200 whose body is not a completion (malformed)
    FakeOpenAI.broken_stream("……")      SSE that stops with a garbage event mid-answer
    FakeOpenAI.hang()                   accept the request, never answer (until the server closes)
    FakeOpenAI.status(429, retry_after="60")   an error status with a Retry-After header
    FakeOpenAI.dropped_stream("……", keep=0.5)  SSE whose connection closes after ``keep`` of the answer,
                                        without finish_reason or [DONE]
    FakeOpenAI.sequence(r1, r2, ...)    reply r1 to the first request, r2 to the next ... (the last repeats)

Every request body and its headers (lower-cased names) are kept in ``server.requests``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAI:
    def __init__(self) -> None:
        self.reply: dict[str, Any] = self.text("")
        self.requests: list[dict[str, Any]] = []
        self.stopping = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append({"path": self.path, "body": body, "headers": {k.lower(): v for k, v in self.headers.items()}})
                try:
                    fake._respond(self, body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.stopping.set()  # releases hanging handlers
        self.httpd.shutdown()
        self.httpd.server_close()

    # ------------------------------------------------------------------ replies
    @staticmethod
    def text(content: str) -> dict[str, Any]:
        return {"kind": "text", "content": content}

    @staticmethod
    def status(code: int, message: str = "fake error", retry_after: str | None = None) -> dict[str, Any]:
        headers = {"retry-after": retry_after} if retry_after is not None else {"retry-after-ms": "10"}
        return {"kind": "status", "code": code, "message": message, "headers": headers}

    @staticmethod
    def hang() -> dict[str, Any]:
        return {"kind": "hang"}

    @staticmethod
    def dropped_stream(content: str, keep: float = 0.5) -> dict[str, Any]:
        return {"kind": "dropped_stream", "content": content, "keep": keep}

    @staticmethod
    def sequence(*replies: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "sequence", "replies": list(replies), "next": 0}

    @staticmethod
    def slow(delay: float, content: str = "") -> dict[str, Any]:
        return {"kind": "text", "content": content, "delay": delay}

    @staticmethod
    def raw(body: str) -> dict[str, Any]:
        return {"kind": "raw", "body": body}

    @staticmethod
    def broken_stream(content: str) -> dict[str, Any]:
        return {"kind": "broken_stream", "content": content}

    # ------------------------------------------------------------------ protocol
    def _respond(self, h: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        r = self.reply
        if r["kind"] == "sequence":
            i = min(r["next"], len(r["replies"]) - 1)
            r["next"] += 1
            r = r["replies"][i]
        if r["kind"] == "hang":
            self.stopping.wait(120)
            return
        time.sleep(r.get("delay", 0))
        if h.path.rstrip("/") != "/v1/chat/completions":
            return self._send(h, 404, {"error": {"message": "not found"}})
        if r["kind"] == "status":
            err = {"error": {"message": r["message"], "type": "fake", "code": r["code"]}}
            return self._send(h, r["code"], err, r.get("headers", {}))
        if r["kind"] == "raw":
            return self._send_bytes(h, 200, r["body"].encode(), "application/json")
        model = body.get("model", "fake")
        if not body.get("stream"):
            return self._send(h, 200, {
                "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": r["content"]}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            })
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        h.end_headers()
        content = r["content"]
        pieces = [content[i : i + 6] for i in range(0, len(content), 6)]
        if r["kind"] == "broken_stream":
            pieces = pieces[: max(1, len(pieces) // 2)]
        if r["kind"] == "dropped_stream":
            pieces = pieces[: int(len(pieces) * r["keep"])]
        for i, piece in enumerate(pieces):
            delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
            self._event(h, {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
                            "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        if r["kind"] == "broken_stream":
            h.wfile.write(b"data: {this is not json\n\n")
            h.wfile.flush()
            return
        if r["kind"] == "dropped_stream":  # the connection just closes: no finish_reason, no [DONE]
            h.close_connection = True
            return
        self._event(h, {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        h.wfile.write(b"data: [DONE]\n\n")
        h.wfile.flush()

    @staticmethod
    def _event(h: BaseHTTPRequestHandler, obj: dict[str, Any]) -> None:
        h.wfile.write(b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n")
        h.wfile.flush()

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, code: int, obj: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        FakeOpenAI._send_bytes(h, code, json.dumps(obj, ensure_ascii=False).encode(), "application/json", headers)

    @staticmethod
    def _send_bytes(h, code: int, data: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        h.send_response(code)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
        h.wfile.flush()
