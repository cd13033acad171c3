"""Render stage: hm08 vertices + pose, camera, lights, materials -> image, region labels, 68 landmarks."""
