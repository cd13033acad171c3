#!/usr/bin/env python3
"""Compile MakeHuman's CC0 system hair, eyebrows and eyelashes into `resources/proxies/proxies.npz`.

Source: the git repository makehumancommunity/makehuman-assets at commit `SOURCE_COMMIT`, folders
`base/hair`, `base/eyebrows`, `base/eyelashes`. Each `.obj` (geometry, UVs) and `.mhclo` (fitting:
three base-mesh vertices, weights and an offset per proxy vertex, and the x/y/z scale references)
says "This asset was explicitly released as CC0 in september 2020"; the repository's `LICENSE.txt`
(CC0 1.0) is copied beside the asset. Their textures are Git LFS pointers and not used: strand
textures are ours (procedural, `f2p_engine/render/strands.py`). Only data is read; no MakeHuman code is used.

The files are read with `git show` from a local clone (bare or not) given as `--mirror`; every file's
sha256 is checked against the pinned `SOURCES` below, so the asset is the same wherever it is built.
Get a clone without the LFS textures with
  GIT_LFS_SKIP_SMUDGE=1 git clone --bare <makehumancommunity/makehuman-assets on GitHub> mh-assets.git
Usage: python scripts/build_proxy_asset.py --mirror mh-assets.git [--out resources/proxies]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from f2p_engine.files import atomic_output, sha256_file, write_npz  # noqa: E402
from f2p_engine.headmodel.proxies import PROXY_FILE, PROXY_FORMAT, PROXY_KINDS  # noqa: E402

SOURCE_COMMIT = "8cf9645b975a98eea056b140df11a1d278da0d10"
FOLDERS = {"hair": "base/hair", "eyebrows": "base/eyebrows", "eyelashes": "base/eyelashes"}
PROXIES = {
    "hair": ("afro01", "bob01", "bob02", "braid01", "long01", "ponytail01", "short01", "short02", "short03", "short04"),
    "eyebrows": tuple(f"eyebrow{i:03d}" for i in range(1, 13)),
    "eyelashes": tuple(f"eyelashes{i:02d}" for i in range(1, 5)),
}
#: sha256 of every source file at SOURCE_COMMIT.
SOURCES: dict[str, str] = {
    "LICENSE.txt": "a2010f343487d3f7618affe54f789f5487602331c0a8d03f49e9a7c547cf0499",
    "base/eyebrows/eyebrow001/eyebrow001.mhclo": "54c8892c2ba577f4152d779ce1f20f7cd323beb8cbd9cb701796165c221b4f5b",
    "base/eyebrows/eyebrow001/eyebrow001.obj": "88b13146395133f3901715e11706cdfd293e5d6087ad7c5e01efe1485a26b513",
    "base/eyebrows/eyebrow002/eyebrow002.mhclo": "550781113f5c3971e7e200450d7d94e2290d43e9449a42667d2bf972c1eb0593",
    "base/eyebrows/eyebrow002/eyebrow002.obj": "7fe4e036311c41802bd6889acb02d1b06184a0dd759ac72e1d9fba1037243667",
    "base/eyebrows/eyebrow003/eyebrow003.mhclo": "43028df55838152be8568eaa9a736746a2581ca327129a443d8d214554448632",
    "base/eyebrows/eyebrow003/eyebrow003.obj": "dda3828f484f877f011fb8c52b75be0d7870561111739ff4cc5c83fb5ac6acd7",
    "base/eyebrows/eyebrow004/eyebrow004.mhclo": "c0d0c3a0e457ecf6a6a969bb57d1ddd42909845ad612d7ca3b129d265dd6c157",
    "base/eyebrows/eyebrow004/eyebrow004.obj": "f46d623621f28bbad757465721bcc7bbe816f0958d7a4b0f925b0e27733944e1",
    "base/eyebrows/eyebrow005/eyebrow005.mhclo": "84e8aa146f1c7a2985d024bb741f43323c65c2970b4bb86491d8e6a7b0daaeef",
    "base/eyebrows/eyebrow005/eyebrow005.obj": "c89d4d0b6f89a6bdf5a33c5e3ed22414046d2465e37ba9ecd2d75613dcb74e63",
    "base/eyebrows/eyebrow006/eyebrow006.mhclo": "3f14073a558605d78deb25b195c6db8c4ef1310ec5f3f230094b01f8cabd01ad",
    "base/eyebrows/eyebrow006/eyebrow006.obj": "7e3963bde6bc23a629eb78a9f83d050e247a5b1d370885afa0a92dede192cdb1",
    "base/eyebrows/eyebrow007/eyebrow007.mhclo": "1c70518b0b4ed9cce46b5728e8b2ea1012466b54718f6ee82c03896546adb4ab",
    "base/eyebrows/eyebrow007/eyebrow007.obj": "63326994bc56e0b0a29822d813daf96d48ba638e19523d9e21e9184e2f70e71f",
    "base/eyebrows/eyebrow008/eyebrow008.mhclo": "2b9de3129344240abbbf19fbcb88c5f29f34ce1b9883229516c7e60f51bed226",
    "base/eyebrows/eyebrow008/eyebrow008.obj": "096453e23c6a626ec79045e3c157fc726b678d7d7d957ddc56673aa59c6d34ea",
    "base/eyebrows/eyebrow009/eyebrow009.mhclo": "14819547ba73a98baac1f6eb445e19c22010d2ea30b8a15ee0ca8767c0f3e509",
    "base/eyebrows/eyebrow009/eyebrow009.obj": "037a2edb3252e1fe4a57e63dcb1598916609fd0339f2b453b2f71e9c4cbd481c",
    "base/eyebrows/eyebrow010/eyebrow010.mhclo": "d7979f185244f6ef0653767ca345ba8c59dacd0f191962ed627e6dc6d0e18ac8",
    "base/eyebrows/eyebrow010/eyebrow010.obj": "db7a9747ffdc534b10de584f2d140f2006cc528ffffb6eff5071fef2ed94dce9",
    "base/eyebrows/eyebrow011/eyebrow011.mhclo": "7491fb45352a747bd702fe35f28246bc81bc3ef78e6224e9dcc839ef9d2c52c0",
    "base/eyebrows/eyebrow011/eyebrow011.obj": "cc1154d366466f402e30df8a0e54b679701b3b77850eab72a61727feba86394f",
    "base/eyebrows/eyebrow012/eyebrow012.mhclo": "780fa7314eb3775f09b0f804dbc9fa5be7ee5bc8960f5e27d0211b7827c3d8fa",
    "base/eyebrows/eyebrow012/eyebrow012.obj": "0a8d119c47f2d037e0ace7d2121f756084d9c614a5aec24459b4aa3385c0811a",
    "base/eyelashes/eyelashes01/eyelashes01.mhclo": "5a86b29c15649273d723084954b7fa7bf199112571d4f58539b46734d397ee6b",
    "base/eyelashes/eyelashes01/eyelashes01.obj": "f78f5b93fea1946fcae103d32c4f082dd9612a1ec2e7e2f90b03ebe59b0baf20",
    "base/eyelashes/eyelashes02/eyelashes02.mhclo": "51b858de6005bf9476035a739a695726b2227b853daf60cbf0f6b5eb9f70628e",
    "base/eyelashes/eyelashes02/eyelashes02.obj": "331595b4e19a179be1fe603edc58ba6d088ab7898007b7e8321428efcbaf2eba",
    "base/eyelashes/eyelashes03/eyelashes03.mhclo": "d98e0c9b8c7df400fe850952fd7c8471eceeb5814ded4fece8bcceac8e55b2ec",
    "base/eyelashes/eyelashes03/eyelashes03.obj": "d1073c69e962e3b2524158d4b5e7026c85e4d181206d4d331dfbe2d2d16ac160",
    "base/eyelashes/eyelashes04/eyelashes04.mhclo": "d63a2449072ce96a5d074ed8490970cd1476d4f4773b47c4523ae0c6a00a4aeb",
    "base/eyelashes/eyelashes04/eyelashes04.obj": "2a9737362e993cf027be88fffbbf531dab42699682c571cda3e7e6f914be17da",
    "base/hair/afro01/afro01.mhclo": "9977bd4507e2dd1408504b7a39a6f585ffa2d3ba3aa40ad4bdc2844884bbebb5",
    "base/hair/afro01/afro01.obj": "8344fffef15120a05a89219f31184ca2958537223fa885c885137ad1e97edcb8",
    "base/hair/bob01/bob01.mhclo": "a295b11ab6c7808afa1e01d0c79fb595bbbd7885f65252766486c9fcf6d158c5",
    "base/hair/bob01/bob01.obj": "d7fb73806f47ee37ba3c37bcfadff40a91ba99635d08c3e02d94b4acbf97c231",
    "base/hair/bob02/bob02.mhclo": "a48dcf87c6a618f9c6e90fcb00eed07cd59ab024d8d994606fa1b070da515b96",
    "base/hair/bob02/bob02.obj": "30d44038836d786364eb4134a9259cf93ca0c707f883861b0135ebfb149caa08",
    "base/hair/braid01/braid01.mhclo": "e350614dab32230c47d67e7747079b89859d36e62a890ca47890f068eca4f7a9",
    "base/hair/braid01/braid01.obj": "ad0b449c80244452bc8d437f5d59c25ec2ac17b2eb35e1ae2d9531fc00b73b0a",
    "base/hair/long01/long01.mhclo": "94ecbebfd834da2cbee2ce90b730972590eb22a252ecd9592038ea736e063646",
    "base/hair/long01/long01.obj": "7f1d6dadbdf9e96435251955d6657e77ea5433c9bc7c85a5c5f5e4eae0cb9a8c",
    "base/hair/ponytail01/ponytail01.mhclo": "97fc50b12bcb3b1c7b33edddd8d427a2604ffb06fe79b31132bf47f82d7afbac",
    "base/hair/ponytail01/ponytail01.obj": "d9f5fe96fbedbc8006220d87aad0e4a33d15286eb6b21f5929661cdc490ebf5a",
    "base/hair/short01/short01.mhclo": "ae1ffaa98da5753b803b3a173bede4895d2215e6bb94763f3765a71f0e984f35",
    "base/hair/short01/short01.obj": "d998d8416f9b5d5591f1d756f4d292288d000a6951bc0f4d2e8e72727bbc44fa",
    "base/hair/short02/short02.mhclo": "625736cdb73e6d094df6e5a2df18f371781f1d2cd37b0ae15795c5d7051c3ec2",
    "base/hair/short02/short02.obj": "48f979114adfa712165a69cc55c45a70831af1fb3cba8e2a89120f0c87407b64",
    "base/hair/short03/short03.mhclo": "d80bbb8fd9b06721c481756fb3e1d6dce04fcfc9ca8a379edd4ea3c0d81ed17f",
    "base/hair/short03/short03.obj": "4a9fc385718f2c46fb328ab99d33e3a946cecdb717987c8b324cf2466b59bd9c",
    "base/hair/short04/short04.mhclo": "d60640aa4c4ffce1aa269647ba436b6ee0bb21bb948f927b84e27a48d2107157",
    "base/hair/short04/short04.obj": "676964a133ee35ffcea1195382bf75542da7a298931e4001bc7b0d7b707225de",
}


def git_file(mirror: Path, path: str) -> bytes:
    """The bytes of `path` at SOURCE_COMMIT, checked against its pinned sha256."""
    try:
        data = subprocess.run(["git", "--git-dir", str(mirror), "show", f"{SOURCE_COMMIT}:{path}"],
                              check=True, capture_output=True).stdout
    except subprocess.CalledProcessError as exc:
        problem = exc.stderr.decode().strip()
        raise SystemExit(f"{mirror}: cannot read {path} at {SOURCE_COMMIT[:8]} ({problem})") from None
    digest = hashlib.sha256(data).hexdigest()
    expected = SOURCES[path]
    if digest != expected:
        raise SystemExit(f"{path}: sha256 {digest} does not match the pinned {expected}")
    return data


def parse_obj(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(positions (V, 3), uvs (T, 2), face vertex indices (F, 4), face uv indices (F, 4)), 0-based.
    The system proxies are all-quad meshes."""
    positions, uvs, faces, face_uvs = [], [], [], []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "v":
            positions.append([float(w) for w in words[1:4]])
        elif words[0] == "vt":
            uvs.append([float(w) for w in words[1:3]])
        elif words[0] == "f":
            corners = [w.split("/") for w in words[1:]]
            if len(corners) != 4:
                raise SystemExit(f"face with {len(corners)} corners; the system proxies are all quads")
            faces.append([int(c[0]) - 1 for c in corners])
            face_uvs.append([int(c[1]) - 1 for c in corners])
    return (np.asarray(positions, np.float32), np.asarray(uvs, np.float32), np.asarray(faces, np.int64),
            np.asarray(face_uvs, np.int64))


def parse_mhclo(text: str) -> dict:
    """Header fields and the per-vertex fitting rows of a .mhclo file, read as MakeHuman reads them:
    keyword lines count wherever they are (bob01 has `material` after `verts 0`), number lines after
    `verts` are fitting rows, and a row of one index is that base vertex itself (weight 1, no offset)."""
    header: dict = {"tags": []}
    scales = {}
    refs, weights, offsets = [], [], []
    in_verts = False
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        key = words[0]
        if in_verts and key.lstrip("-").isdigit():
            if len(words) == 1:
                refs.append([int(key), 0, 1])
                weights.append([1.0, 0.0, 0.0])
                offsets.append([0.0, 0.0, 0.0])
            else:
                refs.append([int(w) for w in words[:3]])
                weights.append([float(w) for w in words[3:6]])
                offsets.append([float(w) for w in words[6:9]] if len(words) >= 9 else [0.0] * 3)
            continue
        if key in ("verts", "weights", "delete_verts"):  # keyword lines inside a section do not end it
            in_verts = key == "verts"
        elif key in ("x_scale", "y_scale", "z_scale"):
            scales["xyz".index(key[0])] = (int(words[1]), int(words[2]), float(words[3]))
        elif key in ("uuid", "name", "obj_file", "z_depth"):
            header[key] = words[1]
        elif key == "tag":
            header["tags"].append(" ".join(words[1:]))
    if sorted(scales) != [0, 1, 2]:
        raise SystemExit("a .mhclo without all three x/y/z_scale lines")
    header["scales"] = [scales[i] for i in range(3)]
    header["refs"] = np.asarray(refs, np.int64)
    header["weights"] = np.asarray(weights, np.float32)
    header["offsets"] = np.asarray(offsets, np.float32)
    return header


def proxy_paths() -> list[tuple[str, str, str]]:
    """(kind, folder name, folder path) of every compiled proxy: MakeHuman 1.1's system set."""
    return [(kind, name, f"{FOLDERS[kind]}/{name}") for kind, names in PROXIES.items() for name in names]


def compile_proxy(mirror: Path, kind: str, folder_name: str, folder: str, sources: dict[str, str]) -> dict:
    clo_path = f"{folder}/{folder_name}.mhclo"
    clo_bytes = git_file(mirror, clo_path)
    clo = parse_mhclo(clo_bytes.decode("utf-8"))
    obj_path = f"{folder}/{clo.get('obj_file', folder_name + '.obj')}"
    obj_bytes = git_file(mirror, obj_path)
    sources[clo_path] = hashlib.sha256(clo_bytes).hexdigest()
    sources[obj_path] = hashlib.sha256(obj_bytes).hexdigest()
    positions, uvs, faces, face_uvs = parse_obj(obj_bytes.decode("utf-8"))
    if len(clo["refs"]) != len(positions):
        raise SystemExit(f"{clo_path}: {len(clo['refs'])} fitting rows for {len(positions)} vertices")
    # Render vertices: one per distinct (vertex, uv) pair (UV seams split vertices); quads split along 0-2,
    # every first half before every second half (`Proxy.quads` rebuilds the quads from that order).
    pairs, corner = np.unique(np.stack([faces.ravel(), face_uvs.ravel()], axis=1), axis=0, return_inverse=True)
    corner = corner.reshape(faces.shape)
    triangles = np.concatenate([corner[:, [0, 1, 2]], corner[:, [0, 2, 3]]])
    return {
        "kind": kind, "name": clo["name"], "uuid": clo["uuid"], "tags": clo["tags"],
        "z_depth": int(clo.get("z_depth", 0)),
        "refs": clo["refs"], "weights": clo["weights"], "offsets": clo["offsets"],
        "scale_refs": np.asarray([s[:2] for s in clo["scales"]], np.int64),
        "scale_lengths": np.asarray([s[2] for s in clo["scales"]], np.float32),
        "rest": positions, "render_vertex": pairs[:, 0], "uvs": uvs[pairs[:, 1]], "triangles": triangles,
    }


def build(mirror: Path, out_dir: Path) -> dict:
    sources: dict[str, str] = {}
    proxies = [compile_proxy(mirror, *p, sources) for p in proxy_paths()]
    arrays: dict[str, np.ndarray] = {"format": np.asarray(PROXY_FORMAT),
                                     "names": np.asarray([p["name"] for p in proxies]),
                                     "kinds": np.asarray([p["kind"] for p in proxies]),
                                     "uuids": np.asarray([p["uuid"] for p in proxies]),
                                     "z_depths": np.asarray([p["z_depth"] for p in proxies], np.int32)}
    if set(arrays["kinds"].tolist()) != set(PROXY_KINDS):
        raise SystemExit(f"expected proxies of every kind {PROXY_KINDS}")
    for i, p in enumerate(proxies):
        for key in ("refs", "weights", "offsets", "scale_refs", "scale_lengths", "rest", "render_vertex", "uvs",
                    "triangles"):
            value = p[key]
            if key in ("refs", "scale_refs"):
                value = value.astype(np.uint16)  # hm08 has 19158 vertices
            elif key in ("render_vertex", "triangles"):
                value = value.astype(np.uint16 if value.max() < 2**16 else np.uint32)
            arrays[f"{i}_{key}"] = value
    out_dir.mkdir(parents=True, exist_ok=True)
    asset = out_dir / PROXY_FILE
    write_npz(asset, arrays)
    with atomic_output(out_dir / "LICENSE-CC0.txt") as tmp:
        tmp.write_bytes(git_file(mirror, "LICENSE.txt"))
    manifest = {
        "file": PROXY_FILE, "sha256": sha256_file(asset), "bytes": asset.stat().st_size, "format": PROXY_FORMAT,
        "made_by": "python scripts/build_proxy_asset.py --mirror <clone of makehumancommunity/makehuman-assets>",
        "source": {"repository": "makehumancommunity/makehuman-assets", "commit": SOURCE_COMMIT,
                   "files": dict(sorted(sources.items()))},
        "proxies": [{"kind": p["kind"], "name": p["name"], "uuid": p["uuid"], "tags": p["tags"],
                     "vertices": len(p["refs"]), "triangles": len(p["triangles"])} for p in proxies],
        "licence": "CC0 1.0 (LICENSE-CC0.txt): each source file says it was explicitly released as CC0 in "
                   "September 2020; textures are not included, no code is included",
    }
    with atomic_output(out_dir / "manifest.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, required=True, help="git directory of a makehuman-assets clone")
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "proxies")
    args = parser.parse_args()
    manifest = build(args.mirror, args.out)
    print(json.dumps({k: manifest[k] for k in ("file", "sha256", "bytes")}))


if __name__ == "__main__":
    main()
