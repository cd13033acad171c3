"""A studio session file read back is validated like any input: any JSON in any field gives a session
or an InputError, never another exception (the autosave is read this way on every start)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from hostile_json import JSON
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.session import Session, read_session, session_from_dict, session_to_dict, write_session
from app.state import Photo
from f2p_engine.errors import InputError
from f2p_engine.synth.sampler import recipe_at

PIXELS = np.arange(12 * 16 * 3, dtype=np.uint8).reshape(12, 16, 3)
GOOD = session_to_dict(Session(recipe=recipe_at(3, 0), predicted=recipe_at(3, 1), confidence={"nose": 0.5},
                               photo=Photo(name="p.png", pixels=PIXELS), face=1, view="side"),
                       embed_photo=True)
FIELDS = sorted(GOOD)


def test_a_session_round_trips(tmp_path):
    session = Session(recipe=recipe_at(3, 0), predicted=recipe_at(3, 1), confidence={"nose": 0.5},
                      sources={"hair": "by gender", "skin": "measured"},
                      photo=Photo(name="p.png", pixels=PIXELS), face=1, view="side", overlay=True)
    write_session(session, tmp_path / "s.f2psession", embed_photo=True)
    again = read_session(tmp_path / "s.f2psession")
    np.testing.assert_array_equal(again.photo.pixels, PIXELS)
    assert (again.face, again.view, again.overlay, dict(again.confidence)) == (1, "side", True, {"nose": 0.5})
    assert again.predicted.modifiers.keys() == recipe_at(3, 1).modifiers.keys()
    assert dict(again.sources) == {"hair": "by gender", "skin": "measured"}


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from([*FIELDS, "photo.name", "photo.png", "photo.path", "recipe.modifiers"]), value=JSON)
def test_any_json_in_any_field_is_a_session_or_an_input_error(field, value):
    data = json.loads(json.dumps(GOOD))
    target, _, key = field.rpartition(".")
    (data[target] if target else data)[key] = value
    message = ""
    try:
        session = session_from_dict(data, Path("/nonexistent/s.f2psession"))
    except InputError as exc:
        message = str(exc)
    else:
        assert isinstance(session, Session)
    assert "\n" not in message  # one line, as the studio shows it


def test_a_photo_whose_file_is_gone_is_embedded(tmp_path):
    gone = Photo(name="p.png", pixels=PIXELS, path=tmp_path / "deleted.png")
    data = session_to_dict(Session(recipe=recipe_at(3, 0), photo=gone), embed_photo=False)
    assert "png" in data["photo"]
    write_session(Session(recipe=recipe_at(3, 0), photo=gone), tmp_path / "s.f2psession")
    np.testing.assert_array_equal(read_session(tmp_path / "s.f2psession").photo.pixels, PIXELS)
