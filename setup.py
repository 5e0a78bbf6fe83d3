"""Build the compiled MRT decoder (C, writes straight into columnar buffers)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "outagewatch.parse._mrtcore",
            sources=["src/outagewatch/parse/_mrtcore.c"],
            extra_compile_args=["-O3", "-std=c11", "-Wall", "-Wno-unused-function"],
        )
    ]
)
