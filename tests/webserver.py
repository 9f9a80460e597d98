"""A real HTTP server the tests run as a separate process: it serves audio for audio_url jobs
and receives webhooks, recording every request so tests can inspect what Hark sent.

    python tests/webserver.py PORT AUDIO_DIR

It listens on 127.0.0.1 and on 127.0.0.2 (same port), so tests can allow one loopback
address in Hark's URL policy and check that a redirect to the other is still refused.

GET  /audio/<name>           the file from AUDIO_DIR (HEAD too)
GET  /redirect?to=<url>      302 to <url>
GET  /status/<code>          an empty response with that status
GET  /page                   an HTML page (not audio)
GET  /big                    8 MiB of zeros, streamed without a Content-Length
GET  /slow                   headers, then nothing for 5 s
GET  /trickle                headers, then one byte every 0.2 s for a minute
GET  /held/<key>/<name>      the file from AUDIO_DIR: headers and the first half at once
                             (the request is recorded as path /held/<key>), the rest only
                             once /release/<key> was requested (or after two minutes)
GET  /release/<key>          lets every download held under <key> finish, now and later
POST /hook/<name>?script=503,400,...
                             records the request; the n-th request to this path answers the
                             n-th status of the script (200 once the script runs out);
                             with &hang=<s>, it answers only after <s> seconds
GET  /requests               every recorded webhook request, as JSON
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

AUDIO_DIR = Path(".")
RECORDED: list[dict] = []
COUNTS: dict[str, int] = {}
LOCK = threading.Lock()
RELEASED: dict[str, threading.Event] = {}


def released(key: str) -> threading.Event:
    with LOCK:
        return RELEASED.setdefault(key, threading.Event())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes = b"", content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path.startswith("/audio/"):
            path = AUDIO_DIR / url.path.removeprefix("/audio/")
            if not path.is_file():
                return self._send(404, b"no such file")
            return self._send(200, path.read_bytes(), "application/octet-stream")
        if url.path.startswith("/held/"):
            _, _, key, name = url.path.split("/", 3)
            path = AUDIO_DIR / name
            if not path.is_file():
                return self._send(404, b"no such file")
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            with LOCK:
                RECORDED.append({"path": f"/held/{key}", "time": time.time()})
            released(key).wait(120)
            self.wfile.write(data[len(data) // 2 :])
            return None
        if url.path.startswith("/release/"):
            released(url.path.removeprefix("/release/")).set()
            return self._send(200, b"released")
        if url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if url.path.startswith("/status/"):
            return self._send(int(url.path.rsplit("/", 1)[1]))
        if url.path == "/page":
            return self._send(200, b"<html><body>Sign in</body></html>", "text/html")
        if url.path == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"\0" * 65536
            for _ in range(128):
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return None
        if url.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            time.sleep(5)
            return None
        if url.path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", "300")
            self.end_headers()
            for _ in range(300):
                self.wfile.write(b"\0")
                self.wfile.flush()
                time.sleep(0.2)
            return None
        if url.path == "/requests":
            with LOCK:
                return self._send(200, json.dumps(RECORDED).encode(), "application/json")
        return self._send(404)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not url.path.startswith("/hook/"):
            return self._send(404)
        script = [int(s) for s in parse_qs(url.query).get("script", [""])[0].split(",") if s]
        with LOCK:
            attempt = COUNTS.get(url.path, 0)
            COUNTS[url.path] = attempt + 1
            status = script[attempt] if attempt < len(script) else 200
            RECORDED.append(
                {
                    "path": url.path,
                    "query": url.query,
                    "headers": dict(self.headers.items()),
                    "body": body.decode("utf-8", "replace"),
                    "time": time.time(),
                    "answered": status,
                }
            )
        time.sleep(float(parse_qs(url.query).get("hang", ["0"])[0]))
        return self._send(status, b"ok")


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A client that hung up mid-answer (a Hark killed mid-delivery) is no error here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main() -> None:
    global AUDIO_DIR
    port, AUDIO_DIR = int(sys.argv[1]), Path(sys.argv[2])
    servers = [Server((host, port), Handler) for host in ("127.0.0.1", "127.0.0.2")]
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
