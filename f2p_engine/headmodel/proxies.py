"""MakeHuman's CC0 system proxies (hair, eyebrows, eyelashes) and their fitting to a modified head.

A proxy vertex follows the base mesh as MakeHuman fits it: the weighted sum of three hm08 vertices
plus its offset scaled, per axis, by a reference length measured on the current mesh:
`p = sum_k w_k V[r_k] + o * s`, with `s[a] = |V[i_a][a] - V[j_a][a]| / L_a` for axis a (x, y, z) and the
proxy's reference vertices i_a, j_a and rest length L_a (its `x_scale`, `y_scale`, `z_scale` lines).
So hair follows every modifier and expression. Coordinates: decimetres, Y up, as the head model's.
Built by `scripts/build_proxy_asset.py` into `resources/proxies/`, checked against its manifest on load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np

from f2p_engine.files import resources_dir
from f2p_engine.headmodel.asset import verified_npz

PROXY_FILE = "proxies.npz"
PROXY_FORMAT = "f2p-proxies-1"
#: Kinds of proxy: MakeHuman's (PROXY_KINDS, in the asset) and the renderer's procedural glasses.
ProxyKind = Literal["hair", "eyebrows", "eyelashes", "glasses"]
PROXY_KINDS: tuple[ProxyKind, ...] = ("hair", "eyebrows", "eyelashes")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Proxy:
    """One proxy mesh and its fitting data.

    Fitting, per proxy vertex (V of them): `refs` (V, 3) hm08 vertex indices, `weights` (V, 3) float32,
    `offsets` (V, 3) float32 dm at the rest scale; `scale_refs` (3, 2) hm08 vertices whose distance along
    x, y, z sets that axis' scale, `scale_lengths` (3,) their rest distances (dm).
    Rendering: `render_vertex` (R,) proxy vertex of each render vertex (one per distinct vertex/UV pair),
    `uvs` (R, 2) float32, `triangles` (T, 3) indices into render vertices, counter-clockwise as in the .obj.
    `rest` (V, 3) float32: the .obj's own positions (the proxy fitted to the unmodified base mesh).
    `name` is the name MakeHuman writes in a .mhm (e.g. `Braid01`, `Eyelashes01`).
    """

    kind: ProxyKind
    name: str
    uuid: str
    z_depth: int
    refs: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    offsets: np.ndarray = field(repr=False)
    scale_refs: np.ndarray = field(repr=False)
    scale_lengths: np.ndarray = field(repr=False)
    rest: np.ndarray = field(repr=False)
    render_vertex: np.ndarray = field(repr=False)
    uvs: np.ndarray = field(repr=False)
    triangles: np.ndarray = field(repr=False)

    @property
    def key(self) -> str:
        """The option name of this proxy in the schema: its name in lower case (`braid01`, `eyelashes01`)."""
        return self.name.lower()

    def quads(self) -> np.ndarray | None:
        """(T / 2, 4) quads of render vertices, the .obj's own faces, or None for a proxy made of triangles.

        MakeHuman's system proxies are all quads; the builder splits each along its 0-2 diagonal into
        `triangles`, every quad's first half (0, 1, 2) before every second half (0, 2, 3). Procedural
        proxies (glasses) are triangles."""
        if self.kind not in PROXY_KINDS:
            return None
        first, second = np.split(self.triangles, 2)
        if not (np.array_equal(first[:, 0], second[:, 0]) and np.array_equal(first[:, 2], second[:, 1])):
            raise ValueError(f"{self.kind} {self.name}: triangles are not the asset's split quads")
        return np.concatenate([first, second[:, 2:]], axis=1)

    def reference_vertices(self) -> np.ndarray:
        """Sorted hm08 indices the fitting reads."""
        return np.unique(np.concatenate([self.refs.ravel(), self.scale_refs.ravel()]))

    def fit(self, vertices: np.ndarray, index_of: np.ndarray | None = None) -> np.ndarray:
        """(V, 3) proxy vertices on a head of `vertices` (dm). `vertices` are all 19158 hm08 rows, or
        any subset with `index_of` (19158,) mapping each hm08 index to its row (-1 where absent)."""
        refs = self.refs if index_of is None else index_of[self.refs]
        ends = self.scale_refs if index_of is None else index_of[self.scale_refs]
        axes = np.arange(3)
        scale = np.abs(vertices[ends[:, 0], axes] - vertices[ends[:, 1], axes]) / self.scale_lengths
        gathered = vertices[refs]  # (V, 3 refs, 3 coordinates)
        return (np.einsum("vk,vkd->vd", self.weights, gathered) + self.offsets * scale).astype(np.float32)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ProxySet:
    """Every shipped proxy, by kind and option name."""

    proxies: tuple[Proxy, ...]

    def of_kind(self, kind: ProxyKind) -> tuple[Proxy, ...]:
        return tuple(p for p in self.proxies if p.kind == kind)

    def get(self, kind: ProxyKind, key: str) -> Proxy:
        for proxy in self.proxies:
            if proxy.kind == kind and proxy.key == key.lower():
                return proxy
        raise KeyError(f"{kind} {key}")

    def reference_vertices(self) -> np.ndarray:
        """Sorted hm08 indices any proxy's fitting reads."""
        return np.unique(np.concatenate([p.reference_vertices() for p in self.proxies]))


def load_proxies(path: Path | None = None) -> ProxySet:
    """Load and verify the proxy asset (default: the shipped one)."""
    path = path or resources_dir() / "proxies" / PROXY_FILE
    with verified_npz(path, "proxy asset", "scripts/build_proxy_asset.py", PROXY_FORMAT) as data:
        proxies = []
        for i, (kind, name, uid, depth) in enumerate(zip(data["kinds"], data["names"], data["uuids"], data["z_depths"],
                                                         strict=True)):
            arrays = {key: data[f"{i}_{key}"] for key in ("refs", "weights", "offsets", "scale_refs", "scale_lengths",
                                                           "rest", "render_vertex", "uvs", "triangles")}
            for key in ("refs", "scale_refs", "render_vertex", "triangles"):
                arrays[key] = arrays[key].astype(np.intp)
            proxies.append(Proxy(kind=str(kind), name=str(name), uuid=str(uid), z_depth=int(depth), **arrays))
    return ProxySet(proxies=tuple(proxies))


@cache
def default_proxies() -> ProxySet:
    """The shipped proxies, loaded once per process."""
    return load_proxies()


__all__ = ["PROXY_FILE", "PROXY_FORMAT", "PROXY_KINDS", "Proxy", "ProxyKind", "ProxySet", "default_proxies",
           "load_proxies"]
