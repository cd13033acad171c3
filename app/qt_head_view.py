"""3D preview of the head: the engine's mesh for the current recipe in the studio's GL view (`app.gl_view`).

The mesh topology (`head_mesh()`) is fixed; only positions change, so every recipe change uploads new
positions and normals into the same buffers. Normals come from the engine (`render.renderer.VertexNormals`,
the renderer's own).

The look comes from the engine's palette (`render.palette`), as in the dataset renderer: skin and
lips of the chosen skin, eyebrows of the chosen style (the renderer's eyebrow band and its
coordinates), and eyeballs with sclera, iris in the chosen colour and pupil, drawn per pixel from
the direction from the eyeball's centre. As in the renderer, skin is lit per vertex and only the
eyebrow hair and the eyeballs are shaded per pixel, by two programs (software GL pays for every
instruction of a fragment shader on every pixel). Per vertex the skin's paint attribute carries
(lip weight, along-brow, across-brow, fade). Normals point outwards (hm08's triangles run
counter-clockwise seen from outside).
"""

from __future__ import annotations

import functools
import time
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage, QPainter, QPixmap, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.gl_view import GLCanvas, GLMesh, Shader
from app.orbit_camera import Orbit
from app.state import StudioState
from f2p_engine.errors import F2PError
from f2p_engine.headmodel.mesh import head_mesh
from f2p_engine.headmodel.proxies import PROXY_KINDS, Proxy, default_proxies
from f2p_engine.headmodel.schema import NO_HAIR
from f2p_engine.recipe import Recipe
from f2p_engine.render import palette
from f2p_engine.render.regions import region_map
from f2p_engine.render.renderer import PROXY_DEPTH_BIAS, VertexNormals
from f2p_engine.render.scene import VIEW_YAW, Appearance, View, appearance_of

#: Camera azimuth of the front view, degrees (`app.orbit_camera`: the camera on +z, facing the face).
_FRONT_AZIMUTH = -90.0
#: Camera azimuth per engine view: the engine's yaw turns the head, here the camera orbits the other way.
VIEW_AZIMUTH: dict[View, float] = {view: _FRONT_AZIMUTH + yaw for view, yaw in VIEW_YAW.items()}
#: What the views frame (dm): the head and neck, from a little above the crown to the neck, and the
#: head's width with the ears and a margin (its depth, seen from the side, is about the same).
_FRAME_HEIGHT = 3.3
_FRAME_WIDTH = 2.6
#: Horizontal field of view, degrees: a portrait lens (60 degrees, close up, swells the nose).
_FOV = 30.0
#: The camera aims at the middle of the skull in plan (so turned views orbit the head, not the
#: shoulders) and `_AIM_BELOW_EYES` dm below the eyes (the middle of the frame), and re-aims when that
#: point moves more than `_REAIM_DISTANCE`. Only skin above `_SKULL_BELOW_EYES` below the eyes is skull.
_AIM_BELOW_EYES = 0.35
_SKULL_BELOW_EYES = 1.3
_REAIM_DISTANCE = 0.15
#: How far the old head fades towards the background while a photo is analysed.
_BUSY_DIM = 0.35
_BACKGROUND = (46, 48, 54)
#: The bust ends in a jagged cut through the shoulders' quads (teeth up to ~0.25 dm): it is drawn in
#: the background colour up to `_FADE_START` above its lowest point, then fades in over
#: `_FADE_HEIGHT` (decimetres), so the cut does not draw the eye (view only: the mesh is unchanged).
_FADE_START = 0.25
_FADE_HEIGHT = 0.8
#: Hair is drawn this much (dm) nearer the camera than MakeHuman's fit puts it (view only: the mesh and the
#: exports are unchanged). A fringe lies on the forehead and forehead sliders push the skin through it
#: (Grace Hopper's prediction: 23 of short02's 1755 vertices over 1 mm under the skin), which broke the
#: hairline into patches that the renderer's strand texture hides and the preview's flat colour did not.
#: 1 mm cleans the hairlines looked at; 2-3 mm start to draw the hair behind an ear over the ear (side view).
HAIR_LIFT = 0.01

# The lighting of the preview (eye space: the camera looks down -z): key, fill and rim, in GLSL.
_LIGHTING = """
    vec3 lighting(vec3 n) {  // (diffuse factor, rim, 0)
        float key = max(dot(n, normalize(vec3(-0.45, 0.55, 0.75))), 0.0);
        float fill = max(dot(n, normalize(vec3(0.7, -0.1, 0.6))), 0.0);
        return vec3(0.30 + 0.85 * key + 0.30 * fill, 0.08 * pow(1.0 - max(n.z, 0.0), 3.0), 0.0);
    }
"""
# Output: gamma 2 as the renderer; alpha is not transparency but how far the bust fades into the background.
_OUTPUT = """
    uniform vec3 u_background;
    uniform vec4 u_shape;  // iris sine, pupil sine, brow thickness, dim
    out vec4 f_colour;
    vec4 shade(vec3 albedo, vec3 light, float fade) {
        vec3 lit = min(sqrt(min(albedo * light.x, vec3(1.0))) + vec3(light.y), vec3(1.0));
        return vec4(mix(u_background, lit, fade * u_shape.w), 1.0);
    }
"""
_VERSION = "#version 330 core\n"
# What every vertex shader is given (`app.gl_view.Shader`).
_VERTEX = _VERSION + """
    uniform mat4 u_mvp;
    uniform mat3 u_normal;
    in vec3 a_position;
    in vec3 a_normal;
"""

#: Skin and lips lit per vertex (llvmpipe pays per pixel for every instruction), eyebrow hair per pixel.
_SKIN = Shader(
    vertex=_VERTEX + """
        uniform vec3 u_skin;
        uniform vec3 u_lip;
        in vec4 a_paint;  // lip weight, along-brow, across-brow, fade
        out vec3 v_albedo;
        out vec3 v_light;
        out vec3 v_paint;
    """ + _LIGHTING + """
        void main() {
            v_light = lighting(normalize(u_normal * a_normal));
            v_albedo = mix(u_skin, u_lip, a_paint.x);
            v_paint = a_paint.yzw;
            gl_Position = u_mvp * vec4(a_position, 1.0);
        }
    """,
    fragment=_VERSION + """
        uniform vec3 u_brow;
        in vec3 v_albedo;
        in vec3 v_light;
        in vec3 v_paint;
    """ + _OUTPUT + """
        void main() {
            float across = 1.0 - smoothstep(0.6, 1.0, abs(v_paint.y) / u_shape.z);
            float ends = smoothstep(0.0, 0.08, v_paint.x) * (1.0 - smoothstep(0.85, 1.0, v_paint.x));
            f_colour = shade(mix(v_albedo, u_brow, across * ends), v_light, v_paint.z);
        }
    """,
)
#: Eyeballs per pixel: sclera, iris and pupil around the gaze axis (+z of the head), from the direction
#: of the point from its eyeball's centre (exact per pixel, unlike interpolated normals).
_EYES = Shader(
    vertex=_VERTEX + """
        out vec3 v_normal;
        out vec3 v_model;
        void main() {
            v_normal = normalize(u_normal * a_normal);
            v_model = a_position;
            gl_Position = u_mvp * vec4(a_position, 1.0);
        }
    """,
    fragment=_VERSION + """
        uniform vec3 u_iris;
        uniform vec3 u_sclera;
        uniform vec3 u_pupil;
        uniform vec3 u_eyes[2];  // eyeball centres (model frame): left (+x), right
        in vec3 v_normal;
        in vec3 v_model;
    """ + _LIGHTING + _OUTPUT + """
        void main() {
            vec3 d = normalize(v_model - (v_model.x > 0.0 ? u_eyes[0] : u_eyes[1]));
            float radius = sqrt(max(0.0, 1.0 - d.z * d.z));
            vec3 albedo = u_sclera;
            if (d.z > 0.0 && radius < u_shape.x)
                albedo = mix(u_iris, u_iris * 0.4, smoothstep(u_shape.x - 0.1, u_shape.x, radius));
            if (d.z > 0.0 && radius < u_shape.y) albedo = u_pupil;
            f_colour = shade(albedo, lighting(normalize(v_normal)), 1.0);
        }
    """,
)
#: Hair, eyebrows and eyelashes (MakeHuman's proxies): one colour, lit per vertex from the side facing
#: the camera (the shells are seen from both sides). `u_lift` (dm) draws them that much nearer the camera
#: than they are (`HAIR_LIFT`).
_PROXY = Shader(
    vertex=_VERTEX + """
        uniform float u_lift;
        out vec3 v_light;
    """ + _LIGHTING + """
        void main() {
            vec3 n = normalize(u_normal * a_normal);
            v_light = lighting(n.z < 0.0 ? -n : n);
            vec3 toward_camera = vec3(u_normal[0][2], u_normal[1][2], u_normal[2][2]);  // eye +z in the model frame
            gl_Position = u_mvp * vec4(a_position + u_lift * toward_camera, 1.0);
        }
    """,
    fragment=_VERSION + """
        uniform vec3 u_colour;
        in vec3 v_light;
    """ + _OUTPUT + """
        void main() { f_colour = shade(u_colour, v_light, 1.0); }
    """,
)


@functools.cache
def _proxy_normals(proxy: Proxy) -> VertexNormals:
    """Normals on a proxy's own vertices (UV seams split render vertices, not the surface), set up once."""
    return VertexNormals(proxy.render_vertex[proxy.triangles], len(proxy.refs))


def _rgb(colour) -> tuple[float, float, float]:
    return tuple(float(c) for c in colour)


class QtHeadView(QWidget):
    """The head preview with view buttons, wireframe and overlay toggles and a banner (analysing, or
    the default head after a failed photo); follows `state.mesh_changed`."""

    def __init__(self, state: StudioState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        asset = state.head_model.asset
        self._topology = head_mesh(asset)
        self.canvas = GLCanvas(_BACKGROUND, Orbit(fov=_FOV))
        self.container = QWidget.createWindowContainer(self.canvas, self)
        self.container.setMinimumSize(320, 320)
        triangles, part = self._topology.triangles, self._topology.part
        self._normals = VertexNormals(triangles, len(self._topology.vertex_ids))
        self._eye_vertices = np.unique(triangles[part > 0])
        self._eyeballs = [np.unique(triangles[part == p]) for p in (1, 2)]
        self._head_vertices = np.unique(triangles[part == 0])
        rest = asset.base_coords[self._topology.vertex_ids]
        # Per-vertex paint (see the module docstring): fixed, only the palette uniforms change.
        paint = np.empty((len(rest), 4), dtype=np.float32)
        paint[:, 0] = region_map(asset).lips
        paint[:, 1:3] = palette.brow_coordinates(rest)
        paint[:, 3] = _bottom_fade(state.vertices[self._topology.vertex_ids])
        background = _rgb(np.asarray(_BACKGROUND) / 255)
        # Two meshes over the same vertices, as the renderer's programs: skin (with the eyebrows) and eyeballs.
        self.skin = GLMesh(_SKIN, triangles[part == 0], paint=paint, cull_in_drafts=True)
        self.skin.uniforms.update(u_background=background, u_shape=(0.0, 0.0, 1.0, 1.0))
        self.eyes = GLMesh(_EYES, triangles[part > 0])
        self.eyes.uniforms.update(u_background=background, u_sclera=_rgb(palette.SCLERA_ALBEDO),
                                  u_pupil=_rgb(palette.PUPIL_ALBEDO),
                                  u_shape=(palette.IRIS_SINE, palette.PUPIL_SINE, 1.0, 1.0))
        self.canvas.meshes += [self.skin, self.eyes]
        # Hair, eyebrows and eyelashes: one mesh per kind, its faces replaced when the recipe's option changes.
        self._proxies: dict[str, tuple[GLMesh, Proxy | None]] = {}
        for kind in PROXY_KINDS:
            mesh = GLMesh(_PROXY, np.zeros((0, 3), np.uint32), depth_bias=PROXY_DEPTH_BIAS)
            mesh.uniforms.update(u_background=background, u_shape=(0.0, 0.0, 1.0, 1.0),
                                 u_colour=_rgb(palette.LASH_ALBEDO), u_lift=HAIR_LIFT if kind == "hair" else 0.0)
            self.canvas.meshes.append(mesh)
            self._proxies[kind] = (mesh, None)
        #: Milliseconds spent turning the last mesh into GL data (normals + upload preparation).
        self.update_ms = 0.0

        # Over the top of the 3D view: a native child, so it stacks above the GL window (a plain widget
        # would be painted under it).
        self.banner = QLabel(self)
        self.banner.setObjectName("head_banner")
        self.banner.setWordWrap(True)
        self.banner.setAttribute(Qt.WidgetAttribute.WA_NativeWindow)
        self.banner.setStyleSheet("QLabel { background: #3a3f4b; color: #f0f0f0; padding: 6px; }")
        self.banner.hide()
        self.view_buttons: dict[View, QPushButton] = {}
        buttons = QHBoxLayout()
        for view, shortcut in zip(VIEW_AZIMUTH, "123", strict=True):
            button = QPushButton(view.capitalize())
            button.setToolTip(f"{view} view ({shortcut})")
            button.clicked.connect(lambda _=False, v=view: self.set_view(v))
            buttons.addWidget(button)
            self.view_buttons[view] = button
        self.wireframe_button = QPushButton("Wireframe")
        self.wireframe_button.setCheckable(True)
        self.wireframe_button.setToolTip("Show the mesh edges (W)")
        self.wireframe_button.toggled.connect(self.set_wireframe)
        self.overlay_button = QPushButton("Overlay")
        self.overlay_button.setCheckable(True)
        self.overlay_button.setToolTip("Fit check: the head over the photo, at the photo's pose (O)")
        buttons.addStretch(1)
        buttons.addWidget(self.wireframe_button)
        buttons.addWidget(self.overlay_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.container, 1)
        layout.addLayout(buttons)

        state.mesh_changed.connect(self._show_vertices)
        state.recipe_changed.connect(self._update_colours)
        state.busy_changed.connect(self._show_banner)
        state.analysis_changed.connect(self._show_banner)
        state.predicted_changed.connect(self._show_banner)
        state.dragging_changed.connect(lambda on: self.canvas.set_dragging("slider", on))
        self._colour_key: tuple[str, ...] | None = None
        self._pending: np.ndarray | None = None  # the newest mesh, until the next frame shows it
        self.canvas.prepare = self._apply_vertices
        self._update_colours(state.recipe)
        self._show_vertices(state.vertices)
        self.set_view("front")

    def _show_vertices(self, vertices: np.ndarray) -> None:
        """A new mesh: shown with the next frame (see `_apply_vertices`)."""
        self._pending = vertices
        self.canvas.update()

    def _apply_vertices(self) -> None:
        """Turn the newest mesh, if any came since the last frame, into GL data (normals, proxies, camera)."""
        vertices, self._pending = self._pending, None
        if vertices is None:
            return
        start = time.perf_counter()
        positions = vertices[self._topology.vertex_ids]
        normals = self._normals(positions)
        self.skin.set_positions(positions, normals)
        self.eyes.set_positions(positions, normals)
        self.eyes.uniforms["u_eyes"] = [_rgb(positions[ids].mean(axis=0)) for ids in self._eyeballs]
        self._show_proxies(vertices)
        self._follow_face(positions)
        self.update_ms = (time.perf_counter() - start) * 1000

    def _show_proxies(self, vertices: np.ndarray) -> None:
        """Fit the shown hair, eyebrows and eyelashes to hm08 `vertices` (19158, 3)."""
        for mesh, proxy in self._proxies.values():
            if proxy is not None:
                fitted = proxy.fit(vertices)
                normals = _proxy_normals(proxy)(fitted)
                mesh.set_positions(fitted[proxy.render_vertex], normals[proxy.render_vertex])

    def _update_proxies(self, look: Appearance) -> None:
        """Show the hair, eyebrows and eyelashes of `look` (faces, colour), fitted to the current mesh."""
        chosen = {"hair": None if look.hair == NO_HAIR else look.hair, "eyebrows": look.eyebrows,
                  "eyelashes": look.eyelashes}
        proxies = default_proxies()
        for kind, option in chosen.items():
            mesh, shown = self._proxies[kind]
            proxy = None if option is None else proxies.get(kind, option)
            if proxy is not shown:
                mesh.set_faces(np.zeros((0, 3), np.uint32) if proxy is None else proxy.triangles)
                self._proxies[kind] = (mesh, proxy)
            mesh.visible = proxy is not None
            mesh.uniforms["u_colour"] = _rgb(palette.LASH_ALBEDO if kind == "eyelashes" else look.hair_colour)
        self._show_proxies(self.state.vertices)

    def _update_colours(self, recipe: Recipe) -> None:
        """The palette of the recipe's skin, eye colour and eyebrow style (uniforms), and its hair, eyebrows
        and eyelashes."""
        key = tuple(recipe.choice(g) for g in ("skin", "eye_colour", "eyebrows", "hair", "hair_colour", "eyelashes"))
        if key == self._colour_key:
            return
        self._colour_key = key
        look = appearance_of(recipe)
        self._update_proxies(look)
        skin = np.asarray(palette.SKIN_ALBEDO[look.skin])
        self.skin.uniforms.update(u_skin=_rgb(skin), u_lip=_rgb(skin * np.asarray(palette.LIP_TINT)),
                                  u_brow=_rgb(look.brow_colour))
        self.eyes.uniforms["u_iris"] = _rgb(palette.IRIS_ALBEDO[look.eye_colour])
        self._set_shape(thickness=look.brow_thickness)

    def _set_shape(self, *, thickness: float | None = None, dim: float | None = None) -> None:
        for mesh in self.canvas.meshes:
            iris, pupil, was_thickness, was_dim = mesh.uniforms["u_shape"]
            mesh.uniforms["u_shape"] = (iris, pupil, was_thickness if thickness is None else thickness,
                                        was_dim if dim is None else dim)
        self.canvas.update()

    def _show_banner(self, *_: object) -> None:
        """While a photo is analysed: its stage over a dimmed head. After a photo without a usable face:
        says the head is the default one."""
        busy, analysis = self.state.busy, self.state.analysis
        failed = analysis is not None and analysis.landmarks is None and self.state.predicted is None
        if busy:
            name = self.state.photo.name if self.state.photo else "photo"
            self.banner.setText(f"Analysing {name}: {busy}…")
        elif failed:
            self.banner.setText(f"Default head: {analysis.note or 'no face found'}")
        self.banner.setVisible(bool(busy) or failed)
        self._place_banner()
        self._set_shape(dim=_BUSY_DIM if busy else 1.0)

    def _place_banner(self) -> None:
        top = self.container.geometry()
        self.banner.setGeometry(top.x(), top.y(), top.width(), self.banner.heightForWidth(top.width()))
        self.banner.raise_()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_banner()
        if abs(self.canvas.camera.distance - self._framed) < 1e-6:  # not zoomed by the artist: keep framing
            self._framed = self.framing_distance()
            self.canvas.set_camera(replace(self.canvas.camera, distance=self._framed))

    def _follow_face(self, positions: np.ndarray) -> None:
        """Aim the camera at the middle of the skull, a little below the eyes; only big moves (age, a new
        recipe) re-aim it, so dragging an eye slider does not shake the view."""
        head = positions[self._head_vertices]
        head = head[head[:, 1] > positions[self._eye_vertices, 1].mean() - _SKULL_BELOW_EYES]
        middle = (head.min(axis=0) + head.max(axis=0)) / 2
        target = (float(middle[0]), float(positions[self._eye_vertices, 1].mean() - _AIM_BELOW_EYES), float(middle[2]))
        if np.linalg.norm(np.subtract(target, self.canvas.camera.centre)) > _REAIM_DISTANCE:
            # For the frame being drawn: no other frame asked for.
            self.canvas.camera = replace(self.canvas.camera, centre=target)

    def set_view(self, view: View) -> None:
        """Turn the camera to `view`, framing the head and neck."""
        #: The distance the last framing chose (a resize re-frames unless the artist zoomed since).
        self._framed = self.framing_distance()
        self.canvas.set_camera(replace(self.canvas.camera, azimuth=VIEW_AZIMUTH[view], elevation=5.0,
                                       distance=self._framed))

    def framing_distance(self) -> float:
        """Camera distance (dm) at which `_FRAME_WIDTH` x `_FRAME_HEIGHT` just fills the view (the field of
        view is horizontal)."""
        half = np.tan(np.radians(self.canvas.camera.fov) / 2)
        aspect = max(self.container.height(), 1) / max(self.container.width(), 1)
        return float(max(_FRAME_WIDTH / 2 / half, _FRAME_HEIGHT / 2 / (half * aspect)))

    def set_wireframe(self, on: bool) -> None:
        if self.wireframe_button.isChecked() != on:
            self.wireframe_button.setChecked(on)  # re-enters through `toggled`
            return
        self.skin.wireframe = self.eyes.wireframe = on
        self.canvas.update()

    def snapshot(self) -> QImage:
        """The current 3D view as an image (what the artist sees, at the widget's resolution)."""
        if not self.canvas.isValid():
            raise F2PError("the 3D view has not been drawn yet")
        return self.canvas.render_image()

    def paint_into(self, grab: QPixmap, grabbed: QWidget) -> None:
        """Draw the 3D view into `grab`, a `grabbed.grab()` of a widget that contains this view."""
        if not self.container.isVisible() or not self.canvas.isValid():
            return
        painter = QPainter(grab)
        frame = self.snapshot()
        painter.drawImage(self.container.mapTo(grabbed, QPoint(0, 0)), frame)
        painter.end()


def _bottom_fade(positions: np.ndarray) -> np.ndarray:
    """Per vertex of (N, 3) Y-up positions: 0 up to `_FADE_START` above the bust's lowest point, rising
    smoothly to 1 over `_FADE_HEIGHT` (fixed per vertex, so the fade follows the shoulders as they change)."""
    t = np.clip((positions[:, 1] - positions[:, 1].min() - _FADE_START) / _FADE_HEIGHT, 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)
