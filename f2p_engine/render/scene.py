"""Scene description for the renderer: head pose, camera, lights, appearance, as frozen values.

World frame = hm08 model frame: decimetres, Y up, the face looking along +Z, the subject's left
at +X. Angles are degrees. Pose rotates the head about `PIVOT` (yaw turns the face towards the
subject's left, i.e. image right for a positive yaw; pitch raises the chin; roll tilts the head
clockwise in the image). The camera looks along -Z at `target`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from f2p_engine.headmodel.schema import BEARDS, EYE_COLOURS, EYEBROWS, EYELASHES, HAIR, NO_HAIR, SKINS
from f2p_engine.recipe import Recipe
from f2p_engine.render.palette import BROW_ALBEDO, HAIR_ALBEDO

#: Point the head rotates about (dm): between the ears, a little behind the eyes.
PIVOT = np.array([0.0, 7.0, 0.4])
#: Eye-centre midpoint of the neutral hm08 head (dm), used to frame faces.
EYE_MIDPOINT = np.array([0.0, 7.284, 1.245])
View = Literal["front", "three-quarter", "side"]
VIEW_YAW: dict[View, float] = {"front": 0.0, "three-quarter": 35.0, "side": 90.0}


@dataclass(frozen=True, slots=True, kw_only=True)
class Pose:
    """Head rotation in degrees about `PIVOT`."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0

    def matrix(self) -> np.ndarray:
        """(4, 4) float64 model matrix (rotation about the pivot)."""
        y, p, r = np.radians([self.yaw, self.pitch, self.roll])
        ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
        rx = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
        rz = np.array([[np.cos(r), np.sin(r), 0], [-np.sin(r), np.cos(r), 0], [0, 0, 1]])
        rotation = rz @ rx @ ry
        out = np.eye(4)
        out[:3, :3] = rotation
        out[:3, 3] = PIVOT - rotation @ PIVOT
        return out


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.cross of two 3-vectors, the same arithmetic without its overhead (~15 us a call)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


@dataclass(frozen=True, slots=True, kw_only=True)
class Camera:
    """Pinhole camera at `position` looking along -Z towards `target` (world dm), square image."""

    fov: float = 20.0  # vertical field of view, degrees
    position: tuple[float, float, float] = (0.0, 7.0, 10.0)
    target: tuple[float, float, float] = (0.0, 7.0, 0.0)

    def view_projection(self) -> np.ndarray:
        """(4, 4) float64 matrix from world coordinates to OpenGL clip coordinates."""
        eye, target = np.asarray(self.position, float), np.asarray(self.target, float)
        forward = target - eye
        forward /= np.linalg.norm(forward)
        right = np.array([-forward[2], 0.0, forward[0]])  # forward x (0, 1, 0)
        right /= np.linalg.norm(right)
        up = _cross(right, forward)
        view = np.eye(4)
        view[0, :3], view[1, :3], view[2, :3] = right, up, -forward
        view[:3, 3] = -view[:3, :3] @ eye
        distance = float(np.linalg.norm(target - eye))
        near, far = distance * 0.5, distance * 1.5
        f = 1.0 / np.tan(np.radians(self.fov) / 2)
        projection = np.array([[f, 0, 0, 0], [0, f, 0, 0],
                               [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)],
                               [0, 0, -1, 0]])
        return projection @ view


def face_camera(fov: float = 20.0, width: float = 2.2, eye_height: float = 0.38,
                offset: tuple[float, float] = (0.0, 0.0)) -> Camera:
    """A camera framing the neutral face: `width` dm visible at the eye plane, eyes `eye_height` of the
    image from its top, shifted by `offset` (dm, x right / y up, moves the face the other way)."""
    distance = width / 2 / np.tan(np.radians(fov) / 2)
    tx = EYE_MIDPOINT[0] + offset[0]
    ty = EYE_MIDPOINT[1] - (0.5 - eye_height) * width + offset[1]
    return Camera(fov=fov, position=(tx, ty, EYE_MIDPOINT[2] + distance), target=(tx, ty, EYE_MIDPOINT[2]))


def view_camera() -> Camera:
    """The camera of `f2p render`: the whole head and upper neck."""
    return face_camera(fov=20.0, width=3.0, eye_height=0.42)


@dataclass(frozen=True, slots=True, kw_only=True)
class Light:
    """A directional light: `direction` points from the scene towards the light (world frame)."""

    direction: tuple[float, float, float]
    colour: tuple[float, float, float] = (1.0, 1.0, 1.0)
    intensity: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Lighting:
    """Up to `MAX_LIGHTS` directional lights plus ambient light (linear RGB)."""

    lights: tuple[Light, ...] = (
        Light(direction=(0.4, 0.5, 1.0), intensity=0.85),
        Light(direction=(-0.6, 0.1, 0.6), colour=(0.9, 0.95, 1.0), intensity=0.3),
    )
    ambient: tuple[float, float, float] = (0.22, 0.22, 0.24)
    specular: float = 0.12


MAX_LIGHTS = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Glasses:
    """Procedural glasses (`render.glasses`): `shape` index into GLASSES_SHAPES, frame colour (linear RGB),
    lens tint (linear RGB and opacity in [0, 1]; near 0 clear glass, high for sunglasses)."""

    shape: int = 0
    frame: tuple[float, float, float] = (0.02, 0.02, 0.02)
    lens: tuple[float, float, float, float] = (0.8, 0.85, 0.9, 0.12)


@dataclass(frozen=True, slots=True, kw_only=True)
class Appearance:
    """Materials: skin and eye-colour options of the schema, plus gaze (eye rotation, degrees).

    `tone` scales the skin albedo (1 = the option's tone); keep it near 1 so skin options stay
    distinguishable. `brow_colour` is the linear RGB of eyebrow hair, `brow_thickness` scales the
    eyebrows' height (1 = medium): the eyebrows painted on the skin.
    `hair`, `eyebrows`, `eyelashes`: MakeHuman proxies drawn as geometry (schema options; `NO_HAIR` or
    None draws none), hair and eyebrow proxies in `hair_colour` (linear RGB); `beard` (schema BEARDS) is
    painted on the skin in `brow_colour`. Make-up: `lipstick`, `eye_shadow`, `blush` are linear RGB plus an
    amount in [0, 1] (0: none), `eyeliner` an amount. `glasses`: None for none.
    """

    skin: str = SKINS[0]
    eye_colour: str = EYE_COLOURS[0]
    gaze_yaw: float = 0.0
    gaze_pitch: float = 0.0
    tone: float = 1.0
    brow_colour: tuple[float, float, float] = BROW_ALBEDO
    brow_thickness: float = 1.0
    hair: str = NO_HAIR
    hair_colour: tuple[float, float, float] = BROW_ALBEDO
    eyebrows: str | None = None
    eyelashes: str | None = None
    beard: str = BEARDS[0]
    lipstick: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    eye_shadow: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    blush: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    eyeliner: float = 0.0
    glasses: Glasses | None = None

    def __post_init__(self) -> None:
        if self.skin not in SKINS:
            raise ValueError(f"unknown skin {self.skin!r}")
        if self.eye_colour not in EYE_COLOURS:
            raise ValueError(f"unknown eye colour {self.eye_colour!r}")
        if self.hair != NO_HAIR and self.hair not in HAIR:
            raise ValueError(f"unknown hair {self.hair!r}")
        if self.eyebrows is not None and self.eyebrows not in EYEBROWS:
            raise ValueError(f"unknown eyebrows {self.eyebrows!r}")
        if self.beard not in BEARDS:
            raise ValueError(f"unknown beard {self.beard!r}")
        if self.eyelashes is not None and self.eyelashes not in EYELASHES:
            raise ValueError(f"unknown eyelashes {self.eyelashes!r}")

    def gaze(self) -> np.ndarray:
        """(3,) unit gaze direction in the head frame (+Z straight ahead, positive yaw to +X)."""
        y, p = np.radians([self.gaze_yaw, self.gaze_pitch])
        return np.array([np.sin(y) * np.cos(p), np.sin(p), np.cos(y) * np.cos(p)])


#: `Appearance.brow_thickness` under eyebrow proxies: the painted brows vanish (the proxies are the brows;
#: above zero so the shaders' division by it stays finite).
PROXY_BROW_PAINT = 1e-3


def appearance_of(recipe: Recipe) -> Appearance:
    """How a recipe's head looks: its skin, eye colour, hair, hair colour, eyebrows and eyelashes (default gaze)."""
    colour = HAIR_ALBEDO[recipe.choice("hair_colour")]
    return Appearance(skin=recipe.choice("skin"), eye_colour=recipe.choice("eye_colour"), brow_colour=colour,
                      brow_thickness=PROXY_BROW_PAINT, hair=recipe.choice("hair"), hair_colour=colour,
                      eyebrows=recipe.choice("eyebrows"), eyelashes=recipe.choice("eyelashes"),
                      beard=recipe.choice("beard"))
