"""A studio session as one file: photo (a reference to its file, or an embedded PNG copy), prediction,
edited recipe, chosen face and view. No Qt here.

File > Save Session writes it (`.f2psession`, JSON); the autosave is the same format with the photo
always embedded, so a crash loses nothing and there are no side files that can go missing one by one.
Everything read back is validated like any other input (`read_session`): a damaged file is an
`InputError` naming it, never a traceback, and the studio sets it aside and starts anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.state import Photo
from f2p_engine.errors import InputError
from f2p_engine.files import atomic_output
from f2p_engine.headmodel import schema
from f2p_engine.recipe import Recipe, recipe_from_dict, recipe_to_dict

SESSION_FORMAT = "f2p-session-1"
SESSION_SUFFIX = ".f2psession"
#: Largest session read: an embedded photo at the engine's pixel limit fits, a hostile file does not.
MAX_SESSION_BYTES = 256 << 20
VIEWS = ("front", "three-quarter", "side")


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """What the artist was doing: `recipe` is the edited head, `predicted` the prediction it started from."""

    recipe: Recipe
    predicted: Recipe | None = None
    #: Region -> confidence in [0, 1] of the prediction.
    confidence: Mapping[str, float] = field(default_factory=dict)
    #: Group -> how a predicted choice was made when the models did not read it (`Prediction.sources`).
    sources: Mapping[str, str] = field(default_factory=dict)
    photo: Photo | None = None
    #: Which face of a group photo (largest first).
    face: int = 0
    view: str = "front"
    overlay: bool = False


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path | None) -> str | None:
    """The photo file's sha256, or None when there is no readable file."""
    if path is None:
        return None
    try:
        return _sha256(path.read_bytes()) if path.is_file() else None
    except OSError:
        return None


#: The last photo embedded, (pixels, base64 PNG): the autosave writes the same photo after every pause
#: in the edits, and encoding a 2.4-megapixel photo took 0.44 s at load 16 (median of 5), on the GUI thread.
_last_embedded: tuple[np.ndarray, str] | None = None


def _embedded_png(pixels: np.ndarray) -> str:
    global _last_embedded
    if _last_embedded is None or _last_embedded[0] is not pixels:  # photos are immutable: same array, same PNG
        import cv2  # not at start-up (OpenCV loads its codecs)

        ok, encoded = cv2.imencode(".png", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
        if not ok:
            raise InputError("the session's photo could not be encoded as PNG")
        _last_embedded = (pixels, base64.b64encode(encoded.tobytes()).decode("ascii"))
    return _last_embedded[1]


def session_to_dict(session: Session, *, embed_photo: bool) -> dict:
    """JSON-ready form. The photo is embedded (PNG, base64) when asked or when it has no readable file."""
    photo = None
    if session.photo is not None:
        photo = {"name": session.photo.name, "path": str(session.photo.path) if session.photo.path else None}
        digest = None if embed_photo else _file_sha256(session.photo.path)
        if digest is None:  # asked for, no file, or the file is gone: the session carries its own copy
            photo["png"] = _embedded_png(session.photo.pixels)
        else:
            photo["sha256"] = digest
    return {"format": SESSION_FORMAT, "recipe": recipe_to_dict(session.recipe),
            "predicted": recipe_to_dict(session.predicted) if session.predicted is not None else None,
            "confidence": dict(session.confidence), "sources": dict(session.sources), "photo": photo,
            "face": session.face, "view": session.view, "overlay": session.overlay}


def write_session(session: Session, path: str | os.PathLike[str], *, embed_photo: bool = False) -> None:
    """Write atomically (a crash mid-write leaves the previous file)."""
    text = json.dumps(session_to_dict(session, embed_photo=embed_photo))
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_session(path: str | os.PathLike[str]) -> Session:
    """Read and validate a session file; InputError naming the file and the first problem."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_SESSION_BYTES:
            raise InputError(f"{path}: too large for a studio session ({path.stat().st_size >> 20} MB)")
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, numbers too long, nesting too deep
        raise InputError(f"{path}: not a studio session (damaged JSON)") from None
    return session_from_dict(data, path)


def session_from_dict(data: object, path: Path) -> Session:
    """A `Session` from its JSON form, every field checked (photo files relative to `path`)."""
    if not isinstance(data, dict) or data.get("format") != SESSION_FORMAT:
        raise InputError(f"{path}: not a studio session (expected format {SESSION_FORMAT!r})")

    def bad(problem: str) -> InputError:
        return InputError(f"{path}: damaged studio session ({problem})")

    recipe = recipe_from_dict(data.get("recipe"), f"{path} (recipe)")
    predicted = data.get("predicted")
    predicted = None if predicted is None else recipe_from_dict(predicted, f"{path} (prediction)")
    confidence = data.get("confidence", {})
    regions = set(schema.REGIONS)
    if not isinstance(confidence, dict) or not all(
            isinstance(k, str) and k in regions and isinstance(v, int | float) and not isinstance(v, bool)
            and math.isfinite(v) and 0 <= v <= 1 for k, v in confidence.items()):
        raise bad("confidence must map region names to numbers in [0, 1]")
    from f2p_engine.infer.pipeline import CHOICE_SOURCES  # here: the engine's pipeline loads OpenCV (start-up)

    sources = data.get("sources", {})  # absent in sessions written before it was kept
    groups = schema.discrete_by_name()
    if not isinstance(sources, dict) or not all(k in groups and v in CHOICE_SOURCES for k, v in sources.items()):
        raise bad(f"sources must map choice groups to one of {', '.join(CHOICE_SOURCES)}")
    face = data.get("face", 0)
    if isinstance(face, bool) or not isinstance(face, int) or not 0 <= face < 1000:
        raise bad("face must be a small whole number")
    view = data.get("view", "front")
    if view not in VIEWS:
        raise bad(f"view must be one of {', '.join(VIEWS)}")
    overlay = data.get("overlay", False)
    if not isinstance(overlay, bool):
        raise bad("overlay must be true or false")
    return Session(recipe=recipe, predicted=predicted, confidence={k: float(v) for k, v in confidence.items()},
                   sources=dict(sources),
                   photo=_photo_from_dict(data.get("photo"), path, bad), face=face, view=view, overlay=overlay)


def _photo_from_dict(photo: object, path: Path, bad) -> Photo | None:
    from f2p_engine.face.image import decode_image  # OpenCV: not at start-up

    if photo is None:
        return None
    if not isinstance(photo, dict):
        raise bad("photo must be an object")
    name, source = photo.get("name"), photo.get("path")
    if not isinstance(name, str) or not name or "\n" in name or "\0" in name:
        raise bad("the photo needs a one-line name")
    if source is not None and (not isinstance(source, str) or not source or "\0" in source):
        raise bad("the photo's path must be text")
    embedded = photo.get("png")
    if embedded is not None:
        if not isinstance(embedded, str):
            raise bad("the embedded photo must be base64 text")
        try:
            encoded = base64.b64decode(embedded, validate=True)
        except (binascii.Error, ValueError):
            raise bad("the embedded photo is not base64") from None
        pixels = decode_image(encoded, f"{path} (embedded photo)").pixels
        return Photo(name=name, pixels=pixels, path=Path(source) if source else None)
    if source is None:
        raise bad("the photo has neither a file nor an embedded copy")
    digest = photo.get("sha256")
    if not isinstance(digest, str) or len(digest) != 64:
        raise bad("a photo file needs its sha256")
    file = path.parent / source  # a relative path is beside the session; an absolute one stays as it is
    try:
        if not file.is_file():  # never a folder, FIFO or device: reading those hangs or never ends
            raise InputError(f"{path}: the session's photo {file} is missing (or not a file)")
        if file.stat().st_size > MAX_SESSION_BYTES:
            raise InputError(f"{path}: the session's photo {file} is too large")
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: the session's photo {file} cannot be read ({exc.strerror})") from None
    if _sha256(data) != digest:
        raise InputError(f"{path}: the photo {file} changed since the session was saved")
    return Photo(name=name, pixels=decode_image(data, str(file)).pixels, path=file)


__all__ = ["MAX_SESSION_BYTES", "SESSION_FORMAT", "SESSION_SUFFIX", "VIEWS", "Session", "read_session",
           "session_from_dict", "session_to_dict", "write_session"]
