"""Build the compiled cores: the MRT decoder (C, writes straight into columnar buffers), the
signal engine (C: routing state, visibility, level sums, upstreams, rows) and the key → id map
the partial algebra groups rows with."""

import platform

from setuptools import Extension, setup

FLAGS = ["-O3", "-std=gnu11", "-Wall", "-Wno-unused-function"]
ENGINE_PARTS = ("arrow", "core", "resolve", "apply", "ingest", "visibility", "upstream", "emit", "module")
# the signal engine's parts are one program: link-time optimisation inlines across them, and
# hidden symbols let calls between them skip the PLT. x86-64-v2 (2009 on) has POPCNT.
ENGINE_FLAGS = [*FLAGS, "-D_GNU_SOURCE", "-flto", "-fvisibility=hidden"]
if platform.machine() in ("x86_64", "AMD64"):
    ENGINE_FLAGS.append("-march=x86-64-v2")

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
            "outagewatch.signals._engine",
            sources=[f"src/outagewatch/signals/_engine/{name}.c" for name in ENGINE_PARTS],
            depends=[f"src/outagewatch/signals/_engine/{name}.h" for name in ("alloc", "arrow", "core", "maps")],
            extra_compile_args=ENGINE_FLAGS,
            extra_link_args=["-flto", "-O3"],
        ),
    ]
)
