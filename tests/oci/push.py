"""Pushes a model ORAS-style (one layer per file, titled with its name, plus a config blob) with
the `oras` package from PyPI, or pulls one; used by crates/model-signing-cli/tests/oci.rs.

    push.py push HOST REPO:TAG CONFIG_FILE FILE... [--user U --password P]
    push.py pull HOST REPO:TAG OUTDIR [--user U --password P]
    push.py manifest HOST REPO:TAG OUTFILE [--user U --password P]   (the raw manifest, as skopeo
                                                                      inspect --raw saves it)
    push.py rawpush HOST REPO:TAG CONFIG_FILE FILE... --user U --password P
    push.py putblob HOST REPO FILE [--user U --password P]      (prints the blob's digest)
    push.py putmanifest HOST REPO:REF FILE [--media-type MT] [--user U --password P]
                                              (the file's bytes as they are, hostile ones too)

`rawpush` writes the same ORAS-style manifest through the distribution API directly with HTTP
Basic auth: oras-py 0.2.43 does not answer Distribution's Basic challenge (it waits for a token
service and times out), so the authenticated registry is filled this way.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

import oras.provider


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["push", "pull", "manifest", "rawpush", "putblob",
                                     "putmanifest"])
    ap.add_argument("host")
    ap.add_argument("target")
    ap.add_argument("rest", nargs="*")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--media-type", default="application/vnd.oci.image.manifest.v1+json")
    a = ap.parse_args()
    if a.mode in ("rawpush", "putblob", "putmanifest"):
        return rawpush(a)
    reg = oras.provider.Registry(hostname=a.host, insecure=True)
    if a.user:
        reg.auth.set_basic_auth(a.user, a.password)
    target = f"{a.host}/{a.target}"
    if a.mode == "push":
        config, *files = a.rest
        # oras titles each layer with the path as given: push from the files' directory.
        os.chdir(os.path.dirname(os.path.abspath(files[0])))
        reg.push(
            target=target,
            files=[os.path.basename(f) for f in files],
            manifest_config=f"{os.path.abspath(config)}:application/vnd.oci.image.config.v1+json",
            disable_path_validation=True,
            quiet=True,
        )
    elif a.mode == "pull":
        reg.pull(target=target, outdir=a.rest[0])
    else:
        container = reg.get_container(target)
        r = reg.do_request(
            f"{reg.prefix}://{container.manifest_url()}",
            "GET",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        )
        r.raise_for_status()
        with open(a.rest[0], "wb") as f:
            f.write(r.content)


def rawpush(a) -> None:
    repo, _, tag = a.target.partition(":")
    auth = "Basic " + base64.b64encode(f"{a.user}:{a.password}".encode()).decode()

    token = {}

    def req(method, url, body=None, ctype=None):
        r = urllib.request.Request(url, data=body, method=method)
        if a.user:
            r.add_header("Authorization", token.get("h", auth))
        if ctype:
            r.add_header("Content-Type", ctype)
        try:
            return urllib.request.urlopen(r)
        except urllib.error.HTTPError as e:
            challenge = e.headers.get("WWW-Authenticate", "")
            if e.code != 401 or not challenge.startswith("Bearer ") or "h" in token:
                print(f"{method} {url}: {e.code} {e.read()[:500]!r}", file=sys.stderr)
                raise
            # The bearer flow (tests/oci/fake_registry.py): a token for the scope asked.
            params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
            q = urllib.parse.urlencode({"service": params.get("service", ""),
                                        "scope": params.get("scope", "")})
            t = urllib.request.Request(f"{params['realm']}?{q}")
            t.add_header("Authorization", auth)
            token["h"] = "Bearer " + json.load(urllib.request.urlopen(t))["token"]
            return req(method, url, body, ctype)

    base = f"http://{a.host}/v2/{repo}"

    def blob(data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        loc = req("POST", f"{base}/blobs/uploads/").headers["Location"]
        if loc.startswith("/"):
            loc = f"http://{a.host}{loc}"
        sep = "&" if "?" in loc else "?"
        req("PUT", f"{loc}{sep}digest={digest}", data, "application/octet-stream")
        return digest

    if a.mode == "putblob":
        print(blob(open(a.rest[0], "rb").read()))
        return
    if a.mode == "putmanifest":
        req("PUT", f"{base}/manifests/{tag}", open(a.rest[0], "rb").read(), a.media_type)
        return
    config, *files = a.rest
    cdata = open(config, "rb").read()
    layers = []
    for f in files:
        data = open(f, "rb").read()
        layers.append({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": blob(data),
            "size": len(data),
            "annotations": {"org.opencontainers.image.title": os.path.basename(f)},
        })
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": blob(cdata), "size": len(cdata)},
        "layers": layers,
    }
    req("PUT", f"{base}/manifests/{tag}", json.dumps(manifest).encode(),
        "application/vnd.oci.image.manifest.v1+json")


if __name__ == "__main__":
    sys.exit(main())
