"""Build of the optional C core, spouge._core (metadata stays in pyproject.toml).

Owns: finding GMP + Arb/FLINT and building spouge/numerics/_core.c, or, when
they (or a compiler) are missing, installing without it after saying so in
one line.  The package then runs on its pure-Python core (numerics.corebridge
reports which core is live).

Library layouts probed, in order (a tiny program is compiled *and linked* as
an executable, so a missing symbol fails the probe rather than the import):
  FLINT 3: Arb is inside FLINT, <flint/arb.h>, -lflint
  FLINT 2.9 + Arb 2.23 as Debian bookworm ships them: <arb.h>, -lflint-arb -lflint
  FLINT 2 + Arb built from source: <arb.h>, -larb -lflint
Environment:
  SPOUGE_BUILD_CORE=0          skip the C core entirely
  SPOUGE_CORE_INCLUDE_DIRS     extra header directories (os.pathsep-separated)
  SPOUGE_CORE_LIBRARY_DIRS     extra library directories (also used as rpath)
  SPOUGE_CORE_LIBS             libraries to link, comma-separated (skips the probe)
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

PROBE = r"""
#include <gmp.h>
#if defined(__has_include) && __has_include(<flint/arb.h>)
#include <flint/arb.h>
#else
#include <arb.h>
#endif
int main(void) {
    arb_t x; mpz_t z;
    arb_init(x); mpz_init(z);
    arb_const_pi(x, 64); arb_sin_pi(x, x, 64);
    arb_clear(x); mpz_clear(z);
    return 0;
}
"""

LAYOUTS = [["flint", "gmp"], ["flint-arb", "flint", "gmp"], ["arb", "flint", "gmp"]]


def _dirs(name: str) -> list[str]:
    return [d for d in os.environ.get(name, "").split(os.pathsep) if d]


class OptionalBuildExt(build_ext):
    """build_ext that probes the library layout and never fails the install."""

    def _probe(self, include_dirs: list[str], library_dirs: list[str]) -> list[str] | None:
        forced = os.environ.get("SPOUGE_CORE_LIBS", "")
        if forced:
            return [lib for lib in forced.split(",") if lib]
        tmp = tempfile.mkdtemp(prefix="spouge-probe-")
        saved = os.dup(2)  # the failed layouts' compiler noise is expected: keep it off the terminal
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        try:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as f:
                f.write(PROBE)
            plain = os.path.join(tmp, "plain.c")
            with open(plain, "w") as f:
                f.write("int main(void) { return 0; }\n")
            try:
                self.compiler.link_executable(self.compiler.compile([plain], output_dir=tmp), "plain", output_dir=tmp)
            except Exception:
                raise RuntimeError("no working C compiler") from None
            for libs in LAYOUTS:
                try:
                    objs = self.compiler.compile([src], output_dir=tmp, include_dirs=include_dirs)
                    self.compiler.link_executable(
                        objs, "probe", output_dir=tmp, libraries=libs, library_dirs=library_dirs,
                        runtime_library_dirs=library_dirs,
                    )
                    return libs
                except Exception:  # CompileError, LinkError: try the next layout
                    continue
            return None
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(null)
            shutil.rmtree(tmp, ignore_errors=True)

    def run(self) -> None:
        if os.environ.get("SPOUGE_BUILD_CORE", "1") == "0":
            self._skip("SPOUGE_BUILD_CORE=0")
            return
        try:
            super().run()
        except Exception as exc:  # no compiler at all, etc.
            self._skip(f"{type(exc).__name__}: {exc}")

    def build_extension(self, ext: Extension) -> None:
        if ext.name == "spouge.protocol._fastresp":  # no libraries: plain C and Python.h
            try:
                super().build_extension(ext)
            except Exception as exc:
                print(f"spouge: RESP fast path not built ({exc}); using its Python fallback", file=sys.stderr, flush=True)
            return
        include_dirs, library_dirs = _dirs("SPOUGE_CORE_INCLUDE_DIRS"), _dirs("SPOUGE_CORE_LIBRARY_DIRS")
        try:
            libs = self._probe(include_dirs, library_dirs)
        except Exception as exc:
            self._skip(str(exc))
            return
        if libs is None:
            self._skip("GMP/Arb/FLINT headers or libraries not found (Debian: apt-get install libgmp-dev libflint-dev libflint-arb-dev)")
            return
        ext.libraries = libs
        ext.include_dirs = include_dirs + list(ext.include_dirs)
        ext.library_dirs = library_dirs + list(ext.library_dirs)
        ext.runtime_library_dirs = library_dirs + list(ext.runtime_library_dirs)
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._skip(f"compile failed: {exc}")

    @staticmethod
    def _skip(reason: str) -> None:
        print(f"spouge: C core not built ({reason}); installing the pure-Python core", file=sys.stderr, flush=True)


setup(
    ext_modules=[
        Extension(
            "spouge._core",
            sources=["spouge/numerics/_core.c"],
            extra_compile_args=["-O2", "-std=c11"],
            optional=True,
        ),
        Extension(  # the pipelined RESP fast path (protocol/fastpath.py has a Python fallback)
            "spouge.protocol._fastresp",
            sources=["spouge/protocol/_fastresp.c"],
            extra_compile_args=["-O2", "-std=c11"],
            optional=True,
        ),
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
