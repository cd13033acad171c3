"""The 3D view's camera: it orbits a centre point, in the engine's frame (decimetres, Y up, the face
towards +z). Pure numpy; the GL view (`app.gl_view`) turns it into matrices for its shaders.

Angles are in degrees. Azimuth -90 puts the camera on +z, in front of the face; raising the azimuth moves
the camera round to the head's left (+x), so dragging the mouse right turns the head to the right.
Elevation raises the camera above the centre, up to straight overhead (+-90)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

#: Near and far clipping planes, as fractions and multiples of the camera's distance.
_NEAR = 0.01
_FAR = 100.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Orbit:
    """A camera `distance` dm from `centre`, at `azimuth` round the vertical axis and `elevation` above
    the horizontal plane, with a horizontal field of view `fov`."""

    centre: tuple[float, float, float] = (0.0, 0.0, 0.0)
    distance: float = 10.0
    azimuth: float = -90.0
    elevation: float = 0.0
    fov: float = 60.0

    def view_matrix(self) -> np.ndarray:
        """(4, 4) float64 matrix from the engine's frame to eye space (the camera at the origin, looking
        down -z, y up): undo the centre, turn the azimuth then the elevation to face the camera, step back."""
        azimuth, elevation = math.radians(self.azimuth + 90.0), math.radians(self.elevation)
        ca, sa, ce, se = math.cos(azimuth), math.sin(azimuth), math.cos(elevation), math.sin(elevation)
        turn = np.array([[ca, 0.0, -sa], [0.0, 1.0, 0.0], [sa, 0.0, ca]])  # about y, by -(azimuth + 90)
        tilt = np.array([[1.0, 0.0, 0.0], [0.0, ce, -se], [0.0, se, ce]])  # about x, by the elevation
        view = np.eye(4)
        view[:3, :3] = tilt @ turn
        view[:3, 3] = -view[:3, :3] @ np.asarray(self.centre) - [0.0, 0.0, self.distance]
        return view

    def projection_matrix(self, aspect: float) -> np.ndarray:
        """(4, 4) float64 perspective projection for a view `aspect` (width / height) wide, as OpenGL's
        glFrustum: eye space to clip space, the field of view across the width."""
        near, far = self.distance * _NEAR, self.distance * _FAR
        right = near * math.tan(math.radians(self.fov) / 2)
        top = right / aspect
        return np.array([[near / right, 0.0, 0.0, 0.0],
                         [0.0, near / top, 0.0, 0.0],
                         [0.0, 0.0, -(far + near) / (far - near), -2.0 * far * near / (far - near)],
                         [0.0, 0.0, -1.0, 0.0]])

    def eye(self) -> np.ndarray:
        """(3,) the camera's position."""
        return np.linalg.inv(self.view_matrix())[:3, 3]

    def orbited(self, azimuth: float, elevation: float) -> Orbit:
        """Turned by `azimuth` and raised by `elevation` degrees (elevation kept within +-90)."""
        return replace(self, azimuth=self.azimuth + azimuth,
                       elevation=min(max(self.elevation + elevation, -90.0), 90.0))

    def pixel_size(self, width: int) -> float:
        """Decimetres one pixel spans at the centre, for a view `width` pixels wide."""
        return self.distance * 2.0 * math.tan(math.radians(self.fov) / 2) / max(width, 1)

    def panned(self, offset: np.ndarray) -> Orbit:
        """The centre (and the camera with it) moved by (3,) `offset` dm."""
        return replace(self, centre=tuple(float(c) for c in np.asarray(self.centre) + offset))

    def screen_axes(self) -> tuple[np.ndarray, np.ndarray]:
        """(right, up): the unit directions of the view's x and y axes in the engine's frame."""
        rotation = self.view_matrix()[:3, :3]
        return rotation[0], rotation[1]

    def ground_axes(self) -> tuple[np.ndarray, np.ndarray]:
        """(right, ahead): horizontal unit directions, to the view's right and away from the camera."""
        azimuth = math.radians(self.azimuth)
        right = np.array([-math.sin(azimuth), 0.0, -math.cos(azimuth)])
        return right, np.cross([0.0, 1.0, 0.0], right)
