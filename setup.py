"""Build the compiled cores: the MRT decoder (C, writes straight into columnar buffers) and the
signal engine's key → id map, routing-state kernels and roll-up loops."""

from setuptools import Extension, setup

FLAGS = ["-O3", "-g", "-std=gnu11", "-Wall", "-Wno-unused-function"]
ENGINE_PARTS = ("arrow", "core", "resolve", "apply", "visibility", "upstream", "emit", "module")

setup(
    ext_modules=[
        Extension(
            "outagewatch.parse._mrtcore",
            sources=["src/outagewatch/parse/_mrtcore.c"],
            extra_compile_args=FLAGS,
        ),
        Extension(
            "outagewatch.signals._hashcore",
            sources=["src/outagewatch/signals/_hashcore.c"],
            extra_compile_args=FLAGS,
        ),
        Extension(
            "outagewatch.signals._rollupcore",
            sources=["src/outagewatch/signals/_rollupcore.c"],
            depends=["src/outagewatch/signals/_views.h"],
            extra_compile_args=FLAGS,
        ),
        Extension(
            "outagewatch.signals._engine",
            sources=[f"src/outagewatch/signals/_engine/{name}.c" for name in ENGINE_PARTS],
            depends=[f"src/outagewatch/signals/_engine/{name}.h" for name in ("arrow", "core", "maps")],
            extra_compile_args=FLAGS,
        ),
        Extension(
            "outagewatch.signals._statecore",
            sources=["src/outagewatch/signals/_statecore.c"],
            depends=["src/outagewatch/signals/_views.h"],
            extra_compile_args=FLAGS,
        ),
    ]
)
