"""Each slider row gets its before/after icon, rendered once in the background and cached on disk."""

from __future__ import annotations

import app.slider_icons as slider_icons


def test_rows_get_their_icons_from_the_disk_cache(make_window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(slider_icons, "icon_folder", lambda: tmp_path / "icons")
    window = make_window()
    row = window.panel.rows["macrodetails/Gender"]
    assert row.icon.pixmap().isNull()
    window.panel.icons.start(delay_ms=0)
    qtbot.waitUntil(lambda: not row.icon.pixmap().isNull(), timeout=60000)
    assert slider_icons.icon_path("macrodetails/Gender").is_file()
    assert "<img" in row.label.toolTip()
    window.panel.icons.close()  # stops between icons; a new window reads what was cached
    again = make_window()
    assert not again.panel.rows["macrodetails/Gender"].icon.pixmap().isNull()
