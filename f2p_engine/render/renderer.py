"""Offscreen renderer: hm08 vertices + scene -> RGB image, region label image, 68 landmarks.

moderngl on EGL (Mesa llvmpipe on CPUs). One pass writes the shaded colour and, in a second
integer attachment, the region label of every pixel (ids of `regions.LABELS`, 0 = background).
The label of a pixel is its triangle's label, fetched by `gl_PrimitiveID` from a small integer
texture, so vertices stay shared and the mesh upload per frame is positions and normals only.
Images are (S, S, 3) uint8 sRGB, top row first; landmark pixel coordinates put the centre of
pixel (row i, column j) at (x=j, y=i), as OpenCV and dlib do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from f2p_engine.headmodel.asset import L_EYE, R_EYE, HeadAsset, default_asset
from f2p_engine.headmodel.mesh import head_mesh
from f2p_engine.render.landmarks import MESH_LANDMARKS
from f2p_engine.render.regions import region_map
from f2p_engine.render.scene import EYE_MIDPOINT, MAX_LIGHTS, Appearance, Camera, Light, Lighting, Pose

#: Linear-RGB albedo of each skin option (schema `SKINS` order); male skins also get beard shadow.
SKIN_ALBEDO: dict[str, tuple[float, float, float]] = {
    "young_caucasian_female": (0.82, 0.55, 0.46),
    "young_caucasian_male": (0.70, 0.44, 0.36),
    "young_african_female": (0.30, 0.17, 0.11),
    "young_african_male": (0.21, 0.12, 0.08),
    "young_asian_female": (0.78, 0.60, 0.36),
    "young_asian_male": (0.62, 0.47, 0.27),
}
#: Linear-RGB iris colour of each eye-colour option (schema `EYE_COLOURS` order).
IRIS_ALBEDO: dict[str, tuple[float, float, float]] = {
    "brown": (0.10, 0.04, 0.015),
    "brownlight": (0.35, 0.17, 0.05),
    "green": (0.12, 0.25, 0.07),
    "blue": (0.15, 0.30, 0.55),
    "lightblue": (0.40, 0.58, 0.75),
    "deepblue": (0.02, 0.06, 0.35),
}
_TEXTURE_WIDTH = 1024
_NOISE_SIZE = 32

_VERTEX_SHADER = """
#version 330
uniform mat4 model;
uniform mat4 view_projection;
uniform vec3 light_direction[3];  // unit vectors towards the lights
uniform vec3 light_colour[3];  // linear RGB times intensity
uniform vec3 ambient;
uniform float specular;
in vec3 in_position;
in vec3 in_normal;
in vec3 in_rest;
in vec3 in_paint;
out vec3 v_rest;
out vec3 v_paint;
out vec3 v_light;
out float v_highlight;

float spec32(float x) { x *= x; x *= x; x *= x; x *= x; return x * x; }

void main() {
    v_rest = in_rest;
    v_paint = in_paint;
    // Skin lighting per vertex (the head has ~4500 vertices: a few pixels apart at 256 px).
    vec3 n = normalize(mat3(model) * in_normal);
    v_light = ambient;
    v_highlight = 0.0;
    for (int i = 0; i < 3; ++i) {
        float lambert = dot(n, light_direction[i]);
        v_light += light_colour[i] * max(lambert, 0.0);
        vec3 h = normalize(light_direction[i] + vec3(0.0, 0.0, 1.0));
        // Grey highlight: its brightness follows each light, its colour is left white.
        float strength = dot(light_colour[i], vec3(0.333));
        v_highlight += strength * specular * spec32(max(dot(n, h), 0.0)) * step(0.0, lambert);
    }
    gl_Position = view_projection * model * vec4(in_position, 1.0);
}
"""

_FRAGMENT_SHADER = """
#version 330
uniform usampler2D triangle_info;  // R: label id, G: part (0 skin, 1 left eye, 2 right eye)
uniform sampler3D noise_volume;  // tiling fractal noise in [0, 1]
uniform mat4 model;
uniform vec3 skin;
uniform vec3 lip;
uniform vec3 brow;
uniform float beard;
uniform float brow_thickness;
uniform vec3 iris;
uniform vec3 eye_centre[2];  // rest (base mesh) eyeball centres: left, right
uniform vec3 gaze;
uniform vec3 light_direction[3];
uniform vec3 light_colour[3];
in vec3 v_rest;
in vec3 v_paint;
in vec3 v_light;
in float v_highlight;
layout(location = 0) out vec4 out_colour;
layout(location = 1) out uint out_label;

float noise(vec3 p, float frequency) {
    return texture(noise_volume, p * frequency / %NOISE%.0).r;
}

// Eyebrow hair density from the neutral (rest) hm08 position: an arch above each eye, from
// |x| = 0.10 dm (inner end) to 0.55 dm (outer end), thinning outwards.
float eyebrow(vec3 rest) {
    float t = (abs(rest.x) - 0.10) / 0.45;
    if (t < 0.0 || t > 1.0 || rest.z < 0.8) return 0.0;
    float centre = 7.45 + 0.05 * sin(3.1416 * 0.8 * t) - 0.02 * t;
    float half_height = brow_thickness * mix(0.035, 0.014, t);
    float across = 1.0 - smoothstep(0.6, 1.0, abs(rest.y - centre) / half_height);
    float ends = smoothstep(0.0, 0.08, t) * (1.0 - smoothstep(0.85, 1.0, t));
    return across * ends * (0.55 + 0.45 * noise(rest, 180.0));
}

void main() {
    uvec2 info = texelFetch(triangle_info, ivec2(gl_PrimitiveID % %WIDTH%, gl_PrimitiveID / %WIDTH%), 0).rg;
    out_label = info.r;
    vec3 colour;
    if (info.g == 0u) {
        // Skin: blotches and pores, lips, beard shadow, eyebrow hair.
        float grain = v_paint.z;
        vec3 albedo = skin * (0.88 + 0.24 * grain);
        albedo = mix(albedo, lip, v_paint.x);
        albedo *= 1.0 - beard * v_paint.y * (0.6 + 0.8 * grain);
        albedo = mix(albedo, brow, eyebrow(v_rest));
        colour = albedo * v_light + v_highlight;
    } else {
        // Eyeball: sclera, iris with radial streaks, pupil; glossy, lit per pixel for a catch light.
        // Targets only move and scale eyeballs, so the rest-pose direction from the centre holds.
        vec3 d = normalize(v_rest - eye_centre[info.g - 1u]);
        float c = dot(d, gaze);
        float radius = sqrt(max(0.0, 1.0 - c * c));  // sine of the angle from the gaze axis
        vec3 albedo = vec3(0.78, 0.74, 0.70);
        if (c > 0.0 && radius < 0.52) {
            float ring = 0.75 + 0.25 * sin(radius * 90.0 + atan(d.y, d.x) * 9.0);
            albedo = mix(iris * ring, iris * 0.4, smoothstep(0.42, 0.52, radius));
        }
        if (c > 0.0 && radius < 0.17) albedo = vec3(0.01);
        vec3 n = mat3(model) * d;
        colour = albedo * v_light;
        for (int i = 0; i < 3; ++i) {
            vec3 h = normalize(light_direction[i] + vec3(0.0, 0.0, 1.0));
            colour += 0.5 * light_colour[i] * pow(max(dot(n, h), 0.0), 60.0);
        }
    }
    // Inside of the head (seen through an open mouth): dark.
    if (!gl_FrontFacing) colour *= 0.12;
    out_colour = vec4(sqrt(clamp(colour, 0.0, 1.0)), 1.0);  // gamma 2 (close to sRGB)
}
""".replace("%WIDTH%", str(_TEXTURE_WIDTH)).replace("%NOISE%", str(_NOISE_SIZE))


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendering:
    """One rendered frame.

    `image`: (S, S, 3) uint8 sRGB, black where nothing was drawn. `labels`: (S, S) uint8 ids into
    `regions.LABELS` (0 background). `landmarks`: (68, 2) float32 pixel coordinates (x right,
    y down) of the 68 mesh landmarks, dlib's point order.
    """

    image: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    landmarks: np.ndarray = field(repr=False)


def fractal_noise(size: int, seed: int = 0) -> np.ndarray:
    """(size, size, size) uint8 tiling 1/f noise (white noise filtered in the Fourier domain)."""
    white = np.random.default_rng(seed).standard_normal((size,) * 3)
    frequency = np.sqrt(sum(np.meshgrid(*[np.fft.fftfreq(size) ** 2] * 2 + [np.fft.rfftfreq(size) ** 2],
                                        indexing="ij")))
    field = np.fft.irfftn(np.fft.rfftn(white) / np.maximum(frequency, 1.0 / size), s=(size,) * 3, axes=(0, 1, 2))
    field = (field - field.min()) / (field.max() - field.min())
    return np.round(field * 255).astype(np.uint8)


def vertex_normals(positions: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(N, 3) float32 unit normals: area-weighted mean of the incident triangles' normals."""
    corners = positions[triangles]
    face = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.stack([sum(np.bincount(triangles[:, k], weights=face[:, axis], minlength=len(positions))
                            for k in range(3)) for axis in range(3)], axis=1)
    return (normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)).astype(np.float32)


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


class Renderer:
    """Offscreen renderer of the hm08 head at `size` x `size` pixels. Create one per process.

    `render(vertices, ...)` takes all 19158 hm08 vertices (dm, Y up) as `HeadModel.vertices` and
    `apply_expression` return them.
    """

    def __init__(self, size: int = 256, asset: HeadAsset | None = None) -> None:
        import moderngl

        self.size = size
        self.asset = asset or default_asset()
        self.mesh = head_mesh(self.asset)
        regions = region_map(self.asset)
        self._ctx = moderngl.create_standalone_context(backend="egl")
        ctx = self._ctx
        self._program = ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
        count = len(self.mesh.vertex_ids)
        self._positions = ctx.buffer(reserve=count * 12)
        self._normals = ctx.buffer(reserve=count * 12)
        rest = self.asset.base_coords[self.mesh.vertex_ids]
        paint = np.stack([regions.lips, regions.beard, regions.blotches], axis=1).astype(np.float32)
        self._paint = ctx.buffer(paint.tobytes())
        self._rest = ctx.buffer(rest.astype(np.float32).tobytes())
        # Front-most triangles first, so the depth test rejects hidden fragments before shading.
        order = np.argsort(-rest[self.mesh.triangles][:, :, 2].mean(axis=1), kind="stable")
        self._index = ctx.buffer(self.mesh.triangles[order].astype(np.int32).tobytes())
        self._vao = ctx.vertex_array(
            self._program,
            [(self._positions, "3f", "in_position"), (self._normals, "3f", "in_normal"),
             (self._rest, "3f", "in_rest"), (self._paint, "3f", "in_paint")],
            index_buffer=self._index, index_element_size=4)

        info = np.zeros((-(-len(self.mesh.triangles) // _TEXTURE_WIDTH) * _TEXTURE_WIDTH, 2), dtype=np.uint8)
        info[: len(order), 0] = regions.triangle_labels[order]
        info[: len(order), 1] = self.mesh.part[order]
        self._info = ctx.texture((_TEXTURE_WIDTH, len(info) // _TEXTURE_WIDTH), 2, info.tobytes(), dtype="u1")
        self._info.filter = moderngl.NEAREST, moderngl.NEAREST
        self._program["triangle_info"].value = 0
        self._noise = ctx.texture3d((_NOISE_SIZE,) * 3, 1, fractal_noise(_NOISE_SIZE).tobytes())
        self._noise.repeat_x = self._noise.repeat_y = self._noise.repeat_z = True
        self._program["noise_volume"].value = 1

        self._colour = ctx.renderbuffer((size, size), 4)
        self._label = ctx.renderbuffer((size, size), 1, dtype="u1")
        self._depth = ctx.depth_renderbuffer((size, size))
        self._fbo = ctx.framebuffer([self._colour, self._label], self._depth)
        self._set("eye_centre", [tuple(rest[np.unique(self.mesh.triangles[self.mesh.part == p])].mean(axis=0))
                                 for p in (1, 2)])
        self._landmark_ids = np.asarray(MESH_LANDMARKS)

    def _set(self, name: str, value: Any) -> None:
        self._program[name].value = value

    def render(self, vertices: np.ndarray, camera: Camera, *, pose: Pose | None = None,
               lighting: Lighting | None = None, appearance: Appearance | None = None) -> Rendering:
        """Render all hm08 `vertices` ((19158, 3) float, dm) as seen by `camera`.

        The head is first translated so the midpoint of its eyeball centres is `scene.EYE_MIDPOINT`
        (bodies of different height and gender carry the head at different heights).
        """
        import moderngl

        pose, lighting, appearance = pose or Pose(), lighting or Lighting(), appearance or Appearance()
        shift = head_shift(vertices)
        local = np.ascontiguousarray(vertices[self.mesh.vertex_ids] + shift, dtype=np.float32)
        self._positions.write(local.tobytes())
        self._normals.write(vertex_normals(local, self.mesh.triangles).tobytes())

        model, view_projection = pose.matrix(), camera.view_projection()
        self._set("model", tuple(model.T.ravel().astype(np.float32)))
        self._set("view_projection", tuple(view_projection.T.ravel().astype(np.float32)))
        skin = np.asarray(SKIN_ALBEDO[appearance.skin]) * appearance.tone
        self._set("skin", tuple(skin))
        self._set("lip", tuple(skin * np.array([0.85, 0.55, 0.55])))
        self._set("brow", appearance.brow_colour)
        self._set("brow_thickness", appearance.brow_thickness)
        self._set("beard", 0.25 if appearance.skin.endswith("_male") else 0.0)
        self._set("iris", IRIS_ALBEDO[appearance.eye_colour])
        self._set("gaze", tuple(appearance.gaze()))
        lights = list(lighting.lights[:MAX_LIGHTS])
        lights += [Light(direction=(0.0, 0.0, 1.0), intensity=0.0)] * (MAX_LIGHTS - len(lights))
        self._set("light_direction", [tuple(np.asarray(light.direction) / np.linalg.norm(light.direction))
                                      for light in lights])
        self._set("light_colour", [tuple(np.asarray(light.colour) * light.intensity) for light in lights])
        self._set("ambient", lighting.ambient)
        self._set("specular", lighting.specular)

        self._fbo.use()
        self._fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        self._ctx.enable(moderngl.DEPTH_TEST)
        self._info.use(0)
        self._noise.use(1)
        self._vao.render(moderngl.TRIANGLES)
        size = self.size
        colour = np.frombuffer(self._fbo.read(components=3, attachment=0), dtype=np.uint8)
        labels = np.frombuffer(self._fbo.read(components=1, attachment=1, dtype="u1"), dtype=np.uint8)
        landmarks = project(vertices[self._landmark_ids] + shift, model, view_projection, size)
        return Rendering(image=colour.reshape(size, size, 3)[::-1].copy(),
                         labels=labels.reshape(size, size)[::-1].copy(),
                         landmarks=landmarks.astype(np.float32))

    def release(self) -> None:
        """Free the GL context (also freed when the process ends)."""
        self._ctx.release()
