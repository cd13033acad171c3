"""3D preview of the head: pyqtgraph GLViewWidget showing the engine's mesh for the current recipe.

The mesh topology (`head_mesh()`) is fixed; only positions change, so every recipe change uploads
new positions and normals into the same MeshData.

The view is pyqtgraph's GL view on a QOpenGLWindow in a window container, not the QOpenGLWidget
`GLViewWidget`: a QOpenGLWidget makes Qt compose the *whole* top-level window through GL on every
frame (all of the 1520x920 window textured and blended in software GL under Xvfb); a native GL
child window redraws only itself. A window container grabs as an empty rectangle, so
`QtHeadView.paint_into` draws the GL frame into grabs of the window. Normals come from trimesh (vectorised, ~1 ms);
pyqtgraph's own per-vertex loop would take tens of milliseconds per frame.

Winding: hm08 triangles are counter-clockwise seen from outside, so trimesh's normals point
outwards. pyqtgraph's built-in "shaded" shader lights normals that point *away* from the camera
(its light vector is (1, -1, -1) in eye space), which renders an outward-facing head almost
black; the head therefore uses its own shader below, written for outward eye-space normals.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
import pyqtgraph.opengl as gl
import trimesh
from OpenGL import GL
from pyqtgraph.opengl import shaders
from pyqtgraph.opengl.GLViewWidget import GLViewMixin
from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap, QSurfaceFormat, QVector3D
from PySide6.QtOpenGL import QOpenGLWindow
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from app.state import StudioState
from f2p_engine.errors import F2PError
from f2p_engine.headmodel.mesh import head_mesh
from f2p_engine.recipe import Recipe

View = Literal["front", "three-quarter", "side"]
#: Camera azimuth per view, degrees. The head is shown Z up (pyqtgraph's convention) facing -Y.
VIEW_AZIMUTH: dict[View, float] = {"front": -90.0, "three-quarter": -55.0, "side": 0.0}
_CAMERA_DISTANCE = 4.0
#: The camera aims this far (dm) below the eyes, and re-aims when that point moves more than this.
_AIM_BELOW_EYES = 0.35
_REAIM_DISTANCE = 0.15
_BACKGROUND = (46, 48, 54)
#: The bust ends in a jagged cut through the shoulders' quads (teeth up to ~0.25 dm): it is drawn in
#: the background colour up to `_FADE_START` above its lowest point, then fades in over
#: `_FADE_HEIGHT` (decimetres), so the cut does not draw the eye (view only: the mesh is unchanged).
_FADE_START = 0.25
_FADE_HEIGHT = 0.8

# Display colours only (the recipe stores material names; MakeHuman has the real textures).
_SKIN_RGB = {"caucasian": (0.93, 0.76, 0.66), "african": (0.52, 0.36, 0.27), "asian": (0.90, 0.75, 0.60)}
_EYE_RGB = {"brown": (0.36, 0.22, 0.12), "brownlight": (0.55, 0.38, 0.20), "green": (0.30, 0.48, 0.28),
            "blue": (0.30, 0.45, 0.70), "lightblue": (0.50, 0.66, 0.85), "deepblue": (0.15, 0.25, 0.55)}

_HEAD_SHADER = shaders.ShaderProgram("f2p_head", [
    shaders.VertexShader("""
        uniform mat4 u_mvp;
        uniform mat3 u_normal;
        attribute vec4 a_position;
        attribute vec3 a_normal;
        attribute vec4 a_color;
        varying vec4 v_color;
        varying vec3 v_normal;
        void main() {
            v_normal = normalize(u_normal * a_normal);
            v_color = a_color;
            gl_Position = u_mvp * a_position;
        }
    """),
    shaders.FragmentShader("""
        #ifdef GL_ES
        precision mediump float;
        #endif
        uniform float u_background[3];  // pyqtgraph loads extra uniforms as float arrays
        varying vec4 v_color;
        varying vec3 v_normal;
        void main() {
            vec3 n = normalize(v_normal);
            // Eye space: the camera looks down -z, so surfaces facing it have n.z > 0.
            float key = max(dot(n, normalize(vec3(-0.45, 0.55, 0.75))), 0.0);
            float fill = max(dot(n, normalize(vec3(0.7, -0.1, 0.6))), 0.0);
            float rim = pow(1.0 - max(n.z, 0.0), 3.0);
            vec3 rgb = v_color.rgb * (0.22 + 0.70 * key + 0.28 * fill) + vec3(0.10) * rim;
            // Alpha is not transparency here: it is how far the bust has faded into the background.
            vec3 background = vec3(u_background[0], u_background[1], u_background[2]);
            gl_FragColor = vec4(mix(background, min(rgb, vec3(1.0)), v_color.a), 1.0);
        }
    """),
], uniforms={"u_background": [c / 255 for c in _BACKGROUND]})


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


def surface_format() -> QSurfaceFormat:
    """The 3D view's GL surface: a 24-bit depth buffer, and 4x multisampling where the driver has it."""
    surface = QSurfaceFormat.defaultFormat()
    surface.setDepthBufferSize(24)
    surface.setSamples(4)
    return surface


class _Canvas(GLViewMixin, QOpenGLWindow):
    """pyqtgraph's GL view (orbit, zoom, items) as a QOpenGLWindow; reports each frame's draw time (ms)."""

    frame_drawn = Signal(float)

    def __init__(self) -> None:
        super().__init__()
        # Without this the window's surface may come without a depth buffer (Xvfb's default visual has
        # none): the depth test then passes everything and the back of the head draws over the face.
        self.setFormat(surface_format())
        # Keyboard focus stays with the widgets, so the window's shortcuts keep working over the view.
        self.setFlag(Qt.WindowType.WindowDoesNotAcceptFocus)

    def devicePixelRatioF(self) -> float:  # the QWidget spelling GLViewMixin uses
        return self.devicePixelRatio()

    def render_image(self) -> QImage:
        """The current scene drawn now into the window's own back buffer and read back, at the window's
        device size: the same depth buffer and multisampling the artist's view gets (an offscreen
        framebuffer would bring its own depth buffer and hide a window that has none). The back buffer
        is read before any swap, so its content is defined."""
        self.makeCurrent()
        try:
            width, height = self.deviceWidth(), self.deviceHeight()
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.defaultFramebufferObject())
            GL.glViewport(0, 0, width, height)
            self.paint(region=(0, 0, width, height), viewport=(0, 0, width, height))
            GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
            pixels = GL.glReadPixels(0, 0, width, height, GL.GL_RGB, GL.GL_UNSIGNED_BYTE)
        finally:
            self.doneCurrent()
        rows = np.frombuffer(pixels, dtype=np.uint8).reshape(height, width, 3)[::-1]  # GL rows run bottom-up
        image = QImage(np.ascontiguousarray(rows).data, width, height, width * 3, QImage.Format.Format_RGB888).copy()
        image.setDevicePixelRatio(self.devicePixelRatio())
        return image

    def paintGL(self) -> None:
        start = time.perf_counter()
        super().paintGL()
        self.frame_drawn.emit((time.perf_counter() - start) * 1000)


class QtHeadView(QWidget):
    """The head preview with view buttons and a wireframe toggle; follows `state.mesh_changed`."""

    def __init__(self, state: StudioState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._topology = head_mesh(state.head_model.asset)
        self.canvas = _Canvas()
        self.canvas.setBackgroundColor(_BACKGROUND)
        self.container = QWidget.createWindowContainer(self.canvas, self)
        self.container.setMinimumSize(320, 320)
        self._meshdata = _HeadMeshData(self._topology.triangles)
        self._eye_vertices = np.unique(self._topology.triangles[self._topology.part > 0])
        self._fade = _bottom_fade(state.vertices[self._topology.vertex_ids])
        self.item = gl.GLMeshItem(meshdata=self._meshdata, smooth=True, shader=_HEAD_SHADER,
                                  glOptions="opaque", edgeColor=(0.1, 0.1, 0.1, 1.0))
        # Engine meshes are Y up; pyqtgraph's camera orbits around Z: turn +Y into +Z.
        self.item.rotate(90, 1, 0, 0)
        self.canvas.addItem(self.item)
        #: Milliseconds spent turning the last mesh into GL data (normals + upload preparation).
        self.update_ms = 0.0

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
        buttons.addStretch(1)
        buttons.addWidget(self.wireframe_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.container, 1)
        layout.addLayout(buttons)

        state.mesh_changed.connect(self._show_vertices)
        state.recipe_changed.connect(self._update_colours)
        self._colour_key: tuple[str, str] | None = None
        self._update_colours(state.recipe)
        self._show_vertices(state.vertices)
        self.set_view("front")

    def _show_vertices(self, vertices: np.ndarray) -> None:
        start = time.perf_counter()
        positions = vertices[self._topology.vertex_ids]
        triangles = self._topology.triangles
        face_normals = trimesh.triangles.normals(positions[triangles])[0]
        normals = trimesh.geometry.mean_vertex_normals(len(positions), triangles, face_normals)
        self._meshdata.set_positions(positions, normals.astype(np.float32))
        self.item.meshDataChanged()
        self._follow_face(positions)
        self.update_ms = (time.perf_counter() - start) * 1000

    def _update_colours(self, recipe: Recipe) -> None:
        key = (recipe.choice("skin"), recipe.choice("eye_colour"))
        if key == self._colour_key:
            return
        self._colour_key = key
        skin = _SKIN_RGB[key[0].split("_")[1]]
        colours = np.empty((len(self._topology.vertex_ids), 4), dtype=np.float32)
        colours[:, :3] = skin
        colours[self._eye_vertices, :3] = _EYE_RGB[key[1]]
        colours[:, 3] = self._fade
        self._meshdata.setVertexColors(colours)
        self.item.meshDataChanged()

    def _follow_face(self, positions: np.ndarray) -> None:
        """Aim the camera a little below the eyes; only big moves (age, a new recipe) re-aim it,
        so dragging an eye slider does not shake the view."""
        x, y, z = positions[self._eye_vertices].mean(axis=0) - (0.0, _AIM_BELOW_EYES, 0.0)
        target = QVector3D(float(x), float(-z), float(y))  # the item's rotation maps (x, y, z) to (x, -z, y)
        if (target - self.canvas.opts["center"]).length() > _REAIM_DISTANCE:
            self.canvas.setCameraPosition(pos=target)

    def set_view(self, view: View) -> None:
        self.canvas.setCameraPosition(azimuth=VIEW_AZIMUTH[view], elevation=5.0, distance=_CAMERA_DISTANCE)

    def set_wireframe(self, on: bool) -> None:
        if self.wireframe_button.isChecked() != on:
            self.wireframe_button.setChecked(on)  # re-enters through `toggled`
            return
        self.item.setMeshData(meshdata=self._meshdata, drawEdges=on)

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
