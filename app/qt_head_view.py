"""3D preview of the head: pyqtgraph GLViewWidget showing the engine's mesh for the current recipe.

The mesh topology (`head_mesh()`) is fixed; only positions change, so every recipe change uploads
new positions and normals into the same MeshData.

The view is pyqtgraph's GL view on a QOpenGLWindow in a window container, not the QOpenGLWidget
`GLViewWidget`: a QOpenGLWidget makes Qt compose the *whole* top-level window through GL on every
frame (all of the 1520x920 window textured and blended in software GL under Xvfb); a native GL
child window redraws only itself. A window container grabs as an empty rectangle, so
`QtHeadView.paint_into` draws the GL frame into grabs of the window. Normals come from the engine
(`render.renderer.VertexNormals`, the renderer's own); pyqtgraph's per-vertex loop would take tens
of milliseconds per frame.

The look comes from the engine's palette (`render.palette`), as in the dataset renderer: skin and
lips of the chosen skin, eyebrows of the chosen style (the renderer's eyebrow band and its
coordinates), and eyeballs with sclera, iris in the chosen colour and pupil, drawn per pixel from
the direction from the eyeball's centre. As in the renderer, skin is lit per vertex and only the
eyebrow hair and the eyeballs are shaded per pixel, by two programs (software GL pays for every
instruction of a fragment shader on every pixel). Per vertex the skin's colour attribute carries
(lip weight, along-brow, across-brow, fade). pyqtgraph's built-in "shaded" shader
lights normals that point *away* from the camera, so the head uses its own shader, written for
the outward normals of hm08's counter-clockwise triangles.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import Literal

import numpy as np
import pyqtgraph.opengl as gl
from OpenGL import GL
from pyqtgraph.opengl import shaders
from pyqtgraph.opengl.GLViewWidget import GLViewMixin
from pyqtgraph.opengl.items.GLMeshItem import DirtyFlag
from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import (
    QImage,
    QMouseEvent,
    QOffscreenSurface,
    QOpenGLContext,
    QPainter,
    QPixmap,
    QResizeEvent,
    QSurfaceFormat,
    QVector3D,
)
from PySide6.QtOpenGL import QOpenGLWindow
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.state import StudioState
from f2p_engine.errors import F2PError
from f2p_engine.headmodel.mesh import head_mesh
from f2p_engine.headmodel.proxies import PROXY_KINDS, Proxy, default_proxies
from f2p_engine.headmodel.schema import NO_HAIR
from f2p_engine.recipe import Recipe
from f2p_engine.render import palette
from f2p_engine.render.regions import region_map
from f2p_engine.render.renderer import VertexNormals
from f2p_engine.render.scene import VIEW_YAW, Appearance, View, appearance_of

#: Camera azimuth of the front view, degrees: the head is shown Z up (pyqtgraph's convention) facing -Y.
_FRONT_AZIMUTH = -90.0
#: Camera azimuth per engine view: the engine's yaw turns the head, here the camera orbits the other way.
VIEW_AZIMUTH: dict[View, float] = {view: _FRONT_AZIMUTH + yaw for view, yaw in VIEW_YAW.items()}
#: What the views frame (dm): the head and neck, from a little above the crown to the neck, and the
#: head's width with the ears and a margin (its depth, seen from the side, is about the same).
_FRAME_HEIGHT = 3.3
_FRAME_WIDTH = 2.6
#: Horizontal field of view, degrees: a portrait lens (pyqtgraph's 60 degrees, close up, swells the nose).
_FOV = 30.0
#: The camera aims at the middle of the skull in plan (so turned views orbit the head, not the
#: shoulders) and `_AIM_BELOW_EYES` dm below the eyes (the middle of the frame), and re-aims when that
#: point moves more than `_REAIM_DISTANCE`. Only skin above `_SKULL_BELOW_EYES` below the eyes is skull.
_AIM_BELOW_EYES = 0.35
_SKULL_BELOW_EYES = 1.3
_REAIM_DISTANCE = 0.15
#: Software GL (Mesa's llvmpipe) pays for every pixel: while the artist drags (a slider or the camera) it
#: draws drafts at `_DRAFT_SCALE` of the view's resolution, upscaled, without anti-aliasing; the full frame
#: (full resolution, multisampled) follows when the drag ends or pauses for `_PAUSE_MS`. Other changes (a
#: click, a choice, undo) draw at full resolution at once and are smoothed `_SMOOTH_AFTER_MS` after the last
#: one (multisampling doubles llvmpipe's frame time; not behind a live preview's stream of recipes).
_DRAFT_SCALE = 0.5
_PAUSE_MS = 150
_SMOOTH_AFTER_MS = 1000
_SAMPLES = 4
#: How far the old head fades towards the background while a photo is analysed.
_BUSY_DIM = 0.35
_BACKGROUND = (46, 48, 54)
#: The bust ends in a jagged cut through the shoulders' quads (teeth up to ~0.25 dm): it is drawn in
#: the background colour up to `_FADE_START` above its lowest point, then fades in over
#: `_FADE_HEIGHT` (decimetres), so the cut does not draw the eye (view only: the mesh is unchanged).
_FADE_START = 0.25
_FADE_HEIGHT = 0.8

# The lighting of the preview (eye space: the camera looks down -z): key, fill and rim, in GLSL.
_LIGHTING = """
    vec3 lighting(vec3 n) {  // (diffuse factor, rim, 0)
        float key = max(dot(n, normalize(vec3(-0.45, 0.55, 0.75))), 0.0);
        float fill = max(dot(n, normalize(vec3(0.7, -0.1, 0.6))), 0.0);
        return vec3(0.30 + 0.85 * key + 0.30 * fill, 0.08 * pow(1.0 - max(n.z, 0.0), 3.0), 0.0);
    }
    vec3 rgb(float c[3]) { return vec3(c[0], c[1], c[2]); }
"""
# Output: gamma 2 as the renderer; alpha is not transparency but how far the bust fades into the background.
_OUTPUT = """
    vec4 shade(vec3 albedo, vec3 light, float fade) {
        vec3 lit = min(sqrt(min(albedo * light.x, vec3(1.0))) + vec3(light.y), vec3(1.0));
        return vec4(mix(rgb(u_background), lit, fade * u_shape[3]), 1.0);
    }
"""
_UNIFORMS = """
    // pyqtgraph loads extra uniforms as float arrays.
    uniform float u_background[3];
    uniform float u_shape[4];  // iris sine, pupil sine, brow thickness, dim
"""


def _skin_shader() -> shaders.ShaderProgram:
    """Skin and lips lit per vertex (llvmpipe pays per pixel for every instruction), eyebrow hair per pixel.
    A fresh program per view: the palette uniforms belong to one view's head."""
    return shaders.ShaderProgram("f2p_skin", [
        shaders.VertexShader("""
            uniform mat4 u_mvp;
            uniform mat3 u_normal;
            uniform float u_skin[3];
            uniform float u_lip[3];
            attribute vec4 a_position;
            attribute vec3 a_normal;
            attribute vec4 a_color;  // lip weight, along-brow, across-brow, fade
            varying vec3 v_albedo;
            varying vec3 v_light;
            varying vec3 v_paint;
        """ + _LIGHTING + """
            void main() {
                v_light = lighting(normalize(u_normal * a_normal));
                v_albedo = mix(rgb(u_skin), rgb(u_lip), a_color.x);
                v_paint = a_color.yzw;
                gl_Position = u_mvp * a_position;
            }
        """),
        shaders.FragmentShader("""
            #ifdef GL_ES
            precision mediump float;
            #endif
            uniform float u_brow[3];
        """ + _UNIFORMS + """
            varying vec3 v_albedo;
            varying vec3 v_light;
            varying vec3 v_paint;
            vec3 rgb(float c[3]) { return vec3(c[0], c[1], c[2]); }
        """ + _OUTPUT + """
            void main() {
                float across = 1.0 - smoothstep(0.6, 1.0, abs(v_paint.y) / u_shape[2]);
                float ends = smoothstep(0.0, 0.08, v_paint.x) * (1.0 - smoothstep(0.85, 1.0, v_paint.x));
                gl_FragColor = shade(mix(v_albedo, rgb(u_brow), across * ends), v_light, v_paint.z);
            }
        """),
    ], uniforms={"u_background": [c / 255 for c in _BACKGROUND], "u_shape": [0.0, 0.0, 1.0, 1.0]})


def _eye_shader() -> shaders.ShaderProgram:
    """Eyeballs per pixel: sclera, iris and pupil around the gaze axis (+z of the head), from the direction
    of the point from its eyeball's centre (exact per pixel, unlike interpolated normals)."""
    return shaders.ShaderProgram("f2p_eyes", [
        shaders.VertexShader("""
            uniform mat4 u_mvp;
            uniform mat3 u_normal;
            attribute vec4 a_position;
            attribute vec3 a_normal;
            varying vec3 v_normal;
            varying vec3 v_model;
            void main() {
                v_normal = normalize(u_normal * a_normal);
                v_model = a_position.xyz;
                gl_Position = u_mvp * a_position;
            }
        """),
        shaders.FragmentShader("""
            #ifdef GL_ES
            precision mediump float;
            #endif
            uniform float u_iris[3];
            uniform float u_sclera[3];
            uniform float u_pupil[3];
            uniform float u_eyes[6];  // eyeball centres (model frame): left (+x), right
        """ + _UNIFORMS + """
            varying vec3 v_normal;
            varying vec3 v_model;
        """ + _LIGHTING + _OUTPUT + """
            void main() {
                vec3 centre = v_model.x > 0.0 ? vec3(u_eyes[0], u_eyes[1], u_eyes[2])
                                              : vec3(u_eyes[3], u_eyes[4], u_eyes[5]);
                vec3 d = normalize(v_model - centre);
                float radius = sqrt(max(0.0, 1.0 - d.z * d.z));
                vec3 albedo = rgb(u_sclera);
                if (d.z > 0.0 && radius < u_shape[0])
                    albedo = mix(rgb(u_iris), rgb(u_iris) * 0.4, smoothstep(u_shape[0] - 0.1, u_shape[0], radius));
                if (d.z > 0.0 && radius < u_shape[1]) albedo = rgb(u_pupil);
                gl_FragColor = shade(albedo, lighting(normalize(v_normal)), 1.0);
            }
        """),
    ], uniforms={"u_background": [c / 255 for c in _BACKGROUND], "u_sclera": list(palette.SCLERA_ALBEDO),
                 "u_pupil": list(palette.PUPIL_ALBEDO), "u_eyes": [0.0] * 6,
                 "u_shape": [palette.IRIS_SINE, palette.PUPIL_SINE, 1.0, 1.0]})


def _proxy_shader() -> shaders.ShaderProgram:
    """Hair, eyebrows and eyelashes (MakeHuman's proxies): one colour, lit per vertex from the side facing
    the camera (the shells are seen from both sides)."""
    return shaders.ShaderProgram("f2p_proxy", [
        shaders.VertexShader("""
            uniform mat4 u_mvp;
            uniform mat3 u_normal;
            attribute vec4 a_position;
            attribute vec3 a_normal;
            varying vec3 v_light;
        """ + _LIGHTING + """
            void main() {
                vec3 n = normalize(u_normal * a_normal);
                v_light = lighting(n.z < 0.0 ? -n : n);
                gl_Position = u_mvp * a_position;
            }
        """),
        shaders.FragmentShader("""
            #ifdef GL_ES
            precision mediump float;
            #endif
            uniform float u_colour[3];
        """ + _UNIFORMS + """
            varying vec3 v_light;
            vec3 rgb(float c[3]) { return vec3(c[0], c[1], c[2]); }
        """ + _OUTPUT + """
            void main() { gl_FragColor = shade(rgb(u_colour), v_light, 1.0); }
        """),
    ], uniforms={"u_background": [c / 255 for c in _BACKGROUND], "u_shape": [0.0, 0.0, 1.0, 1.0],
                 "u_colour": list(palette.LASH_ALBEDO)})


class _HeadMeshData(gl.MeshData):
    """MeshData whose vertex normals are supplied (see the module docstring) instead of computed."""

    def __init__(self, faces: np.ndarray) -> None:
        super().__init__()
        self.setFaces(faces)
        self._normals = np.zeros((0, 3), dtype=np.float32)

    def set_positions(self, positions: np.ndarray, normals: np.ndarray) -> None:
        self.setVertexes(positions)
        self._normals = normals

    def vertexNormals(self, indexed=None):
        return self._normals if indexed is None else self._normals[self.faces()]


class _MeshItem(gl.GLMeshItem):
    """GLMeshItem that, when only its vertices move (`positions_changed`), re-uploads positions and normals
    (and the wireframe's vertices) but not the faces and per-vertex paint, which a recipe never changes.

    With `cull_in_drafts` (a closed surface seen from outside: the skin) drafts skip its back faces: a
    third of a draft's time on llvmpipe, and the front, three-quarter and side views differ in at most
    2 pixels (full frames draw every face: a fold's flipped triangles show as they are)."""

    cull_in_drafts = False

    def __init__(self, **kwds) -> None:
        super().__init__(**kwds)
        self._moved = False

    def setupGLState(self) -> None:
        super().setupGLState()  # "opaque" turns culling off
        view = self.view()
        if self.cull_in_drafts and view is not None and view.drawing == "draft":
            GL.glEnable(GL.GL_CULL_FACE)

    def positions_changed(self) -> None:
        """The meshdata's positions and normals were replaced (same vertex count)."""
        if self.vertexes is not None:  # else nothing is parsed yet: the next paint parses everything
            meshdata = self.opts["meshdata"]
            self.vertexes, self.normals = meshdata.vertexes(), meshdata.vertexNormals()
            if self.opts["drawEdges"]:
                self.edgeVerts = self.vertexes
            self._moved = True
        self.update()

    def parseMeshData(self) -> DirtyFlag:
        dirty = super().parseMeshData()
        if self._moved:
            self._moved = False
            dirty |= DirtyFlag.POSITION | DirtyFlag.NORMAL
            if self.opts["drawEdges"]:
                dirty |= DirtyFlag.EDGE_VERTS
        return dirty


@functools.cache
def _proxy_normals(proxy: Proxy) -> VertexNormals:
    """Normals on a proxy's own vertices (UV seams split render vertices, not the surface), set up once."""
    return VertexNormals(proxy.render_vertex[proxy.triangles], len(proxy.refs))


def surface_format() -> QSurfaceFormat:
    """The 3D view's GL surface: a 24-bit depth buffer, and 4x multisampling on hardware GL (software GL,
    Mesa's llvmpipe, shades every sample: a drag step took 224 ms instead of 111 ms with it; it smooths
    settled frames only, see `_Canvas`)."""
    surface = QSurfaceFormat.defaultFormat()
    surface.setDepthBufferSize(24)
    surface.setSamples(0 if software_gl() else _SAMPLES)
    return surface


@functools.cache
def software_gl() -> bool:
    """Whether the platform's OpenGL is a software rasteriser (asked once, of a throwaway context)."""
    context, surface = QOpenGLContext(), QOffscreenSurface()
    surface.create()
    if not context.create() or not context.makeCurrent(surface):
        return True
    try:
        renderer = (GL.glGetString(GL.GL_RENDERER) or b"").lower()
    finally:
        context.doneCurrent()
    return any(name in renderer for name in (b"llvmpipe", b"softpipe", b"swrast", b"software"))


#: How a frame is drawn on software GL: "draft" during a drag (reduced resolution), "plain" (full resolution),
#: "full" (full resolution, multisampled: what a settled view shows). Hardware GL draws every frame
#: multisampled at full resolution.
FrameQuality = Literal["draft", "plain", "full"]


class _Canvas(GLViewMixin, QOpenGLWindow):
    """pyqtgraph's GL view (orbit, zoom, items) as a QOpenGLWindow; reports each frame's draw time (ms).

    Anti-aliased on every GL stack: hardware GL multisamples the window itself (`surface_format`);
    software GL draws into offscreen framebuffers, drafts and full frames (see `FrameQuality` and
    `_DRAFT_SCALE`), and so do snapshots (always full)."""

    frame_drawn = Signal(float)

    def __init__(self) -> None:
        super().__init__()
        # Without this the window's surface may come without a depth buffer (Xvfb's default visual has
        # none): the depth test then passes everything and the back of the head draws over the face.
        self.setFormat(surface_format())
        # Keyboard focus stays with the widgets, so the window's shortcuts keep working over the view.
        self.setFlag(Qt.WindowType.WindowDoesNotAcceptFocus)
        #: How the next frame is drawn, how the frame being drawn is (items read it), and how the one on screen was.
        self.quality: FrameQuality = "plain"
        self.drawing: FrameQuality = "plain"
        self.shown: FrameQuality | None = None
        #: Drags in progress ("slider", "camera"): frames are drafts meanwhile.
        self._drags: set[str] = set()
        self._offscreen: dict[FrameQuality, tuple[int, int, int, int, int]] = {}  # fbo, colour, depth, w, h
        #: Brings the scene up to date just before a frame is drawn (the head view applies the newest mesh
        #: here: one mesh per frame, however many recipes a fast drag sent since the last one).
        self.prepare: Callable[[], None] = lambda: None
        self._preparing = False
        self._settle = QTimer(self, singleShot=True)
        self._settle.timeout.connect(self._draw_full)

    def devicePixelRatioF(self) -> float:  # the QWidget spelling GLViewMixin uses
        return self.devicePixelRatio()

    def update(self) -> None:
        """Every redraw request (mesh, camera, colours) starts a quick frame; the full one follows. What
        `prepare` changes shows in the frame being drawn: it asks for none."""
        if self.__dict__.get("_preparing"):
            return
        settle = self.__dict__.get("_settle")  # absent while GLViewMixin's constructor asks for a frame
        if settle is not None and software_gl():
            self.quality = "draft" if self._drags else "plain"
            settle.start(_PAUSE_MS if self._drags else _SMOOTH_AFTER_MS)
        super().update()

    def set_dragging(self, what: str, on: bool) -> None:
        """A drag of `what` ("slider", "camera") starts or ends; when the last one ends the full frame is
        drawn at once."""
        if on:
            self._drags.add(what)
        elif what in self._drags:
            self._drags.discard(what)
            if not self._drags and software_gl() and self.shown != "full":
                self._settle.stop()
                self._draw_full()

    def mousePressEvent(self, ev: QMouseEvent) -> None:
        super().mousePressEvent(ev)
        self.set_dragging("camera", True)

    def mouseReleaseEvent(self, ev: QMouseEvent) -> None:
        super().mouseReleaseEvent(ev)
        if ev.buttons() == Qt.MouseButton.NoButton:
            self.set_dragging("camera", False)

    def _draw_full(self) -> None:
        self.quality = "full"
        QOpenGLWindow.update(self)

    def _framebuffer(self, quality: FrameQuality, width: int, height: int) -> int:
        """The offscreen framebuffer of `quality` frames, `width` x `height` (made or remade as needed)."""
        made = self._offscreen.get(quality)
        if made is not None and made[3:] == (width, height):
            return made[0]
        self._release(quality)
        samples = _SAMPLES if quality == "full" else 0
        fbo, colour, depth = GL.glGenFramebuffers(1), *GL.glGenRenderbuffers(2)
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, colour)
        GL.glRenderbufferStorageMultisample(GL.GL_RENDERBUFFER, samples, GL.GL_RGBA8, width, height)
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, depth)
        GL.glRenderbufferStorageMultisample(GL.GL_RENDERBUFFER, samples, GL.GL_DEPTH_COMPONENT24, width, height)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
        GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_RENDERBUFFER, colour)
        GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, GL.GL_RENDERBUFFER, depth)
        self._offscreen[quality] = (int(fbo), int(colour), int(depth), width, height)
        return int(fbo)

    def _release(self, quality: FrameQuality) -> None:
        if (made := self._offscreen.pop(quality, None)) is not None:
            GL.glDeleteFramebuffers(1, [made[0]])
            GL.glDeleteRenderbuffers(2, list(made[1:3]))

    def _paint_offscreen(self, quality: FrameQuality, target: int, width: int, height: int) -> None:
        """Draw the scene into the offscreen framebuffer of `quality` (a draft at `_DRAFT_SCALE` of the
        size, or multisampled at full size) and resolve or upscale it into `target`, `width` x `height`."""
        scale = _DRAFT_SCALE if quality == "draft" else 1.0
        drawn_w, drawn_h = max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))
        fbo = self._framebuffer(quality, drawn_w, drawn_h)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
        GL.glViewport(0, 0, drawn_w, drawn_h)
        # The projection of the whole view (its aspect), rasterised into the smaller viewport.
        self.paint(region=(0, 0, width, height), viewport=(0, 0, width, height))
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, fbo)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, target)
        GL.glBlitFramebuffer(0, 0, drawn_w, drawn_h, 0, 0, width, height, GL.GL_COLOR_BUFFER_BIT,
                             GL.GL_NEAREST if scale == 1.0 else GL.GL_LINEAR)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, target)

    def _draw(self, target: int, width: int, height: int, quality: FrameQuality) -> None:
        self.drawing = quality if software_gl() else "plain"
        if self.drawing != "plain":
            self._paint_offscreen(quality, target, width, height)
        else:
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, target)
            GL.glViewport(0, 0, width, height)
            self.paint(region=(0, 0, width, height), viewport=(0, 0, width, height))

    def render_image(self) -> QImage:
        """The current scene drawn now into the window's own back buffer (smoothed as a settled frame) and
        read back, at the window's device size. The back buffer is read before any swap, so its content is
        defined."""
        self._prepare()
        self.makeCurrent()
        try:
            width, height = self.deviceWidth(), self.deviceHeight()
            self._draw(self.defaultFramebufferObject(), width, height, "full")
            GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
            pixels = GL.glReadPixels(0, 0, width, height, GL.GL_RGB, GL.GL_UNSIGNED_BYTE)
        finally:
            self.doneCurrent()
        rows = np.frombuffer(pixels, dtype=np.uint8).reshape(height, width, 3)[::-1]  # GL rows run bottom-up
        image = QImage(np.ascontiguousarray(rows).data, width, height, width * 3, QImage.Format.Format_RGB888).copy()
        image.setDevicePixelRatio(self.devicePixelRatio())
        return image

    def _prepare(self) -> None:
        self._preparing = True
        try:
            self.prepare()
        finally:
            self._preparing = False

    def paintGL(self) -> None:
        self._prepare()
        start = time.perf_counter()
        self._draw(self.defaultFramebufferObject(), self.deviceWidth(), self.deviceHeight(), self.quality)
        self.shown = self.quality
        self.frame_drawn.emit((time.perf_counter() - start) * 1000)


class QtHeadView(QWidget):
    """The head preview with view buttons, wireframe and overlay toggles and a banner (analysing, or
    the default head after a failed photo); follows `state.mesh_changed`."""

    def __init__(self, state: StudioState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        asset = state.head_model.asset
        self._topology = head_mesh(asset)
        self.canvas = _Canvas()
        self.canvas.setBackgroundColor(_BACKGROUND)
        self.canvas.opts["fov"] = _FOV
        self.container = QWidget.createWindowContainer(self.canvas, self)
        self.container.setMinimumSize(320, 320)
        triangles, part = self._topology.triangles, self._topology.part
        # Two items over the same vertices, as the renderer's programs: skin (with the eyebrows) and eyeballs.
        self._meshdata = _HeadMeshData(triangles[part == 0])
        self._eye_meshdata = _HeadMeshData(triangles[part > 0])
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
        self._meshdata.setVertexColors(paint)
        self.shader, self.eye_shader = _skin_shader(), _eye_shader()
        self.item = _MeshItem(meshdata=self._meshdata, smooth=True, shader=self.shader,
                                  glOptions="opaque", edgeColor=(0.1, 0.1, 0.1, 1.0))
        self.eye_item = _MeshItem(meshdata=self._eye_meshdata, smooth=True, shader=self.eye_shader,
                                      glOptions="opaque", edgeColor=(0.1, 0.1, 0.1, 1.0))
        self.item.cull_in_drafts = True
        for item in (self.item, self.eye_item):
            # Engine meshes are Y up; pyqtgraph's camera orbits around Z: turn +Y into +Z.
            item.rotate(90, 1, 0, 0)
            self.canvas.addItem(item)
        # Hair, eyebrows and eyelashes: one item per kind, its faces replaced when the recipe's option changes.
        self._proxy_items: dict[str, tuple[_MeshItem, shaders.ShaderProgram, Proxy | None]] = {}
        for kind in PROXY_KINDS:
            shader = _proxy_shader()
            item = _MeshItem(meshdata=_HeadMeshData(np.zeros((0, 3), np.int32)), smooth=True, shader=shader,
                                 glOptions="opaque", edgeColor=(0.1, 0.1, 0.1, 1.0))
            item.rotate(90, 1, 0, 0)
            self.canvas.addItem(item)
            self._proxy_items[kind] = (item, shader, None)
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
        normals = self._normals(positions).astype(np.float32, copy=False)
        self._meshdata.set_positions(positions, normals)
        self._eye_meshdata.set_positions(positions, normals)
        centres = [float(c) for ids in self._eyeballs for c in positions[ids].mean(axis=0)]
        self.eye_shader.setUniformData("u_eyes", centres)
        self.item.positions_changed()
        self.eye_item.positions_changed()
        self._show_proxies(vertices)
        self._follow_face(positions)
        self.update_ms = (time.perf_counter() - start) * 1000

    def _show_proxies(self, vertices: np.ndarray) -> None:
        """Fit the shown hair, eyebrows and eyelashes to hm08 `vertices` (19158, 3)."""
        for item, _, proxy in self._proxy_items.values():
            if proxy is not None:
                fitted = proxy.fit(vertices)
                normals = _proxy_normals(proxy)(fitted)
                item.opts["meshdata"].set_positions(fitted[proxy.render_vertex],
                                                    normals[proxy.render_vertex].astype(np.float32))
                item.positions_changed()

    def _update_proxies(self, look: Appearance) -> None:
        """Show the hair, eyebrows and eyelashes of `look` (faces, colour), fitted to the current mesh."""
        chosen = {"hair": None if look.hair == NO_HAIR else look.hair, "eyebrows": look.eyebrows,
                  "eyelashes": look.eyelashes}
        proxies = default_proxies()
        for kind, option in chosen.items():
            item, shader, shown = self._proxy_items[kind]
            proxy = None if option is None else proxies.get(kind, option)
            if proxy is not shown:
                faces = np.zeros((0, 3), np.int32) if proxy is None else proxy.triangles
                item.setMeshData(meshdata=_HeadMeshData(faces))
                self._proxy_items[kind] = (item, shader, proxy)
            item.setVisible(proxy is not None)
            shader.setUniformData("u_colour", list(palette.LASH_ALBEDO if kind == "eyelashes" else look.hair_colour))
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
        self.shader.setUniformData("u_skin", list(skin))
        self.shader.setUniformData("u_lip", list(skin * np.asarray(palette.LIP_TINT)))
        self.shader.setUniformData("u_brow", list(look.brow_colour))
        self.eye_shader.setUniformData("u_iris", list(palette.IRIS_ALBEDO[look.eye_colour]))
        self._set_shape(thickness=look.brow_thickness)

    def _set_shape(self, *, thickness: float | None = None, dim: float | None = None) -> None:
        for shader in (self.shader, self.eye_shader, *(s for _, s, _ in self._proxy_items.values())):
            shape = list(shader.uniformData["u_shape"])
            shape[2] = shape[2] if thickness is None else thickness
            shape[3] = shape[3] if dim is None else dim
            shader.setUniformData("u_shape", shape)
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
        if abs(self.canvas.opts["distance"] - self._framed) < 1e-6:  # not zoomed by the artist: keep framing
            self._framed = self.framing_distance()
            self.canvas.setCameraPosition(distance=self._framed)

    def _follow_face(self, positions: np.ndarray) -> None:
        """Aim the camera at the middle of the skull, a little below the eyes; only big moves (age, a new
        recipe) re-aim it, so dragging an eye slider does not shake the view."""
        head = positions[self._head_vertices]
        head = head[head[:, 1] > positions[self._eye_vertices, 1].mean() - _SKULL_BELOW_EYES]
        middle = (head.min(axis=0) + head.max(axis=0)) / 2
        x, z = middle[0], middle[2]
        y = positions[self._eye_vertices, 1].mean() - _AIM_BELOW_EYES
        target = QVector3D(float(x), float(-z), float(y))  # the item's rotation maps (x, y, z) to (x, -z, y)
        if (target - self.canvas.opts["center"]).length() > _REAIM_DISTANCE:
            self.canvas.opts["center"] = target  # for the frame being drawn: no other frame asked for

    def set_view(self, view: View) -> None:
        """Turn the camera to `view`, framing the head and neck."""
        #: The distance the last framing chose (a resize re-frames unless the artist zoomed since).
        self._framed = self.framing_distance()
        self.canvas.setCameraPosition(azimuth=VIEW_AZIMUTH[view], elevation=5.0, distance=self._framed)

    def framing_distance(self) -> float:
        """Camera distance (dm) at which `_FRAME_WIDTH` x `_FRAME_HEIGHT` just fills the view (pyqtgraph's
        field of view is horizontal)."""
        half = np.tan(np.radians(self.canvas.opts["fov"]) / 2)
        aspect = max(self.container.height(), 1) / max(self.container.width(), 1)
        return float(max(_FRAME_WIDTH / 2 / half, _FRAME_HEIGHT / 2 / (half * aspect)))

    def set_wireframe(self, on: bool) -> None:
        if self.wireframe_button.isChecked() != on:
            self.wireframe_button.setChecked(on)  # re-enters through `toggled`
            return
        self.item.setMeshData(meshdata=self._meshdata, drawEdges=on)
        self.eye_item.setMeshData(meshdata=self._eye_meshdata, drawEdges=on)

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
