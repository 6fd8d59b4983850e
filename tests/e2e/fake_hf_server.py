#!/usr/bin/env python3
"""A fake Hugging Face hub for tests: python3 standard library only, 127.0.0.1 only.

Serves model repos from local folders with the URL layout and headers of huggingface.co:

  HEAD|GET /ORG/NAME/resolve/REVISION/PATH   REVISION is "main" or the repo's commit hash
  HEAD|GET /cdn/SHA256                        where --redirect sends "LFS" files (like the CDN)
  GET      /api/models/ORG/NAME/revision/REV  {"id", "sha", "siblings": [{"rfilename"}]}

Headers as the real hub sends them: X-Repo-Commit; ETag (the git blob sha1 for small files,
weak W/"..." for .json; the sha256 for LFS files: *.safetensors, *.model, *.gguf, *.bin);
Content-Length; Accept-Ranges and Range requests (206 + Content-Range, 416 past the end). With
--redirect, LFS files answer 302 with X-Linked-Etag (sha256), X-Linked-Size and an ETag of
their own (the pointer's, which clients must not use), Location: http://CDN_HOST:PORT/cdn/...
Errors carry X-Error-Code / X-Error-Message: 404 RepoNotFound, RevisionNotFound,
EntryNotFound; gated repos (--gated) answer 401 GatedRepo without a token and 403 with a token
other than --token.

Fault injection for tests:
  --drop NAME:BYTES:COUNT  for the first COUNT body responses of file NAME ("inf": all), send
                           the full headers, then BYTES bytes of the body, then cut the
                           connection (a download interrupted halfway)
  --stall NAME:BYTES:COUNT the same, but instead of cutting the connection, go silent for a
                           minute (a stalled transfer; the client must time out)
  --error NAME:CODE:COUNT  answer the first COUNT GETs of NAME's content with HTTP CODE
  --ignore-range           answer Range requests with 200 and the whole file
  --lie-size NAME:DELTA    announce NAME's size off by DELTA bytes (HEAD and redirects only;
                           the body itself is served with its true length)
  --cdn-host HOST          host name in redirect Locations (default 127.0.0.1; "localhost"
                           makes the CDN another origin, to which no token may be sent)

The chosen port is printed on stdout (first line) and written to --port-file; every request is
appended to --log as "METHOD PATH range=R auth=A". The server exits by itself when its parent
process dies (a test killed without running its cleanup) or after --lifetime seconds.
"""
import argparse
import hashlib
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LFS_SUFFIXES = (".safetensors", ".model", ".gguf", ".bin")


class Repo:
    def __init__(self, repo_id, folder):
        self.id = repo_id
        self.files = {}  # relative path -> (absolute path, size, sha256, git sha1)
        for root, _, names in os.walk(folder):
            for name in sorted(names):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, folder).replace(os.sep, "/")
                with open(path, "rb") as f:
                    data = f.read()
                git = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
                self.files[rel] = (path, len(data), hashlib.sha256(data).hexdigest(), git)
        h = hashlib.sha1(repo_id.encode())
        for rel in sorted(self.files):
            h.update(rel.encode() + b"\0" + self.files[rel][2].encode())
        self.commit = h.hexdigest()


class State:
    def __init__(self, args):
        self.repos = {}
        for spec in args.repo:
            repo_id, _, folder = spec.partition("=")
            self.repos[repo_id] = Repo(repo_id, folder)
        self.gated = set(args.gated)
        self.token = args.token
        self.redirect = args.redirect
        self.ignore_range = args.ignore_range
        self.lie_size = {}
        for spec in args.lie_size:
            name, _, delta = spec.partition(":")
            self.lie_size[name] = int(delta or 7)
        self.cdn_host = args.cdn_host
        self.drops = {}  # name -> [bytes, count left, stall?]
        for stall, specs in ((False, args.drop), (True, args.stall)):
            for d in specs:
                name, nbytes, count = d.split(":")
                self.drops[name] = [int(nbytes), float("inf") if count == "inf" else int(count),
                                    stall]
        self.errors = {}  # name -> [code, count left]
        for spec in args.error:
            name, code, count = spec.split(":")
            self.errors[name] = [int(code), float("inf") if count == "inf" else int(count)]
        self.log_path = args.log
        self.lock = threading.Lock()
        self.port = 0

    def log(self, line):
        if self.log_path:
            with self.lock, open(self.log_path, "a") as f:
                f.write(line + "\n")

    def take_drop(self, name):
        """(bytes to send before cutting or stalling the connection, stall?), or None."""
        with self.lock:
            d = self.drops.get(os.path.basename(name))
            if not d or d[1] <= 0:
                return None
            d[1] -= 1
            return d[0], d[2]

    def take_error(self, name):
        """An HTTP status to answer instead of the content, or None."""
        with self.lock:
            e = self.errors.get(os.path.basename(name))
            if not e or e[1] <= 0:
                return None
            e[1] -= 1
            return e[0]

    def blob(self, sha256):
        for repo in self.repos.values():
            for rel, info in repo.files.items():
                if info[2] == sha256:
                    return rel, info
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeHub/1.0"

    def log_message(self, fmt, *args):  # quiet: the --log file is the record
        pass

    def do_HEAD(self):
        self.handle_any(head=True)

    def do_GET(self):
        self.handle_any(head=False)

    # ---- responses -----------------------------------------------------------------------
    def reply(self, code, headers=(), body=b"", head=False):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def error(self, code, err_code, message, head):
        body = json.dumps({"error": message}).encode()
        self.reply(code, [("Content-Type", "application/json"), ("X-Error-Code", err_code),
                          ("X-Error-Message", message)], body, head)

    def send_file(self, name, info, extra, head, announce_size=None):
        path, size, _, _ = info
        code = None if head else self.server.state.take_error(name)
        if code:
            return self.error(code, "Injected", "injected error %d" % code, head)
        headers = list(extra) + [("Accept-Ranges", "bytes"),
                                 ("Content-Type", "application/octet-stream")]
        rng = self.headers.get("Range")
        start, end = 0, size - 1
        code = 200
        if rng and not self.server.state.ignore_range and rng.startswith("bytes="):
            first, _, last = rng[6:].partition("-")
            start = int(first) if first else 0
            end = int(last) if last else size - 1
            if start >= size:
                self.reply(416, [("Content-Range", "bytes */%d" % size)], b"", head)
                return
            end = min(end, size - 1)
            code = 206
            headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end, size)))
        length = end - start + 1
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(announce_size if head and announce_size
                                               is not None else length))
        self.end_headers()
        if head:
            return
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(length)
        drop = self.server.state.take_drop(name)
        if drop is not None and drop[0] < len(data):
            self.wfile.write(data[:drop[0]])
            self.wfile.flush()
            if drop[1]:
                time.sleep(60)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(data)

    # ---- routing -------------------------------------------------------------------------
    def handle_any(self, head):
        st = self.server.state
        raw_path = self.path.split("?", 1)[0]
        auth = self.headers.get("Authorization", "-")
        st.log("%s %s range=%s auth=%s" % ("HEAD" if head else "GET", raw_path,
                                           self.headers.get("Range", "-"), auth))
        parts = [urllib.parse.unquote(p) for p in raw_path.split("/")[1:]]
        if len(parts) == 2 and parts[0] == "cdn":
            found = st.blob(parts[1])
            if not found:
                return self.error(404, "EntryNotFound", "no such blob", head)
            name, info = found
            return self.send_file(name, info, [("ETag", '"%s"' % info[2])], head)
        if len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] == "revision":
            return self.api_listing("/".join(parts[2:4]), "/".join(parts[5:]), head)
        if len(parts) >= 5 and parts[2] == "resolve":
            return self.resolve("/".join(parts[:2]), parts[3], "/".join(parts[4:]), head)
        self.error(404, "EntryNotFound", "unknown URL %s" % raw_path, head)

    def check_repo(self, repo_id, revision, head):
        st = self.server.state
        repo = st.repos.get(repo_id)
        if repo is None:
            self.error(404, "RepoNotFound",
                       "Repository Not Found for url: %s." % self.path, head)
            return None
        if repo_id in st.gated:
            auth = self.headers.get("Authorization")
            if not auth:
                self.error(401, "GatedRepo", "Access to model %s is restricted. You must have "
                           "access to it and be authenticated to access it. Please log in."
                           % repo_id, head)
                return None
            if auth != "Bearer %s" % st.token:
                self.error(403, "GatedRepo", "Access to model %s is restricted and you are "
                           "not in the authorized list." % repo_id, head)
                return None
        if revision not in ("main", repo.commit):
            self.error(404, "RevisionNotFound", "Invalid rev id: %s" % revision, head)
            return None
        return repo

    def resolve(self, repo_id, revision, name, head):
        st = self.server.state
        repo = self.check_repo(repo_id, revision, head)
        if repo is None:
            return
        info = repo.files.get(name)
        if info is None:
            return self.error(404, "EntryNotFound", "%s does not exist in %s" % (name, repo_id),
                              head)
        _, size, sha256, git = info
        lfs = name.endswith(LFS_SUFFIXES)
        announced = size + st.lie_size.get(os.path.basename(name), 0)
        if lfs and st.redirect:
            location = "http://%s:%d/cdn/%s?signature=fake" % (st.cdn_host, st.port, sha256)
            return self.reply(302, [("Location", location), ("X-Repo-Commit", repo.commit),
                                    ("X-Linked-Etag", '"%s"' % sha256),
                                    ("X-Linked-Size", str(announced)),
                                    ("ETag", '"%s"' % git)], b"", head)
        etag = sha256 if lfs else git
        etag = ('W/"%s"' if name.endswith(".json") else '"%s"') % etag
        self.send_file(name, info, [("X-Repo-Commit", repo.commit), ("ETag", etag)], head,
                       announce_size=announced)

    def api_listing(self, repo_id, revision, head):
        repo = self.check_repo(repo_id, revision, head)
        if repo is None:
            return
        body = json.dumps({"id": repo_id, "sha": repo.commit,
                           "siblings": [{"rfilename": n} for n in sorted(repo.files)]}).encode()
        self.reply(200, [("Content-Type", "application/json")], body, head)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", action="append", default=[], metavar="ORG/NAME=DIR")
    ap.add_argument("--gated", action="append", default=[], metavar="ORG/NAME")
    ap.add_argument("--token", default="hf_test_token")
    ap.add_argument("--redirect", action="store_true")
    ap.add_argument("--ignore-range", action="store_true")
    ap.add_argument("--error", action="append", default=[], metavar="NAME:CODE:COUNT")
    ap.add_argument("--lie-size", action="append", default=[], metavar="NAME:DELTA")
    ap.add_argument("--cdn-host", default="127.0.0.1")
    ap.add_argument("--drop", action="append", default=[], metavar="NAME:BYTES:COUNT")
    ap.add_argument("--stall", action="append", default=[], metavar="NAME:BYTES:COUNT")
    ap.add_argument("--log")
    ap.add_argument("--port-file")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=600.0, help="seconds; 0: no limit")
    args = ap.parse_args()

    parent = os.getppid()
    deadline = time.monotonic() + args.lifetime if args.lifetime > 0 else None

    def watchdog():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent or (deadline and time.monotonic() > deadline):
                os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.state = State(args)
    server.state.port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % server.state.port)
        os.replace(tmp, args.port_file)
    print(server.state.port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
