"""The studio's GL view: triangle meshes drawn by GLSL 3.30 programs on a QOpenGLWindow, seen through an
orbit camera (`app.orbit_camera`) the mouse drives: left drag orbits, Ctrl + left drag pans in the view's
plane, middle drag pans over the ground (with Ctrl: sideways and up), the wheel zooms (with Ctrl: the
field of view).

Drawing goes through moderngl (the engine's renderer uses it too) wrapped round the window's own GL
context: Qt's `getProcAddress` hands moderngl every GL function, so it works wherever Qt's context does
(GLX, EGL, WGL, CGL). Importing it takes ~10 ms; pyqtgraph's GL view and PyOpenGL, which this replaces,
took ~0.65 s of the studio's start-up.

It is a QOpenGLWindow in a window container, not a QOpenGLWidget: a QOpenGLWidget makes Qt compose the
*whole* top-level window through GL on every frame (all of the 1520x920 window textured and blended in
software GL under Xvfb); a native GL child window redraws only itself.

Software GL (Mesa's llvmpipe) pays for every pixel: while the artist drags (a slider or the camera) the
view draws drafts at `_DRAFT_SCALE` of its resolution, upscaled, without anti-aliasing; the full frame
(full resolution, multisampled) follows when the drag ends or pauses for `_PAUSE_MS`. Other changes (a
click, a choice, undo) draw at full resolution at once and are smoothed `_SMOOTH_AFTER_MS` after the last
one (multisampling doubles llvmpipe's frame time; not behind a live preview's stream of recipes).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import moderngl
import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QImage,
    QMouseEvent,
    QOffscreenSurface,
    QOpenGLContext,
    QSurfaceFormat,
    QWheelEvent,
)
from PySide6.QtOpenGL import QOpenGLWindow

from app.orbit_camera import Orbit

_DRAFT_SCALE = 0.5
_PAUSE_MS = 150
_SMOOTH_AFTER_MS = 1000
_SAMPLES = 4
#: Wheel zoom: the distance (or with Ctrl the field of view) shrinks by this factor per wheel unit
#: (120 units a notch: 11 % closer).
_ZOOM_PER_UNIT = 0.999
# The few GL enums the view passes through Qt's functions (moderngl names its own).
_GL_RENDERER = 0x1F01
_GL_READ_FRAMEBUFFER = 0x8CA8
_GL_DRAW_FRAMEBUFFER = 0x8CA9
_GL_COLOR_BUFFER_BIT = 0x4000
_GL_NEAREST = 0x2600
_GL_LINEAR = 0x2601


@dataclass(frozen=True, slots=True)
class Shader:
    """The GLSL 3.30 sources of one program. It may read the attributes `a_position` (vec3), `a_normal`
    (vec3) and `a_paint` (vec4); it is given `u_mvp` (mat4: model to clip space), `u_normal` (mat3: model
    normals to eye space) and its mesh's `uniforms`."""

    vertex: str
    fragment: str


#: Wireframe edges: one flat colour.
_EDGES = Shader(
    vertex="""
        #version 330 core
        uniform mat4 u_mvp;
        in vec3 a_position;
        void main() { gl_Position = u_mvp * vec4(a_position, 1.0); }
    """,
    fragment="""
        #version 330 core
        out vec4 f_colour;
        void main() { f_colour = vec4(0.1, 0.1, 0.1, 1.0); }
    """,
)
#: Per-vertex arrays: (name, moderngl format, the attribute that reads it).
_ATTRIBUTES = (("positions", "3f", "a_position"), ("normals", "3f", "a_normal"), ("paint", "4f", "a_paint"))


class GLMesh:
    """Triangles drawn by one `Shader`: positions and normals per vertex (replaced whenever the shape
    changes), fixed per-vertex paint, faces (replaced when a proxy changes) and the shader's `uniforms`
    (name -> value as moderngl takes it). Arrays go to GL with the next frame, only those that changed;
    a buffer of the same size is rewritten in place.

    With `cull_in_drafts` (a closed surface seen from outside: the skin) drafts skip its back faces: a
    third of a draft's time on llvmpipe, and the front, three-quarter and side views differ in at most
    2 pixels (full frames draw every face: a fold's flipped triangles show as they are). `depth_bias`:
    glPolygonOffset (factor, units) of its triangles, for a surface lying on another one."""

    def __init__(self, shader: Shader, faces: np.ndarray, *, paint: np.ndarray | None = None,
                 cull_in_drafts: bool = False, depth_bias: tuple[float, float] = (0.0, 0.0)) -> None:
        self.shader = shader
        self.depth_bias = depth_bias
        self.uniforms: dict[str, object] = {}
        self.visible = True
        self.wireframe = False
        self.cull_in_drafts = cull_in_drafts
        #: (N, 3) float32 vertex positions and normals, (N, 4) float32 paint, (M, 3) uint32 triangles.
        self.positions = np.zeros((0, 3), np.float32)
        self.normals = np.zeros((0, 3), np.float32)
        self.paint = None if paint is None else np.ascontiguousarray(paint, dtype=np.float32)
        self.faces = np.zeros((0, 3), np.uint32)
        self._changed: set[str] = set() if paint is None else {"paint"}
        self._buffers: dict[str, moderngl.Buffer] = {}
        self._vertex_arrays: dict[Shader, moderngl.VertexArray] = {}
        self.set_faces(faces)

    def set_faces(self, faces: np.ndarray) -> None:
        """(M, 3) vertex indices, counter-clockwise seen from outside."""
        self.faces = np.ascontiguousarray(faces, dtype=np.uint32)
        self._changed |= {"faces", "edges"}

    def set_positions(self, positions: np.ndarray, normals: np.ndarray) -> None:
        """(N, 3) positions and unit normals of the vertices."""
        self.positions = np.ascontiguousarray(positions, dtype=np.float32)
        self.normals = np.ascontiguousarray(normals, dtype=np.float32)
        self._changed |= {"positions", "normals"}

    def _array(self, name: str) -> np.ndarray:
        if name == "edges":  # each edge once, however many triangles share it
            pairs = np.sort(self.faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
            return np.unique(pairs, axis=0).astype(np.uint32)
        return getattr(self, name)

    def _write_buffers(self, gl: moderngl.Context, names: set[str]) -> None:
        """Upload the arrays `names`: rewritten in place when the size is unchanged, else new buffers (and
        vertex arrays over them)."""
        for name in names:
            data = self._array(name)
            buffer = self._buffers.get(name)
            if buffer is not None and buffer.size == data.nbytes:
                buffer.write(data)
                continue
            if buffer is not None:
                buffer.release()
            self._buffers[name] = gl.buffer(data)
            for vertex_array in self._vertex_arrays.values():
                vertex_array.release()
            self._vertex_arrays.clear()

    def _vertex_array(self, gl: moderngl.Context, shader: Shader, program: moderngl.Program,
                      indices: str) -> moderngl.VertexArray:
        if shader not in self._vertex_arrays:
            content = [(self._buffers[name], layout, attribute) for name, layout, attribute in _ATTRIBUTES
                       if program.get(attribute, None) is not None]
            self._vertex_arrays[shader] = gl.vertex_array(program, content, self._buffers[indices],
                                                          index_element_size=4)
        return self._vertex_arrays[shader]

    def draw(self, gl: moderngl.Context, program: Callable[[Shader], moderngl.Program], mvp: np.ndarray,
             normal: np.ndarray, draft: bool) -> None:
        """Draw with `mvp` (4, 4) and `normal` (3, 3) matrices; `program` compiles (once) a shader."""
        if not self.visible or not len(self.faces) or not len(self.positions):
            return
        changed = self._changed - ({"edges"} if not self.wireframe else set())
        if changed:
            self._write_buffers(gl, changed)
            self._changed -= changed
        passes = [(self.shader, "faces", moderngl.TRIANGLES, self.faces.size)]
        if self.wireframe:
            passes.append((_EDGES, "edges", moderngl.LINES, self._buffers["edges"].size // 4))
        if self.cull_in_drafts and draft:
            gl.enable(moderngl.CULL_FACE)
        gl.polygon_offset = self.depth_bias
        for shader, indices, mode, count in passes:
            compiled = program(shader)
            compiled["u_mvp"].write(mvp.T.astype(np.float32).tobytes())  # GLSL matrices are column-major
            uniforms = {"u_normal": tuple(normal.T.ravel()), **self.uniforms}
            for name, value in uniforms.items():
                if (uniform := compiled.get(name, None)) is not None:
                    uniform.value = value
            self._vertex_array(gl, shader, compiled, indices).render(mode, vertices=count)
        gl.disable(moderngl.CULL_FACE)
        gl.polygon_offset = (0.0, 0.0)


class _QtFunctions:
    """moderngl's loader protocol over a QOpenGLContext: moderngl finds every GL function through Qt,
    for the context Qt makes current (Qt makes it current before every frame, so entering does nothing)."""

    def __init__(self, context: QOpenGLContext) -> None:
        self._context = context

    def load_opengl_function(self, name: str) -> int:
        return self._context.getProcAddress(name.encode()) or 0

    def __enter__(self) -> None:
        pass

    def __exit__(self, *_: object) -> None:
        pass

    def release(self) -> None:
        pass


def surface_format() -> QSurfaceFormat:
    """The view's GL surface: OpenGL 3.3 core (what moderngl needs; macOS gives 2.1 unless asked), a
    24-bit depth buffer, and 4x multisampling on hardware GL (software GL, Mesa's llvmpipe, shades every
    sample: a drag step took 224 ms instead of 111 ms with it; it smooths settled frames only)."""
    surface = QSurfaceFormat.defaultFormat()
    surface.setVersion(3, 3)
    surface.setProfile(QSurfaceFormat.OpenGLContextProfile.CoreProfile)
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
        renderer = (context.functions().glGetString(_GL_RENDERER) or "").lower()
    finally:
        context.doneCurrent()
    return any(name in renderer for name in ("llvmpipe", "softpipe", "swrast", "software"))


#: How a frame is drawn on software GL: "draft" during a drag (reduced resolution), "plain" (full resolution),
#: "full" (full resolution, multisampled: what a settled view shows). Hardware GL draws every frame
#: multisampled at full resolution.
FrameQuality = Literal["draft", "plain", "full"]


class GLCanvas(QOpenGLWindow):
    """`meshes` seen by `camera` over a `background` colour (0-255 RGB); reports each frame's draw time (ms).

    Anti-aliased on every GL stack: hardware GL multisamples the window itself (`surface_format`);
    software GL draws into offscreen framebuffers, drafts and full frames (see `FrameQuality` and
    `_DRAFT_SCALE`), and so do snapshots (always full)."""

    frame_drawn = Signal(float)

    def __init__(self, background: tuple[int, int, int], camera: Orbit) -> None:
        super().__init__()
        # Without this the window's surface may come without a depth buffer (Xvfb's default visual has
        # none): the depth test then passes everything and the back of the head draws over the face.
        self.setFormat(surface_format())
        # Keyboard focus stays with the widgets, so the window's shortcuts keep working over the view.
        self.setFlag(Qt.WindowType.WindowDoesNotAcceptFocus)
        self.background = background
        self.camera = camera
        #: Drawn in this order, each with its own shader.
        self.meshes: list[GLMesh] = []
        #: How the next frame is drawn, how the frame being drawn is, and how the one on screen was.
        self.quality: FrameQuality = "plain"
        self.drawing: FrameQuality = "plain"
        self.shown: FrameQuality | None = None
        #: Brings the scene up to date just before a frame is drawn (the head view applies the newest mesh
        #: here: one mesh per frame, however many recipes a fast drag sent since the last one).
        self.prepare: Callable[[], None] = lambda: None
        self._preparing = False
        #: Drags in progress ("slider", "camera"): frames are drafts meanwhile.
        self._drags: set[str] = set()
        self._mouse: QPointF | None = None
        self._settle = QTimer(self, singleShot=True)
        self._settle.timeout.connect(self._draw_full)
        self._gl: moderngl.Context | None = None
        self._programs: dict[Shader, moderngl.Program] = {}
        self._screen: moderngl.Framebuffer | None = None
        self._offscreen: dict[FrameQuality, moderngl.Framebuffer] = {}

    def set_camera(self, camera: Orbit) -> None:
        self.camera = camera
        self.update()

    def update(self) -> None:
        """Every redraw request (mesh, camera, colours) starts a quick frame; the full one follows. What
        `prepare` changes shows in the frame being drawn: it asks for none."""
        if self._preparing:
            return
        if software_gl():
            self.quality = "draft" if self._drags else "plain"
            self._settle.start(_PAUSE_MS if self._drags else _SMOOTH_AFTER_MS)
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

    def _draw_full(self) -> None:
        self.quality = "full"
        QOpenGLWindow.update(self)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._mouse = event.position()
        self.set_dragging("camera", True)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        position = event.position()
        moved = position - (self._mouse if self._mouse is not None else position)
        self._mouse = position
        dx, dy = moved.x(), moved.y()
        control = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        step = self.camera.pixel_size(self.width())  # the scene under the pointer follows it
        if event.buttons() == Qt.MouseButton.LeftButton and not control:
            self.set_camera(self.camera.orbited(-dx, dy))
        elif event.buttons() == Qt.MouseButton.LeftButton:
            right, up = self.camera.screen_axes()
            self.set_camera(self.camera.panned(step * (up * dy - right * dx)))
        elif event.buttons() == Qt.MouseButton.MiddleButton:
            right, ahead = self.camera.ground_axes()
            away = np.array([0.0, 1.0, 0.0]) if control else ahead
            self.set_camera(self.camera.panned(step * (away * dy - right * dx)))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.buttons() == Qt.MouseButton.NoButton:
            self.set_dragging("camera", False)

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().x() or event.angleDelta().y()
        factor = _ZOOM_PER_UNIT ** delta
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.set_camera(replace(self.camera, fov=self.camera.fov * factor))
        else:
            self.set_camera(replace(self.camera, distance=self.camera.distance * factor))

    def initializeGL(self) -> None:
        self._gl = moderngl.create_context(require=330, context=_QtFunctions(self.context()))

    def _device_size(self) -> tuple[int, int]:
        ratio = self.devicePixelRatio()
        return max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio))

    def _target(self) -> moderngl.Framebuffer:
        """The framebuffer Qt shows the window from (its id can change when the window is re-created)."""
        glo = self.defaultFramebufferObject()
        if self._screen is None or self._screen.glo != glo:
            self._screen = self._gl.detect_framebuffer(glo)
        return self._screen

    def _program(self, shader: Shader) -> moderngl.Program:
        if shader not in self._programs:
            self._programs[shader] = self._gl.program(vertex_shader=shader.vertex, fragment_shader=shader.fragment)
        return self._programs[shader]

    def _framebuffer(self, quality: FrameQuality, size: tuple[int, int]) -> moderngl.Framebuffer:
        """The offscreen framebuffer of `quality` frames, `size` pixels (made or remade as needed)."""
        made = self._offscreen.get(quality)
        if made is not None and made.size == size:
            return made
        if made is not None:
            for attachment in (*made.color_attachments, made.depth_attachment):
                attachment.release()
            made.release()
        samples = _SAMPLES if quality == "full" else 0
        self._offscreen[quality] = self._gl.framebuffer(self._gl.renderbuffer(size, 4, samples=samples),
                                                        self._gl.depth_renderbuffer(size, samples=samples))
        return self._offscreen[quality]

    def _paint_scene(self, framebuffer: moderngl.Framebuffer, size: tuple[int, int], aspect: float) -> None:
        """Clear `framebuffer` and draw the meshes into its `size` pixels, projected for a view `aspect` wide."""
        framebuffer.viewport = (0, 0, *size)
        framebuffer.use()
        self._gl.enable_only(moderngl.DEPTH_TEST)
        framebuffer.clear(*(c / 255 for c in self.background), 1.0, depth=1.0)
        view = self.camera.view_matrix()
        mvp = self.camera.projection_matrix(aspect) @ view
        for mesh in self.meshes:
            mesh.draw(self._gl, self._program, mvp, view[:3, :3], self.drawing == "draft")

    def _blit(self, source: moderngl.Framebuffer, target: moderngl.Framebuffer, size: tuple[int, int]) -> None:
        """Copy `source` (resolving its samples, or upscaling a draft smoothly) into `size` pixels of `target`."""
        functions = self.context().extraFunctions()
        functions.glBindFramebuffer(_GL_READ_FRAMEBUFFER, source.glo)
        functions.glBindFramebuffer(_GL_DRAW_FRAMEBUFFER, target.glo)
        functions.glBlitFramebuffer(0, 0, *source.size, 0, 0, *size, _GL_COLOR_BUFFER_BIT,
                                    _GL_NEAREST if source.size == size else _GL_LINEAR)
        target.use()  # bound through moderngl again, so it knows what is bound

    def _draw(self, target: moderngl.Framebuffer, size: tuple[int, int], quality: FrameQuality) -> None:
        self.drawing = quality if software_gl() else "plain"
        aspect = size[0] / size[1]
        if self.drawing == "plain":
            self._paint_scene(target, size, aspect)
            return
        scale = _DRAFT_SCALE if quality == "draft" else 1.0
        drawn = (max(1, math.ceil(size[0] * scale)), max(1, math.ceil(size[1] * scale)))
        offscreen = self._framebuffer(quality, drawn)
        self._paint_scene(offscreen, drawn, aspect)
        self._blit(offscreen, target, size)

    def _prepare(self) -> None:
        self._preparing = True
        try:
            self.prepare()
        finally:
            self._preparing = False

    def paintGL(self) -> None:
        self._prepare()
        start = time.perf_counter()
        self._draw(self._target(), self._device_size(), self.quality)
        self.shown = self.quality
        self.frame_drawn.emit((time.perf_counter() - start) * 1000)

    def render_image(self) -> QImage:
        """The current scene drawn now into the window's own back buffer (smoothed as a settled frame) and
        read back, at the window's device size. The back buffer is read before any swap, so its content is
        defined."""
        self._prepare()
        self.makeCurrent()
        try:
            size = self._device_size()
            target = self._target()
            self._draw(target, size, "full")
            pixels = target.read(viewport=(0, 0, *size), components=3, alignment=1)
        finally:
            self.doneCurrent()
        width, height = size
        rows = np.frombuffer(pixels, dtype=np.uint8).reshape(height, width, 3)[::-1]  # GL rows run bottom-up
        image = QImage(np.ascontiguousarray(rows).data, width, height, width * 3, QImage.Format.Format_RGB888).copy()
        image.setDevicePixelRatio(self.devicePixelRatio())
        return image
