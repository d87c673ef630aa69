"""The environment a run saw: platform, Python, installed packages, GPU, environment variables."""

from __future__ import annotations

import contextlib
import fnmatch
import os
import platform
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

_DIST = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+?)\.(?:dist-info|egg-info)$")


def platform_info() -> dict[str, Any]:
    uname = os.uname()
    return {"system": uname.sysname, "release": uname.release, "machine": uname.machine,
            "cpu_count": os.cpu_count()}


def _target_python(variables: Mapping[str, str]) -> Path | None:
    """The interpreter the command would use: the active venv's, else python3 on PATH."""
    venv = variables.get("VIRTUAL_ENV")
    if venv and (Path(venv) / "bin" / "python").exists():
        return Path(venv) / "bin" / "python"
    found = shutil.which("python3", path=variables.get("PATH"))
    return Path(found) if found else None


def _site_dirs(python: Path) -> list[Path]:
    """site-packages of an interpreter, found from its prefix without starting it."""
    prefix = python.parent.parent
    cfg = prefix / "pyvenv.cfg"
    dirs = sorted(prefix.glob("lib/python3*/site-packages"))
    if cfg.exists():
        text = cfg.read_text(errors="replace")
        if re.search(r"^include-system-site-packages\s*=\s*true", text, re.M | re.I):
            home = re.search(r"^home\s*=\s*(.+)$", text, re.M)
            if home:
                dirs += sorted(Path(home.group(1).strip()).parent.glob("lib/python3*/site-packages"))
        return dirs
    real = Path(os.path.realpath(python)).parent.parent
    if real != prefix:
        dirs += sorted(real.glob("lib/python3*/site-packages"))
    return dirs


def packages(site_dirs: Sequence[Path]) -> dict[str, str]:
    """name -> version from *.dist-info folder names (one listdir per folder, no metadata parsing)."""
    found: dict[str, str] = {}
    for folder in site_dirs:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            match = _DIST.match(name)
            if match:
                key = match.group("name").lower().replace("_", "-").replace(".", "-")
                found.setdefault(key, match.group("version"))
    return dict(sorted(found.items()))


def python_info(python: Path | None) -> dict[str, Any]:
    if python is not None and os.path.realpath(python) != os.path.realpath(sys.executable):
        version = _version_from_layout(python)
        return {"implementation": "CPython" if version else "unknown", "version": version or "unknown",
                "executable": str(python)}
    return {"implementation": platform.python_implementation(), "version": platform.python_version(),
            "executable": str(python or sys.executable)}


def _version_from_layout(python: Path) -> str | None:
    cfg = python.parent.parent / "pyvenv.cfg"
    if cfg.exists():
        match = re.search(r"^version(?:_info)?\s*=\s*([\d.]+)", cfg.read_text(errors="replace"), re.M)
        if match:
            return match.group(1)
    libs = sorted(python.parent.parent.glob("lib/python3*"))
    return libs[-1].name.removeprefix("python") if libs else None


GPU_TIMEOUT_S = 2.0  # a hung driver must not hold up every record (it used to cost 10 s each)


def gpus() -> list[dict[str, str]] | None:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    import signal
    import subprocess  # only with a GPU: not worth its import (~1.5 ms) on every record

    try:
        child = subprocess.Popen(
            [smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            start_new_session=True,  # its own group: a timeout kills whatever it started too
        )
    except OSError:
        return None
    try:
        out, _ = child.communicate(timeout=GPU_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        return None
    if child.returncode != 0:
        return None
    result = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 2:
            result.append({"name": parts[0], "driver": parts[1], **({"memory": parts[2]} if len(parts) > 2 else {})})
    return result


def _utf8(text: str) -> str:
    # os.environ smuggles undecodable bytes as surrogates, which JSON cannot carry.
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def without_git_wrapper(variables: Mapping[str, str]) -> dict[str, str]:
    """The environment as the user's shell had it, before `git prov` went through git: git sets
    GIT_EXEC_PATH and puts that folder first on PATH for every external subcommand, so `git prov`
    and `git-prov` would otherwise record different env.vars for the same command."""
    out = dict(variables)
    exec_path = out.pop("GIT_EXEC_PATH", None)
    path = out.get("PATH")
    if exec_path and path is not None:
        first, _, rest = path.partition(os.pathsep)
        if first.rstrip("/") == exec_path.rstrip("/"):
            out["PATH"] = rest
    return out


def select_vars(
    variables: Mapping[str, str], include: Sequence[str], exclude: Sequence[str]
) -> dict[str, str]:
    """Every variable by default (git's wrapper variables left out); prov.env.include narrows to
    matching names, prov.env.exclude drops."""
    chosen = {}
    for name, value in without_git_wrapper(variables).items():
        if include and not any(fnmatch.fnmatchcase(name, p) for p in include):
            continue
        if any(fnmatch.fnmatchcase(name, p) for p in exclude):
            continue
        chosen[_utf8(name)] = _utf8(value)
    return dict(sorted(chosen.items()))


def capture(
    variables: Mapping[str, str], include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> dict[str, Any]:
    """The env section before redaction (the caller redacts vars)."""
    python = _target_python(variables)
    env: dict[str, Any] = {
        "platform": platform_info(),
        "python": python_info(python),
        "packages": packages(_site_dirs(python)) if python else {},
        "vars": select_vars(variables, include, exclude),
    }
    gpu = gpus()
    if gpu is not None:
        env["gpu"] = gpu
    return env
