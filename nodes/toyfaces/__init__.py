"""toyfaces: the bundled default model's world — a procedural cartoon-face renderer with exact
landmarks, its parameter space (z ~ N(0, I) through the normal CDF), and a landmark detector.
"""

from .params import (
    APPEARANCE_INDICES,
    GEOMETRY_INDICES,
    NUM_PARAMS,
    PARAM_INDEX,
    PARAM_NAMES,
    PARAMS,
    FaceParam,
    default_params,
    params_from_z,
    resample_geometry,
    sample_geometry_pair,
    sample_z,
    with_params,
    z_for_params,
)
from .render import LANDMARK_INDEX, LANDMARK_NAMES, NUM_LANDMARKS, face_shapes, render, render_batch

__all__ = [
    "APPEARANCE_INDICES",
    "FaceParam",
    "GEOMETRY_INDICES",
    "LANDMARK_INDEX",
    "LANDMARK_NAMES",
    "NUM_LANDMARKS",
    "NUM_PARAMS",
    "PARAMS",
    "PARAM_INDEX",
    "PARAM_NAMES",
    "default_params",
    "face_shapes",
    "params_from_z",
    "render",
    "render_batch",
    "resample_geometry",
    "sample_geometry_pair",
    "sample_z",
    "with_params",
    "z_for_params",
]
