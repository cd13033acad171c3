"""The 3D view's orbit camera (numpy only): where it stands, what it projects where, how it pans."""

from __future__ import annotations

import numpy as np
import pytest

from app.orbit_camera import Orbit

CENTRE = (0.3, 1.2, -0.4)


def _pixel(camera: Orbit, point, width: int, height: int) -> np.ndarray:
    """(x, y) pixel of a world point (x right, y down), and its depth in normalised device coordinates."""
    clip = camera.projection_matrix(width / height) @ camera.view_matrix() @ np.append(point, 1.0)
    ndc = clip[:3] / clip[3]
    return np.array([(ndc[0] + 1) / 2 * width, (1 - ndc[1]) / 2 * height, ndc[2]])


def test_the_front_camera_stands_on_plus_z_and_azimuth_zero_on_the_heads_left():
    front = Orbit(centre=CENTRE, distance=6.0)
    np.testing.assert_allclose(front.eye(), np.add(CENTRE, (0.0, 0.0, 6.0)), atol=1e-12)
    np.testing.assert_allclose(front.view_matrix() @ np.append(CENTRE, 1.0), [0.0, 0.0, -6.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(Orbit(centre=CENTRE, distance=6.0, azimuth=0.0).eye(), np.add(CENTRE, (6.0, 0, 0)),
                               atol=1e-12)
    raised = Orbit(centre=CENTRE, distance=6.0, elevation=30.0).eye() - CENTRE
    np.testing.assert_allclose(raised, 6.0 * np.array([0.0, np.sin(np.radians(30)), np.cos(np.radians(30))]),
                               atol=1e-12)


def test_the_field_of_view_spans_the_width_and_the_centre_is_mid_screen():
    camera = Orbit(centre=CENTRE, distance=6.0, azimuth=-60.0, elevation=10.0, fov=30.0)
    right, up = camera.screen_axes()
    half_width = 6.0 * np.tan(np.radians(15.0))
    x, y, depth = _pixel(camera, CENTRE, 800, 600)
    assert (x, y) == pytest.approx((400.0, 300.0))
    assert -1 < depth < 1
    assert _pixel(camera, np.add(CENTRE, half_width * right), 800, 600)[0] == pytest.approx(800.0)
    assert _pixel(camera, np.add(CENTRE, half_width * 0.75 * up), 800, 600)[1] == pytest.approx(0.0)


def test_elevation_stops_overhead_and_the_view_stays_a_rotation():
    camera = Orbit(centre=CENTRE, distance=6.0).orbited(25.0, 200.0)
    assert (camera.azimuth, camera.elevation) == (-65.0, 90.0)
    rotation = camera.view_matrix()[:3, :3]
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(camera.eye(), np.add(CENTRE, (0.0, 6.0, 0.0)), atol=1e-12)


def test_panning_in_the_view_plane_keeps_the_grabbed_point_under_the_pointer():
    camera = Orbit(centre=CENTRE, distance=6.0, azimuth=-50.0, elevation=20.0, fov=30.0)
    right, up = camera.screen_axes()
    dx, dy = 40.0, -25.0
    panned = camera.panned(camera.pixel_size(800) * (up * dy - right * dx))
    assert _pixel(panned, CENTRE, 800, 600)[:2] == pytest.approx((400.0 + dx, 300.0 + dy))


def test_ground_axes_are_level_and_point_right_and_away():
    camera = Orbit(centre=CENTRE, distance=6.0, azimuth=-90.0, elevation=35.0)
    right, ahead = camera.ground_axes()
    np.testing.assert_allclose(right, [1.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(ahead, [0.0, 0.0, -1.0], atol=1e-12)  # from the camera (on +z) towards the head
