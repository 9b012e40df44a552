#!/usr/bin/env python3
"""Build an OCI image layout from a root filesystem, split into layers.

    oci_layout.py ROOTFS OUT_DIR CMD LAYER_SPEC...

Each LAYER_SPEC is `PATH[,PATH...]` (paths relative to ROOTFS, e.g. `usr/lib`)
or `rest`: everything not named by another spec. Layers are written bottom
first in the order given; the `rest` layer also holds the parent directories
of the others, so every layer unpacks onto the ones below it.

GNU tar writes each layer (numeric owners, sorted names, fixed mtime on
nothing: the files keep theirs) and `gzip -n` compresses it, so the bytes are
what any tool would produce. The layout is tagged `latest`.
"""
import hashlib
import json
import os
import subprocess
import sys


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def put_blob(blobs, path):
    digest = sha256_file(path)
    os.replace(path, os.path.join(blobs, digest))
    return digest, os.path.getsize(os.path.join(blobs, digest))


def put_json(blobs, value):
    data = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return digest, len(data)


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    rootfs, out, cmd, specs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    named = [p.strip("/") for s in specs if s != "rest" for p in s.split(",")]
    layers, diff_ids = [], []
    for i, spec in enumerate(specs):
        tar = os.path.join(out, f"layer{i}.tar")
        base = ["tar", "--numeric-owner", "--sort=name", "--xattrs", "-C", rootfs, "-cf", tar]
        if spec == "rest":
            excludes = [f"--exclude=./{p}" for p in named]
            subprocess.run(base[:-2] + ["--anchored"] + excludes + ["-cf", tar, "."], check=True)
        else:
            paths = [f"./{p.strip('/')}" for p in spec.split(",")]
            subprocess.run(base + paths, check=True)
        diff_ids.append("sha256:" + sha256_file(tar))
        subprocess.run(["gzip", "-n", "-6", tar], check=True)
        digest, size = put_blob(blobs, tar + ".gz")
        layers.append(
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": "sha256:" + digest,
                "size": size,
            }
        )
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": cmd.split(),
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"scripts/bench: layer {s}"} for s in specs],
    }
    cdigest, csize = put_json(blobs, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": "sha256:" + cdigest,
            "size": csize,
        },
        "layers": layers,
    }
    mdigest, msize = put_json(blobs, manifest)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": "sha256:" + mdigest,
                "size": msize,
                "annotations": {"org.opencontainers.image.ref.name": "latest"},
            }
        ],
    }
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    total = sum(l["size"] for l in layers)
    print(f"{len(layers)} layers, {total / 1e6:.1f} MB compressed", file=sys.stderr)


if __name__ == "__main__":
    main()
