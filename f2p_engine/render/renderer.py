"""Offscreen renderer: hm08 vertices + scene -> RGB image, region label image, 68 landmarks.

moderngl on EGL (Mesa llvmpipe on CPUs). One pass writes the shaded colour and, in the alpha
channel, the region label of every pixel (ids of `regions.LABELS`, 0 = background): the triangles
are drawn region by region with the label as a uniform, so vertices stay shared and the mesh
upload per frame is positions and normals only.
Images are (S, S, 3) uint8 sRGB, top row first; landmark pixel coordinates put the centre of
pixel (row i, column j) at (x=j, y=i), as OpenCV and dlib do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from f2p_engine.headmodel.asset import L_EYE, R_EYE, HeadAsset, default_asset
from f2p_engine.headmodel.mesh import head_mesh
from f2p_engine.headmodel.proxies import Proxy, ProxySet, default_proxies
from f2p_engine.headmodel.schema import BEARDS, NO_HAIR
from f2p_engine.render.glasses import GLASSES_SHAPES, glasses_proxies
from f2p_engine.render.landmarks import MESH_468, MESH_LANDMARKS
from f2p_engine.render.palette import (
    BROW_HALF_HEIGHT,
    BROW_X,
    BROW_Y,
    BROW_Z,
    GOATEE,
    IRIS_ALBEDO,
    IRIS_SINE,
    LASH_ALBEDO,
    LIP_TINT,
    MAKEUP,
    MOUSTACHE,
    PUPIL_ALBEDO,
    PUPIL_SINE,
    SCLERA_ALBEDO,
    SKIN_ALBEDO,
    brow_coordinates,
)
from f2p_engine.render.regions import region_map
from f2p_engine.render.scene import EYE_MIDPOINT, MAX_LIGHTS, Appearance, Camera, Light, Lighting, Pose
from f2p_engine.render.strands import (
    PROXY_STYLES,
    STRAND_EDGE,
    STRAND_SHADE,
    STRAND_TEXTURE_SIZE,
    strand_coordinates,
    strand_texture,
)

_NOISE_SIZE = 32
#: Nostrils and mouth on the neutral (rest) hm08 head (dm): x, y and z ranges of triangle centres. Only
#: there can the inside of the head (back faces, drawn dark) show; elsewhere back faces are culled:
#: llvmpipe rasterises and depth-tests hidden triangles at nearly full cost.
_OPENINGS = ((-0.45, 0.45), (6.3, 7.0), (1.0, 2.0))
_MAX_BROW_THICKNESS = 1.3
#: glPolygonOffset (factor, units) of hair, brows and lashes: they lie on the skin, so where the two
#: surfaces meet they must win the depth ties (else the hairline and brows break up into z-fighting patches).
PROXY_DEPTH_BIAS = (-1.0, -2.0)
#: How much of the skin each facial hair style (schema BEARDS order) covers with hair colour.
BEARD_STRENGTH = (0.0, 0.4, 0.9, 0.9, 0.9)

# Everything that changes per frame, in one std140 uniform block shared by the three programs: a frame
# costs one buffer write, not a dozen uniform calls. `_FRAME` mirrors the block's std140 layout.
_FRAME_BLOCK = """layout(std140) uniform Frame {
    mat4 model;
    mat4 clip_from_world;  // view-projection, then the 2D output frame
    vec4 light_direction[3];  // xyz: unit vectors towards the lights
    vec4 light_colour[3];  // xyz: linear RGB times intensity
    vec3 ambient;
    float specular;
    vec3 skin;
    float brow_thickness;
    vec3 lip;
    float beard;
    vec3 brow;
    vec3 iris;
    vec3 gaze;
    float beard_style;  // index of schema BEARDS: 0 none (a shadow on male skins), stubble, moustache, goatee, full
    vec4 eye_shadow;  // make-up: linear RGB, amount in [0, 1]
    vec4 blush;
    float eyeliner;  // amount in [0, 1]
};"""
_FRAME = np.dtype({
    "names": ["model", "clip_from_world", "light_direction", "light_colour", "ambient", "specular", "skin",
              "brow_thickness", "lip", "beard", "brow", "iris", "gaze", "beard_style", "eye_shadow", "blush",
              "eyeliner"],
    "formats": [("<f4", (4, 4)), ("<f4", (4, 4)), ("<f4", (MAX_LIGHTS, 4)), ("<f4", (MAX_LIGHTS, 4)), ("<f4", 3),
                "<f4", ("<f4", 3), "<f4", ("<f4", 3), "<f4", ("<f4", 3), ("<f4", 3), ("<f4", 3), "<f4", ("<f4", 4),
                ("<f4", 4), "<f4"],
    "offsets": [0, 64, 128, 176, 224, 236, 240, 252, 256, 268, 272, 288, 304, 316, 320, 336, 352],
    "itemsize": 368,
})

# Three programs share one vertex shader: per-pixel work is paid only where it shows (llvmpipe
# shades every branch of a fragment shader for every fragment, so skin must not carry eye code).
# Skin is shaded per vertex (the head has ~4900 vertices: a few pixels apart at 256 px); only the
# eyebrow hair and the eyeballs are shaded per pixel. Each draw call covers the triangles of one
# region, whose label id is a uniform: no per-pixel label look-up.
_VERTEX_SHADER = """
#version 330
%FRAME%
uniform vec3 eye_centre[2];  // rest (base mesh) eyeball centres: left (+x), right
in vec3 in_position;
in vec3 in_normal;
in vec3 in_rest;
in vec3 in_paint;
out vec3 v_rest;
out vec3 v_albedo;
out vec3 v_light;
out float v_highlight;
out vec3 v_colour;
out vec2 v_brow;
out vec3 v_eye;

float spec32(float x) { x *= x; x *= x; x *= x; x *= x; return x * x; }

void main() {
    v_rest = in_rest;
    // Skin: blotches and pores, lips, beard shadow.
    float grain = in_paint.z;
    v_albedo = mix(skin * (0.88 + 0.24 * grain), lip, in_paint.x);
    if (beard_style < 0.5) {
        v_albedo *= 1.0 - beard * in_paint.y * (0.6 + 0.8 * grain);
    } else {  // facial hair in the hair colour: the lower face, or only over the lip and on the chin
        float side = abs(in_rest.x);
        float moustache = step(%MOUSTACHE_Y0%, in_rest.y) * step(in_rest.y, %MOUSTACHE_Y1%)
                          * step(side, %MOUSTACHE_X%);
        float chin = step(in_rest.y, %GOATEE_Y%) * step(side, %GOATEE_X%);
        float shape = beard_style < 1.5 || beard_style > 3.5 ? 1.0
                      : (beard_style < 2.5 ? moustache : max(moustache, chin));
        float cover = clamp(beard * shape * in_paint.y * (0.7 + 0.6 * grain), 0.0, 1.0);
        v_albedo = mix(v_albedo, brow * (0.6 + 0.8 * grain), cover);
    }
    // Make-up, smooth patches about rest-pose centres: eye shadow on the upper lids, liner along the
    // lash line, blush on the cheeks (on the front of the face only).
    float front = step(%MAKEUP_Z%, in_rest.z);
    vec2 lid = vec2(abs(in_rest.x) - %LID_X%, in_rest.y - %LID_Y%);
    float shadow = exp(-lid.x * lid.x / %LID_W2% - lid.y * lid.y / %LID_H2%) * step(%LASH_Y%, in_rest.y);
    float liner = exp(-lid.x * lid.x / %LID_W2% - pow(in_rest.y - %LASH_Y%, 2.0) / %LINER_H2%);
    vec2 cheek = vec2(abs(in_rest.x) - %CHEEK_X%, in_rest.y - %CHEEK_Y%);
    float rouge = exp(-dot(cheek, cheek) / %CHEEK_R2%);
    v_albedo = mix(v_albedo, eye_shadow.rgb, front * eye_shadow.w * shadow);
    v_albedo = mix(v_albedo, vec3(0.015), front * eyeliner * liner);
    v_albedo = mix(v_albedo, blush.rgb, front * blush.w * rouge);
    vec3 n = normalize(mat3(model) * in_normal);
    v_light = ambient;
    v_highlight = 0.0;
    for (int i = 0; i < 3; ++i) {
        float lambert = dot(n, light_direction[i].xyz);
        v_light += light_colour[i].xyz * max(lambert, 0.0);
        vec3 h = normalize(light_direction[i].xyz + vec3(0.0, 0.0, 1.0));
        // Grey highlight: its brightness follows each light, its colour is left white.
        float strength = dot(light_colour[i].xyz, vec3(0.333));
        v_highlight += strength * specular * spec32(max(dot(n, h), 0.0)) * step(0.0, lambert);
    }
    v_colour = v_albedo * v_light + v_highlight;
    // Eyebrow coordinates, affine over a triangle: along the arch (0 inner end, 1 outer end) and
    // across it (+-1 at the hair's edge).
    float t = (abs(in_rest.x) - %BROW_X0%) / (%BROW_X1% - %BROW_X0%);
    float centre = %BROW_Y% + 0.05 * sin(3.1416 * 0.8 * t) - 0.02 * t;
    float half_height = brow_thickness * mix(%BROW_H0%, %BROW_H1%, t);
    v_brow = vec2(t, in_rest.z < %BROW_Z% ? 1000.0 : (in_rest.y - centre) / half_height);
    // Targets only move and scale eyeballs, so the rest-pose direction from the centre holds.
    v_eye = in_rest - eye_centre[in_rest.x > 0.0 ? 0 : 1];
    gl_Position = clip_from_world * model * vec4(in_position, 1.0);
}
"""

_SKIN_SHADER = """
#version 330
uniform uint label;  // region id of this draw call's triangles
%FRAME%
#ifdef BROWS
uniform sampler3D noise_volume;  // tiling fractal noise in [0, 1]
in vec3 v_rest;
in vec3 v_albedo;
in vec3 v_light;
in float v_highlight;
in vec2 v_brow;
#else
in vec3 v_colour;
#endif
out vec4 out_colour;  // alpha: the label id / 255

void main() {
#ifdef BROWS
    // Eyebrow hair over the skin (the brow band's draw calls only).
    float across = 1.0 - smoothstep(0.6, 1.0, abs(v_brow.y));
    float ends = smoothstep(0.0, 0.08, v_brow.x) * (1.0 - smoothstep(0.85, 1.0, v_brow.x));
    float hair = 0.55 + 0.45 * texture(noise_volume, v_rest * (180.0 / %NOISE%.0)).r;
    vec3 colour = mix(v_albedo, brow, across * ends * hair) * v_light + v_highlight;
#else
    vec3 colour = v_colour;
#endif
    // Inside of the head (seen through an open mouth): dark.
    if (!gl_FrontFacing) colour *= 0.12;
    out_colour = vec4(sqrt(clamp(colour, 0.0, 1.0)), float(label) / 255.0);  // gamma 2 (close to sRGB)
}
"""

_EYE_SHADER = """
#version 330
uniform uint label;
%FRAME%
in vec3 v_light;
in vec3 v_eye;
out vec4 out_colour;  // alpha: the label id / 255

void main() {
    // Eyeball: sclera, iris with radial streaks, pupil; glossy, lit per pixel for a catch light.
    vec3 d = normalize(v_eye);
    float c = dot(d, gaze);
    float radius = sqrt(max(0.0, 1.0 - c * c));  // sine of the angle from the gaze axis
    vec3 albedo = vec3%SCLERA%;
    if (c > 0.0 && radius < %IRIS%) {
        float ring = 0.75 + 0.25 * sin(radius * 90.0 + atan(d.y, d.x) * 9.0);
        albedo = mix(iris * ring, iris * 0.4, smoothstep(%IRIS% - 0.1, %IRIS%, radius));
    }
    if (c > 0.0 && radius < %PUPIL%) albedo = vec3%PUPIL_ALBEDO%;
    vec3 n = mat3(model) * d;
    vec3 colour = albedo * v_light;
    for (int i = 0; i < 3; ++i) {
        vec3 h = normalize(light_direction[i].xyz + vec3(0.0, 0.0, 1.0));
        colour += 0.5 * light_colour[i].xyz * pow(max(dot(n, h), 0.0), 60.0);
    }
    out_colour = vec4(sqrt(clamp(colour, 0.0, 1.0)), float(label) / 255.0);
}
"""


# Hair, eyebrow and eyelash proxies: surfaces whose strands are a tiling streak texture, mapped, shaded and
# made transparent as `render.strands` says (the mesh export bakes the same into its textures). Hair
# strands radiate from the crown, so they run down the sides and back; eyebrows and lashes follow their
# UVs. Lit per vertex, like the skin: per pixel
# only the strand look-up (software GL pays for every fragment instruction). Each proxy is drawn twice:
# first the dense strands (alpha >= 0.7) opaque with depth writes and their label, then the thinner
# parts alpha-blended over whatever is behind (depth writes off; the label channel keeps what is under
# it). Between strands alpha stays >= 0.35, so blending order hardly shows: no per-frame sort.
_PROXY_VERTEX_SHADER = """
#version 330
%FRAME%
in vec3 in_position;
in vec3 in_normal;
in vec2 in_uv;
out vec2 v_uv;
out vec3 v_light;
out float v_shine;

void main() {
    vec3 n = normalize(mat3(model) * in_normal);
    if (n.z < 0.0) n = -n;  // shells are seen from both sides: light the side facing the camera
    v_light = ambient;
    v_shine = 0.0;
    for (int i = 0; i < 3; ++i) {
        vec3 l = light_direction[i].xyz;
        v_light += light_colour[i].xyz * max(dot(n, l), 0.0);
        vec3 h = normalize(l + vec3(0.0, 0.0, 1.0));
        v_shine += dot(light_colour[i].xyz, vec3(0.333)) * pow(max(dot(n, h), 0.0), 24.0);
    }
    v_uv = in_uv;
    gl_Position = clip_from_world * model * vec4(in_position, 1.0);
}
"""

_PROXY_SHADER = """
#version 330
uniform uint label;
uniform vec3 albedo;
uniform bool fringe;  // second pass: only the thinner parts, blended
uniform vec2 strand_scale;  // texture repeats across and along the strands
uniform float coverage;  // strand density: higher, fewer gaps between strands
uniform float opacity;  // of the whole surface (glass lenses)
uniform float floor_alpha;  // alpha between strands
uniform sampler2D strands;  // tiling streaks in [0, 1], long along y
in vec2 v_uv;
in vec3 v_light;
in float v_shine;
out vec4 out_colour;

void main() {
    float strand = texture(strands, v_uv * strand_scale).r;
    // Between strands hair thins but never vanishes (what shows through is mostly more hair); lashes do.
    float alpha = opacity * mix(floor_alpha, 1.0, smoothstep(0.0, %STRAND_EDGE%, strand + coverage - 0.5));
    if (fringe != (alpha < 0.7)) discard;
    vec3 colour = albedo * (%SHADE0% + %SHADE1% * strand) * v_light + 0.08 * v_shine * (0.3 + strand);
    out_colour = vec4(sqrt(clamp(colour, 0.0, 1.0)), fringe ? alpha : float(label) / 255.0);
}
"""


def _makeup_constants() -> dict[str, float]:
    """The make-up patches of `palette.MAKEUP` as the vertex shader's constants (squared widths doubled)."""
    m = MAKEUP
    return {"MAKEUP_Z": m["front_z"], "LID_X": m["lid"][0], "LID_Y": m["lid"][1], "LID_W2": 2 * m["lid"][2] ** 2,
            "LID_H2": 2 * m["lid"][3] ** 2, "LASH_Y": m["lash_y"], "LINER_H2": 2 * m["liner_height"] ** 2,
            "CHEEK_X": m["cheek"][0], "CHEEK_Y": m["cheek"][1], "CHEEK_R2": 2 * m["cheek"][2] ** 2}


def _source(text: str, *defines: str) -> str:
    values = {"FRAME": _FRAME_BLOCK, "NOISE": _NOISE_SIZE, "BROW_X0": BROW_X[0],
              "BROW_X1": BROW_X[1], "BROW_Y": BROW_Y, "BROW_Z": BROW_Z, "BROW_H0": BROW_HALF_HEIGHT[0],
              "BROW_H1": BROW_HALF_HEIGHT[1], "SCLERA": SCLERA_ALBEDO, "PUPIL_ALBEDO": PUPIL_ALBEDO,
              "IRIS": IRIS_SINE, "PUPIL": PUPIL_SINE,
              "MOUSTACHE_Y0": MOUSTACHE[0], "MOUSTACHE_Y1": MOUSTACHE[1], "MOUSTACHE_X": MOUSTACHE[2],
              "GOATEE_Y": GOATEE[0], "GOATEE_X": GOATEE[1], "STRAND_EDGE": STRAND_EDGE, "SHADE0": STRAND_SHADE[0],
              "SHADE1": STRAND_SHADE[1], **_makeup_constants()}
    for name, value in values.items():
        text = text.replace(f"%{name}%", str(value))
    version, body = text.lstrip().split("\n", 1)
    return "\n".join([version, *(f"#define {d}" for d in defines), body])


def _in_brow_band(rest: np.ndarray) -> np.ndarray:
    """(N,) bool: rest vertices whose eyebrow coordinates can be within the hair at any thickness (the
    vertex shader's formula, with a margin so triangles the band crosses between vertices count)."""
    t, across = brow_coordinates(rest).T
    half_height = BROW_HALF_HEIGHT[0] + (BROW_HALF_HEIGHT[1] - BROW_HALF_HEIGHT[0]) * t
    reach = 2.0 * _MAX_BROW_THICKNESS * BROW_HALF_HEIGHT[0]
    return (t > -0.1) & (t < 1.1) & (rest[:, 2] >= BROW_Z) & (np.abs(across * half_height) < reach)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendering:
    """One rendered frame.

    `image`: (S, S, 3) uint8 sRGB, black where nothing was drawn. `labels`: (S, S) uint8 ids into
    `regions.LABELS` (0 background). `landmarks`: (68, 2) float32 pixel coordinates (x right,
    y down) of the 68 mesh landmarks, dlib's point order; `mesh_points`: (468, 2) float32, the same for
    the vertices playing MediaPipe's face mesh points.
    """

    image: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    landmarks: np.ndarray = field(repr=False)
    mesh_points: np.ndarray = field(repr=False)


def fractal_noise(size: int, seed: int = 0) -> np.ndarray:
    """(size, size, size) uint8 tiling 1/f noise (white noise filtered in the Fourier domain)."""
    white = np.random.default_rng(seed).standard_normal((size,) * 3)
    frequency = np.sqrt(sum(np.meshgrid(*[np.fft.fftfreq(size) ** 2] * 2 + [np.fft.rfftfreq(size) ** 2],
                                        indexing="ij")))
    field = np.fft.irfftn(np.fft.rfftn(white) / np.maximum(frequency, 1.0 / size), s=(size,) * 3, axes=(0, 1, 2))
    field = (field - field.min()) / (field.max() - field.min())
    return np.round(field * 255).astype(np.uint8)


class _ProxyDraw:
    """GL buffers of one proxy: per frame, its fitted positions and normals are uploaded."""

    def __init__(self, ctx, program, proxy: Proxy) -> None:
        self.proxy = proxy
        rest = proxy.rest[proxy.render_vertex].astype(np.float32)
        self.positions = ctx.buffer(reserve=rest.nbytes)
        self.normals = ctx.buffer(reserve=rest.nbytes)
        uvs = strand_coordinates(proxy)
        # Front-most triangles first (faces are seen from the front): the depth test then rejects the
        # hidden layers of layered hair before they are shaded.
        front_first = proxy.triangles[np.argsort(-rest[proxy.triangles][:, :, 2].mean(axis=1), kind="stable")]
        self.program = program
        self.vao = ctx.vertex_array(program, [(self.positions, "3f", "in_position"), (self.normals, "3f", "in_normal"),
                                              (ctx.buffer(uvs.tobytes()), "2f", "in_uv")],
                                    index_buffer=ctx.buffer(front_first.astype(np.int32).tobytes()),
                                    index_element_size=4)
        # Normals on the proxy's own vertices (UV seams split render vertices, not the surface).
        self._normals = VertexNormals(proxy.render_vertex[proxy.triangles], len(proxy.refs))

    def upload(self, fitted: np.ndarray) -> None:
        self.positions.write(np.ascontiguousarray(fitted[self.proxy.render_vertex], dtype=np.float32).tobytes())
        normals = self._normals(fitted)[self.proxy.render_vertex]
        self.normals.write(np.ascontiguousarray(normals, dtype=np.float32).tobytes())


class VertexNormals:
    """Area-weighted vertex normals, not normalised (the vertex shader normalises), for one fixed
    triangle list set up once: per call, a gather and a segmented sum."""

    def __init__(self, triangles: np.ndarray, count: int) -> None:
        corners = np.asarray(triangles).ravel()
        # Corners grouped by vertex: each vertex sums the normals of its run of triangles.
        order = np.argsort(corners, kind="stable")
        self._corners = [np.ascontiguousarray(np.asarray(triangles)[:, k], dtype=np.intp) for k in range(3)]
        self._faces = (order // 3).astype(np.intp)
        self._vertices = corners[order]
        self._starts = np.flatnonzero(np.r_[True, self._vertices[1:] != self._vertices[:-1]])
        self._count = count

    def __call__(self, positions: np.ndarray) -> np.ndarray:
        # np.take: several times faster than fancy indexing on rows of 3.
        a, b, c = (np.take(positions, corner, axis=0) for corner in self._corners)
        u, v = b - a, c - a
        face = np.empty_like(u)  # u x v, written out: np.cross is slow on small rows
        face[:, 0] = u[:, 1] * v[:, 2] - u[:, 2] * v[:, 1]
        face[:, 1] = u[:, 2] * v[:, 0] - u[:, 0] * v[:, 2]
        face[:, 2] = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
        normals = np.zeros((self._count, 3), dtype=face.dtype)
        normals[self._vertices[self._starts]] = np.add.reduceat(
            np.take(face, self._faces, axis=0), self._starts, axis=0)
        return normals


def head_shift(vertices: np.ndarray) -> np.ndarray:
    """(3,) translation (dm) putting the midpoint of the eyeball centres of hm08 `vertices` at
    `scene.EYE_MIDPOINT`: bodies differ in height, cameras frame the head where they expect it."""
    eyes = [vertices[lo:hi].mean(axis=0) for lo, hi in (L_EYE, R_EYE)]
    return EYE_MIDPOINT - np.mean(eyes, axis=0)


def project(points: np.ndarray, model: np.ndarray, view_projection: np.ndarray, size: int) -> np.ndarray:
    """(N, 3) world-frame points (dm) -> (N, 2) float64 pixel coordinates in a `size` image."""
    homogeneous = np.hstack([points, np.ones((len(points), 1))]) @ (view_projection @ model).T
    ndc = homogeneous[:, :2] / homogeneous[:, 3:4]
    return np.stack([(ndc[:, 0] + 1) * size / 2 - 0.5, (1 - ndc[:, 1]) * size / 2 - 0.5], axis=1)


def frame_matrix(frame: np.ndarray, size: int) -> np.ndarray:
    """(4, 4) clip-space matrix doing what the (2, 3) pixel affine `frame` does to a rendered image
    (`cv2.warpAffine(image, frame)`), applied before rasterisation: x' = a x + b y + c w, etc."""
    pixel_from_ndc = np.array([[size / 2, 0, size / 2 - 0.5], [0, -size / 2, size / 2 - 0.5], [0, 0, 1]])
    affine = np.linalg.inv(pixel_from_ndc) @ np.vstack([frame, [0, 0, 1]]) @ pixel_from_ndc
    out = np.eye(4)
    out[np.ix_([0, 1], [0, 1, 3])] = affine[:2]
    return out


def standalone_context():  # -> moderngl.Context (imported here only: the one module that loads moderngl)
    """A new offscreen GL context on EGL for this thread (Mesa llvmpipe on CPUs)."""
    import moderngl

    return moderngl.create_standalone_context(backend="egl")


class Renderer:
    """Offscreen renderer of the hm08 head at `size` x `size` pixels. Create one per process.

    `render(vertices, ...)` takes either all 19158 hm08 vertices (dm, Y up), as `HeadModel.vertices`
    and `HeadModel.apply_expression` return them, or only the rendered ones, `vertices[renderer.vertex_ids]`
    (what `HeadModel(vertex_ids=renderer.vertex_ids)` returns).
    """

    def __init__(self, size: int = 256, asset: HeadAsset | None = None, proxies: ProxySet | None = None) -> None:
        import moderngl

        self.size = size
        self.asset = asset or default_asset()
        self.mesh = head_mesh(self.asset)
        self.proxies = proxies or default_proxies()
        # The head mesh's vertices, then the other vertices the proxies are fitted to (eyelash helpers ...).
        extra = np.setdiff1d(self.proxies.reference_vertices(), self.mesh.vertex_ids)
        self.vertex_ids = np.concatenate([self.mesh.vertex_ids, extra])
        regions = region_map(self.asset)
        self._ctx = ctx = standalone_context()
        self._programs = {
            "skin": ctx.program(vertex_shader=_source(_VERTEX_SHADER), fragment_shader=_source(_SKIN_SHADER)),
            "brow": ctx.program(vertex_shader=_source(_VERTEX_SHADER),
                                fragment_shader=_source(_SKIN_SHADER, "BROWS")),
            "eye": ctx.program(vertex_shader=_source(_VERTEX_SHADER), fragment_shader=_source(_EYE_SHADER)),
        }
        count = len(self.mesh.vertex_ids)
        self._positions = ctx.buffer(reserve=count * 12)
        self._normals = ctx.buffer(reserve=count * 12)
        rest = self.asset.base_coords[self.mesh.vertex_ids]
        paint = np.stack([regions.lips, regions.beard, regions.blotches], axis=1).astype(np.float32)
        self._paint = ctx.buffer(paint.tobytes())
        self._rest = ctx.buffer(rest.astype(np.float32).tobytes())

        # Triangles by program (brow band, other skin, eyeballs: behind the lids, so last), then by
        # region (the label is a uniform of the draw call) and by whether back faces are culled, then
        # front-most first, so the depth test rejects hidden fragments before shading; the groups of
        # a program in order of their mean depth, front first.
        triangles, part, labels = self.mesh.triangles, self.mesh.part, regions.triangle_labels
        brows = (part == 0) & _in_brow_band(rest)[triangles].any(axis=1)
        groups = {"brow": brows, "skin": (part == 0) & ~brows, "eye": part > 0}
        centres = rest[triangles].mean(axis=1)
        opening = np.all([(low <= centres[:, k]) & (centres[:, k] <= high) for k, (low, high) in enumerate(_OPENINGS)],
                         axis=0)
        order: list[np.ndarray] = []
        ranges: list[tuple[str, int, bool, int, int]] = []  # program, label, cull back faces, first triangle, count
        for name, chosen in groups.items():
            subsets = [np.flatnonzero(chosen & (labels == label) & (opening == inside))
                       for label in np.unique(labels[chosen]) for inside in (False, True)]
            for members in sorted((m for m in subsets if len(m)), key=lambda m: -centres[m, 2].mean()):
                ranges.append((name, int(labels[members[0]]), not opening[members[0]], sum(len(o) for o in order),
                               len(members)))
                order.append(members[np.argsort(-centres[members, 2], kind="stable")])
        index = ctx.buffer(triangles[np.concatenate(order)].astype(np.int32).tobytes())
        buffers = [(self._positions, "in_position"), (self._normals, "in_normal"), (self._rest, "in_rest"),
                   (self._paint, "in_paint")]
        vaos = {name: ctx.vertex_array(program, [(b, "3f", n) for b, n in buffers if n in program],
                                       index_buffer=index, index_element_size=4)
                for name, program in self._programs.items()}
        self._draws = [(vaos[name], self._programs[name]["label"], label, cull, first, count)
                       for name, label, cull, first, count in ranges]

        self._noise = ctx.texture3d((_NOISE_SIZE,) * 3, 1, fractal_noise(_NOISE_SIZE).tobytes())
        self._noise.repeat_x = self._noise.repeat_y = self._noise.repeat_z = True
        self._frame = ctx.buffer(reserve=_FRAME.itemsize)
        for program in self._programs.values():
            program["Frame"].binding = 0
        self._programs["brow"]["noise_volume"].value = 0
        self._programs["eye"]["eye_centre"].value = [tuple(rest[np.unique(triangles[part == p])].mean(axis=0))
                                                     for p in (1, 2)]

        self._proxy_program = ctx.program(vertex_shader=_source(_PROXY_VERTEX_SHADER),
                                          fragment_shader=_source(_PROXY_SHADER))
        self._strands = ctx.texture((STRAND_TEXTURE_SIZE,) * 2, 1, strand_texture().tobytes())
        self._strands.repeat_x = self._strands.repeat_y = True
        self._strands.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self._proxy_program["Frame"].binding = 0
        self._proxy_program["strands"].value = 1
        self._proxy_draws: dict[tuple[str, str], _ProxyDraw] = {}

        self._colour = ctx.texture((size, size), 4)
        self._depth = ctx.depth_renderbuffer((size, size))
        self._fbo = ctx.framebuffer([self._colour], self._depth)
        self._normal_of = VertexNormals(triangles, count)
        local = np.full(len(self.asset.base_coords), -1)
        local[self.vertex_ids] = np.arange(len(self.vertex_ids))
        self._index_of = local
        # The 68 landmarks first, then the 468 mesh points: one projection serves both.
        self._landmark_ids = np.asarray(MESH_LANDMARKS + MESH_468)
        self._local_landmarks = local[self._landmark_ids]
        self._local_eyes = [local[lo:hi] for lo, hi in (L_EYE, R_EYE)]

    def _local(self, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rendered vertices shifted to the frame, (68 + 468, 3) shifted landmark vertices) from either input form."""
        if len(vertices) == len(self.asset.base_coords):
            vertices = vertices[self.vertex_ids]
        elif len(vertices) != len(self.vertex_ids):
            raise ValueError(f"expected {len(self.asset.base_coords)} or {len(self.vertex_ids)} vertices, "
                             f"got {len(vertices)}")
        eyes = [vertices[ids].mean(axis=0) for ids in self._local_eyes]
        shifted = vertices + (EYE_MIDPOINT - np.mean(eyes, axis=0)).astype(vertices.dtype)
        return shifted, shifted[self._local_landmarks]

    def landmarks(self, vertices: np.ndarray, camera: Camera, pose: Pose | None = None) -> np.ndarray:
        """(68, 2) float64 pixel coordinates of the mesh landmarks in a plain render (no `frame`)."""
        _, marks = self._local(vertices)
        return project(marks[:68], (pose or Pose()).matrix(), camera.view_projection(), self.size)

    def render(self, vertices: np.ndarray, camera: Camera, *, pose: Pose | None = None,
               lighting: Lighting | None = None, appearance: Appearance | None = None,
               frame: np.ndarray | Callable[[np.ndarray], np.ndarray] | None = None,
               background: np.ndarray | None = None) -> Rendering:
        """Render `vertices` ((19158, 3) or (len(vertex_ids), 3) float, dm) as seen by `camera`.

        The head is first translated so the midpoint of its eyeball centres is `scene.EYE_MIDPOINT`
        (bodies of different height and gender carry the head at different heights). `frame`, a (2, 3)
        pixel affine, maps the camera's image to the output (`Rendering.landmarks` included), as
        `cv2.warpAffine(image, frame)` would but without resampling; it may also be a function from the
        plain render's landmarks ((68, 2) pixels, as `landmarks` returns them) to that affine.
        `background`: (S, S, 3) uint8 RGB drawn behind the head (semi-transparent hair blends over it);
        default black. Its pixels keep label 0.
        """
        import cv2  # here: the studio's preview imports this module (VertexNormals) and must start without OpenCV
        import moderngl

        pose, lighting, appearance = pose or Pose(), lighting or Lighting(), appearance or Appearance()
        if background is not None and background.shape != (self.size, self.size, 3):
            raise ValueError(f"background must be ({self.size}, {self.size}, 3), got {background.shape}")
        local, marks = self._local(vertices)
        local = np.ascontiguousarray(local, dtype=np.float32)
        head = local[:len(self.mesh.vertex_ids)]
        self._positions.write(head.tobytes())
        self._normals.write(self._normal_of(head).tobytes())
        proxies = self._proxies_of(appearance)
        for draw, _, _ in proxies:
            draw.upload(draw.proxy.fit(local, self._index_of))

        model, view_projection = pose.matrix(), camera.view_projection()
        plain = project(marks, model, view_projection, self.size)
        if frame is None:
            frame = np.array([[1.0, 0, 0], [0, 1, 0]])
        frame = np.asarray(frame(plain[:68]) if callable(frame) else frame, dtype=np.float64)
        self._frame.write(self._frame_block(model, frame_matrix(frame, self.size) @ view_projection, lighting,
                                            appearance))
        self._fbo.use()
        self._fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        if background is not None:  # label 0 in the alpha channel; GL rows run bottom-up
            rgba = np.zeros((self.size, self.size, 4), np.uint8)
            rgba[:, :, :3] = cv2.flip(np.asarray(background, np.uint8), 0)
            self._colour.write(rgba.tobytes())
        ctx = self._ctx
        ctx.enable(moderngl.DEPTH_TEST)
        self._frame.bind_to_uniform_block(0)
        self._noise.use(0)
        self._strands.use(1)
        for vao, label_uniform, label, cull, first, count in self._draws:
            label_uniform.value = label
            (ctx.enable if cull else ctx.disable)(moderngl.CULL_FACE)
            vao.render(moderngl.TRIANGLES, vertices=3 * count, first=3 * first)
        if proxies:
            self._draw_proxies(proxies)
        size = self.size
        # GL rows run bottom-up; OpenCV flips and splits the channels ~10x faster than numpy slicing.
        pixels = cv2.flip(np.frombuffer(self._fbo.read(components=4), dtype=np.uint8).reshape(size, size, 4), 0)
        points = (plain @ frame[:, :2].T + frame[:, 2]).astype(np.float32)
        return Rendering(image=cv2.cvtColor(pixels, cv2.COLOR_RGBA2RGB), labels=cv2.extractChannel(pixels, 3),
                         landmarks=points[:68], mesh_points=points[68:])

    def _proxies_of(self, appearance: Appearance) -> list[tuple[_ProxyDraw, tuple[float, ...], float]]:
        """(draw, albedo, opacity) of each proxy `appearance` asks for: eyelashes, eyebrows, hair, glasses."""
        wanted = [("eyelashes", appearance.eyelashes), ("eyebrows", appearance.eyebrows),
                  ("hair", None if appearance.hair == NO_HAIR else appearance.hair)]
        out = []
        for kind, option in wanted:
            if option is not None:
                colour = LASH_ALBEDO if kind == "eyelashes" else appearance.hair_colour
                draw = self._draw_of((kind, option), lambda k=kind, o=option: self.proxies.get(k, o))
                out.append((draw, colour, 1.0))
        glasses = appearance.glasses
        if glasses is not None:
            frame, lenses = glasses_proxies(GLASSES_SHAPES[glasses.shape], self.asset)
            out.append((self._draw_of(("glasses", f"frame{glasses.shape}"), lambda: frame), glasses.frame, 1.0))
            out.append((self._draw_of(("glasses", f"lenses{glasses.shape}"), lambda: lenses), glasses.lens[:3],
                        glasses.lens[3]))
        return out

    def _draw_of(self, key: tuple[str, str], proxy: Callable[[], Proxy]) -> _ProxyDraw:
        """The GL draw of a proxy, made on first use."""
        if key not in self._proxy_draws:
            self._proxy_draws[key] = _ProxyDraw(self._ctx, self._proxy_program, proxy())
        return self._proxy_draws[key]

    def _draw_proxies(self, draws: list[tuple[_ProxyDraw, tuple[float, ...], float]]) -> None:
        """Both passes of every proxy (see `_PROXY_SHADER`): all dense parts first, then all thinner ones."""
        import moderngl

        ctx = self._ctx
        ctx.disable(moderngl.CULL_FACE)  # hair shells are seen from both sides
        ctx.polygon_offset = PROXY_DEPTH_BIAS
        for fringe in (False, True):
            if fringe:
                ctx.enable(moderngl.BLEND)
                ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA, moderngl.ZERO, moderngl.ONE
                ctx.depth_mask = False
            for draw, albedo, opacity in draws:
                style = PROXY_STYLES[draw.proxy.kind]
                program = draw.program
                program["label"].value = style.label
                program["albedo"].value = albedo
                program["opacity"].value = opacity
                program["fringe"].value = fringe
                program["strand_scale"].value = style.strand_scale
                program["coverage"].value = style.coverage
                program["floor_alpha"].value = style.floor
                draw.vao.render(moderngl.TRIANGLES)
        ctx.disable(moderngl.BLEND)
        ctx.depth_mask = True
        ctx.polygon_offset = (0.0, 0.0)

    @staticmethod
    def _frame_block(model: np.ndarray, clip_from_world: np.ndarray, lighting: Lighting,
                     appearance: Appearance) -> bytes:
        """The `Frame` uniform block's bytes (matrices column-major, as GLSL reads them)."""
        block = np.zeros((), dtype=_FRAME)
        block["model"] = model.T
        block["clip_from_world"] = clip_from_world.T
        lights = list(lighting.lights[:MAX_LIGHTS])
        lights += [Light(direction=(0.0, 0.0, 1.0), intensity=0.0)] * (MAX_LIGHTS - len(lights))
        for i, light in enumerate(lights):
            block["light_direction"][i, :3] = np.asarray(light.direction) / np.linalg.norm(light.direction)
            block["light_colour"][i, :3] = np.asarray(light.colour) * light.intensity
        block["ambient"] = lighting.ambient
        block["specular"] = lighting.specular
        skin = np.asarray(SKIN_ALBEDO[appearance.skin]) * appearance.tone
        block["skin"] = skin
        lipstick = np.asarray(appearance.lipstick)
        block["lip"] = skin * np.array(LIP_TINT) * (1 - lipstick[3]) + lipstick[:3] * lipstick[3]
        block["eye_shadow"] = appearance.eye_shadow
        block["blush"] = appearance.blush
        block["eyeliner"] = appearance.eyeliner
        block["brow"] = appearance.brow_colour
        block["brow_thickness"] = appearance.brow_thickness
        style = BEARDS.index(appearance.beard)
        block["beard"] = BEARD_STRENGTH[style] if style else (0.25 if appearance.skin.endswith("_male") else 0.0)
        block["beard_style"] = style
        block["iris"] = IRIS_ALBEDO[appearance.eye_colour]
        block["gaze"] = appearance.gaze()
        return block.tobytes()

    def release(self) -> None:
        """Free the GL context (also freed when the process ends)."""
        self._ctx.release()
