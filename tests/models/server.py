"""A tiny HTTP file server on 127.0.0.1 for download tests: honours Range (or not), can stop
mid-file or answer 404, and records each request's path and headers."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Served:
    """One file: its bytes, and how many of the next responses stop after `cut_at` bytes."""

    data: bytes
    cut_at: int | None = None
    cuts_left: int = 0
    etag: str = '"v1"'


@dataclass
class FileServer:
    files: dict[str, Served] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    honour_range: bool = True
    url: str = ""

    def serve(self, path: str, data: bytes, **options) -> str:
        """Serves `data` at `path`; returns its URL."""
        self.files[path] = Served(data, **options)
        return self.url + path

    def requests_for(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.requests if p == path]


def make_handler(state: FileServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            state.requests.append((self.path, dict(self.headers)))
            served = state.files.get(self.path)
            if served is None:
                self.send_error(404, "Not Found")
                return
            data, start, status = served.data, 0, 200
            wanted = self.headers.get("Range")
            if (
                wanted
                and state.honour_range
                and self.headers.get("If-Range", served.etag) == served.etag
            ):
                start = int(wanted.removeprefix("bytes=").split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            body = data[start:]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", served.etag)
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if served.cuts_left > 0 and served.cut_at is not None:
                served.cuts_left -= 1
                self.wfile.write(body[: max(0, served.cut_at - start)])
                self.wfile.flush()
                self.close_connection = True
                return  # the socket closes with fewer bytes than Content-Length promised
            self.wfile.write(body)

    return Handler


def start_server() -> tuple[FileServer, ThreadingHTTPServer]:
    state = FileServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server
