"""A loopback stand-in for an OCI registry, for what Debian's docker-registry (Distribution 2.8)
cannot show: the OCI 1.1 referrers API, the bearer-token flow, and hostile answers. Used by
crates/model-signing-cli/tests/oci.rs.

    fake_registry.py [--referrers] [--bearer USER:PASSWORD] [--foreign-uploads]

--referrers           serve GET /v2/<repo>/referrers/<digest> (the OCI 1.1 API, computed from
                      the `subject` of pushed manifests, as distribution-spec 1.1 describes);
                      without it that route is a 404, as on Distribution 2.8
--bearer USER:PASS    every /v2/ request needs `Authorization: Bearer`, issued by GET /token
                      (HTTP Basic USER:PASS) for the scope asked; pushes need a push scope
--foreign-uploads     a second listener on 127.0.0.2 plays a storage host: blob upload
                      `Location`s point there (another origin), and it takes uploads without
                      credentials, as a pre-signed storage URL does

Every request is logged; GET /_log returns the log as JSON (`host`, `method`, `path`,
`authorization`: whether an Authorization header came with it) and /_log?clear empties it.

Repositories under `hostile/` answer badly on purpose: `hostile/big` a 5 MiB manifest,
`hostile/stream` an endless body without Content-Length, `hostile/junk` a non-JSON manifest,
`hostile/lie` a manifest whose bytes do not match the digest asked for, `hostile/redirect` a
redirect to another host, `hostile/slow` a manifest after 3 s, `hostile/ctype` an image manifest
served as an index. `hostile/sigs` and `hostile/dupsigs` serve an image (tag `v1`) whose fallback
signature tag lists 16 different bundles, or one bundle 16 times; every blob there is a 64 MiB
chunked stream. `hostile/layers` serves a manifest of 10,001 layers, `hostile/errorflood` a 500 whose
body never ends, `hostile/tokenflood` a bearer challenge whose token service answers with an
endless body. Prints `PORT=<n>` once listening; exits when stdin closes.
"""

import argparse
import base64
import hashlib
import json
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BLOBS = {}
MANIFESTS = {}  # (repo, reference) -> (bytes, media type)
UPLOADS = {}
TOKENS = {}  # token -> scope
ARGS = None
LOG = []
FOREIGN = {}  # the storage listener's address, when --foreign-uploads

# The image hostile/sigs and hostile/dupsigs serve, and its digest.
HOSTILE_IMAGE = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": "sha256:" + "0" * 64, "size": 2},
    "layers": [{"mediaType": "application/octet-stream", "digest": "sha256:" + "1" * 64,
                "size": 5, "annotations": {"org.opencontainers.image.title": "w.bin"}}],
}).encode()


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", ctype="application/json", headers=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def foreign(self):
        """Whether this request came to the storage listener (127.0.0.2)."""
        return self.server.server_address[0] == "127.0.0.2"

    def log_request_seen(self):
        LOG.append({"host": self.server.server_address[0], "method": self.command,
                    "path": self.path,
                    "authorization": self.headers.get("Authorization") is not None})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def authorized(self, push):
        if not ARGS.bearer or self.foreign():
            return True
        auth = self.headers.get("Authorization", "")
        scope = TOKENS.get(auth[len("Bearer "):]) if auth.startswith("Bearer ") else None
        if scope is not None and (not push or "push" in scope):
            return True
        host = self.headers.get("Host")
        m = re.match(r"/v2/(.+?)/(manifests|blobs|referrers)/", self.path)
        repo = m.group(1) if m else "x"
        want = "pull,push" if push else "pull"
        self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', headers={
            "WWW-Authenticate": f'Bearer realm="http://{host}/token",service="fake",'
                                f'scope="repository:{repo}:{want}"'})
        return False

    def token(self):
        user, pw = ARGS.bearer.split(":", 1)
        want = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
        if self.headers.get("Authorization") != want:
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
        scope = re.search(r"scope=([^&]+)", self.path)
        t = uuid.uuid4().hex
        TOKENS[t] = scope.group(1) if scope else ""
        self.send(200, json.dumps({"token": t}).encode())

    def hostile(self, repo):
        if repo == "hostile/big":
            return self.send(200, b" " * (5 << 20), "application/vnd.oci.image.manifest.v1+json")
        if repo == "hostile/stream":
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b" " * 65536
            try:
                for _ in range(200):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                pass
            return None
        if repo == "hostile/junk":
            return self.send(200, b"<html>not a manifest</html>", "text/html")
        if repo == "hostile/lie":
            return self.send(200, b'{"schemaVersion":2}', "application/vnd.oci.image.manifest.v1+json")
        if repo == "hostile/redirect":
            return self.send(307, b"", headers={"Location": "http://192.0.2.1/elsewhere"})
        if repo == "hostile/slow":
            time.sleep(3)
            return self.send(200, HOSTILE_IMAGE, "application/vnd.oci.image.manifest.v1+json")
        if repo == "hostile/ctype":
            return self.send(200, HOSTILE_IMAGE, "application/vnd.oci.image.index.v1+json")
        if repo in ("hostile/sigs", "hostile/dupsigs"):
            return self.hostile_sigs(repo)
        if repo == "hostile/layers":
            layer = {"mediaType": "application/octet-stream", "digest": "sha256:" + "1" * 64,
                     "size": 1}
            doc = json.loads(HOSTILE_IMAGE)
            doc["layers"] = [layer] * 10001
            return self.send(200, json.dumps(doc).encode(),
                             "application/vnd.oci.image.manifest.v1+json")
        if repo == "hostile/errorflood":
            return self.endless(500)
        if repo == "hostile/tokenflood":
            host = self.headers.get("Host")
            return self.send(401, b"{}", headers={
                "WWW-Authenticate": f'Bearer realm="http://{host}/tokenflood",service="fake"'})
        return self.send(404, b"{}")

    def endless(self, code):
        """A response of `code` whose body streams until the client hangs up."""
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"x" * 65536
        try:
            for _ in range(16384):  # 1 GiB at most
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass

    def hostile_sigs(self, repo):
        """Signatures that must be fetched one at a time, capped, a repeated one once."""
        m = re.match(r"/v2/.+?/(manifests|blobs)/([^?]+)", self.path)
        if not m:  # no referrers API here: the fallback tag is what is read
            return self.send(404, b"{}")
        kind, ref = m.group(1), m.group(2)
        if kind == "blobs":
            # Chunked, with no Content-Length to refuse up front: the cap has to stop the read.
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"{" * 65536
            try:
                for _ in range((64 << 20) // len(chunk)):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                pass
            return None
        if ref == "v1" or ref == sha(HOSTILE_IMAGE):
            return self.send(200, HOSTILE_IMAGE, "application/vnd.oci.image.manifest.v1+json")
        if ref.endswith(".sig"):
            digests = (["%064x" % (i + 1) for i in range(16)] if repo == "hostile/sigs"
                       else ["%064x" % 7] * 16)
            tag = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                   "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                              "digest": sha(b"{}"), "size": 2},
                   "layers": [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                               "digest": "sha256:" + d, "size": 64 << 20} for d in digests]}
            return self.send(200, json.dumps(tag).encode(),
                             "application/vnd.oci.image.manifest.v1+json")
        return self.send(404, b"{}")

    def do_GET(self):
        if self.path.startswith("/_log"):
            if "clear" in self.path:
                LOG.clear()
            return self.send(200, json.dumps(LOG).encode())
        self.log_request_seen()
        if self.path.startswith("/tokenflood"):
            return self.endless(200)
        if self.path.startswith("/token"):
            return self.token()
        if self.path == "/v2/":
            return self.send(200, b"{}") if self.authorized(False) else None
        m = re.match(r"/v2/(.+?)/(manifests|blobs|referrers)/([^?]+)(\?.*)?$", self.path)
        if not m:
            return self.send(404, b"{}")
        repo, kind, ref, query = m.group(1), m.group(2), m.group(3), m.group(4) or ""
        if repo.startswith("hostile/"):
            return self.hostile(repo)
        if not self.authorized(False):
            return None
        if kind == "manifests":
            hit = MANIFESTS.get((repo, ref))
            return self.send(200, hit[0], hit[1]) if hit else self.send(404, b"{}")
        if kind == "blobs":
            b = BLOBS.get(ref)
            return self.send(200, b, "application/octet-stream") if b is not None else self.send(404, b"{}")
        if not ARGS.referrers:
            return self.send(404, b"{}")
        want_type = re.search(r"artifactType=([^&]+)", query)
        entries = []
        for (r, key), (raw, mt) in list(MANIFESTS.items()):
            if r != repo or not key.startswith("sha256:"):
                continue
            doc = json.loads(raw)
            if (doc.get("subject") or {}).get("digest") != ref:
                continue
            if want_type and doc.get("artifactType") != want_type.group(1):
                continue
            entries.append({"mediaType": mt, "digest": key, "size": len(raw),
                            "artifactType": doc.get("artifactType"),
                            "annotations": doc.get("annotations", {})})
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": entries}
        return self.send(200, json.dumps(index).encode(), "application/vnd.oci.image.index.v1+json")

    def do_HEAD(self):
        return self.do_GET()

    def do_POST(self):
        self.log_request_seen()
        m = re.match(r"/v2/(.+?)/blobs/uploads/$", self.path)
        if not m:
            return self.send(404, b"{}")
        if not self.authorized(True):
            return None
        self.body()
        u = uuid.uuid4().hex
        UPLOADS[u] = m.group(1)
        loc = f"/v2/{m.group(1)}/blobs/uploads/{u}"
        if FOREIGN:
            loc = f"http://{FOREIGN['host']}:{FOREIGN['port']}{loc}"
        return self.send(202, b"", headers={"Location": loc})

    def do_PUT(self):
        self.log_request_seen()
        data = self.body()
        m = re.match(r"/v2/(.+?)/blobs/uploads/([0-9a-f]+)\?digest=([^&]+)$", self.path)
        if m:
            if not self.authorized(True):
                return None
            digest = m.group(3).replace("%3A", ":")
            if sha(data) != digest:
                return self.send(400, b'{"errors":[{"code":"DIGEST_INVALID"}]}')
            BLOBS[digest] = data
            return self.send(201, b"", headers={"Docker-Content-Digest": digest})
        m = re.match(r"/v2/(.+?)/manifests/(.+)$", self.path)
        if m:
            if not self.authorized(True):
                return None
            mt = self.headers.get("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            MANIFESTS[(m.group(1), m.group(2))] = (data, mt)
            MANIFESTS[(m.group(1), sha(data))] = (data, mt)
            return self.send(201, b"", headers={"Docker-Content-Digest": sha(data)})
        return self.send(404, b"{}")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--referrers", action="store_true")
    ap.add_argument("--bearer")
    ap.add_argument("--foreign-uploads", action="store_true")
    ARGS = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if ARGS.foreign_uploads:
        storage = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        FOREIGN.update(host="127.0.0.2", port=storage.server_address[1])
        threading.Thread(target=storage.serve_forever, daemon=True).start()
    print(f"PORT={server.server_address[1]}", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()


if __name__ == "__main__":
    main()
