"""The locks are what runs: requirements.txt (what Vercel installs) and requirements-dev.txt pin every package
exactly, with hashes; the tests run on exactly those versions; the runtime pins are the same in both; and every pin
is inside the range declared in requirements*.in (scripts/lock makes all of this so; these tests keep it so)."""

from __future__ import annotations

import re
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.helpers import ROOT

RUNTIME, DEV = ROOT / "requirements.txt", ROOT / "requirements-dev.txt"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.!+_-]+)"
                 r"(?P<hashes>(?:\s+--hash=sha256:[0-9a-f]{64})+)$")


def lock_lines(text: str) -> list[str]:
    """The lock's requirement lines: continuations joined, comments and blank lines dropped."""
    lines = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            lines.append(re.sub(r"\s+", " ", line))
    return lines


def read_lock(text: str) -> tuple[dict[str, tuple[str, frozenset[str]]], list[str]]:
    """{normalized name: (version, hashes)} and the lines that are not an exact pin with its hashes."""
    pins, bad = {}, []
    for line in lock_lines(text):
        match = PIN.match(line)
        if not match:
            bad.append(line)
            continue
        hashes = frozenset(re.findall(r"sha256:([0-9a-f]{64})", match["hashes"]))
        pins[canonicalize_name(match["name"])] = (match["version"], hashes)
    return pins, bad


def installed() -> dict[str, str]:
    return {canonicalize_name(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}


def not_as_locked(pins: dict, versions: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    """{name: (locked version, installed version or None)} for every pin the environment does not match."""
    return {name: (version, versions.get(name)) for name, (version, _) in pins.items()
            if name not in versions or Version(versions[name]) != Version(version)}


def declared(path) -> list[Requirement]:
    """The ranges a requirements*.in file declares (its -r/-c lines are the other files')."""
    lines = [re.sub(r"(^|\s)#.*$", "", line).strip() for line in path.read_text().splitlines()]
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


@pytest.mark.parametrize("lock", [RUNTIME, DEV], ids=lambda path: path.name)
def test_every_line_of_the_lock_is_an_exact_pin_with_hashes(lock):
    pins, bad = read_lock(lock.read_text())
    assert not bad, f"{lock.name}: lines that are not `name==version --hash=sha256:...` (run scripts/lock): {bad}"
    assert len(pins) >= 10


def test_the_check_refuses_an_unpinned_or_unhashed_line():
    digest = "0" * 64
    text = (f"openai==3.63.0 \\\n    --hash=sha256:{digest}\n    # via -r requirements.in\n"
            f"httpx>=0.28 \\\n    --hash=sha256:{digest}\n"  # a range, not a pin
            "orjson==3.13.0\n"  # no hash
            f"-e ./somewhere\n"
            f"pydantic==2.14.4 --hash=md5:{digest[:32]}\n")  # not sha256
    pins, bad = read_lock(text)
    assert pins == {"openai": ("3.63.0", frozenset({digest}))}
    assert bad == [f"httpx>=0.28 --hash=sha256:{digest}", "orjson==3.13.0", "-e ./somewhere",
                   f"pydantic==2.14.4 --hash=md5:{digest[:32]}"]


def test_the_tests_run_on_exactly_the_locked_versions():
    """What Vercel installs (requirements.txt) and the test tools are installed here at exactly the locked versions."""
    versions = installed()
    for lock in (RUNTIME, DEV):
        pins, _ = read_lock(lock.read_text())
        assert not_as_locked(pins, versions) == {}, \
            f"installed packages differ from {lock.name} ((locked, installed)); run scripts/setup requirements-dev.txt"


def test_the_check_sees_a_version_that_differs_from_the_lock():
    pins = {"openai": ("3.63.0", frozenset()), "orjson": ("3.13.0", frozenset()), "httpx": ("0.28.1", frozenset())}
    assert not_as_locked(pins, {"openai": "3.64.0", "httpx": "0.28.1"}) == {"openai": ("3.63.0", "3.64.0"),
                                                                          "orjson": ("3.13.0", None)}


def test_the_runtime_pins_are_the_same_in_the_dev_lock():
    runtime, _ = read_lock(RUNTIME.read_text())
    dev, _ = read_lock(DEV.read_text())
    assert {name: pin for name, pin in runtime.items() if dev.get(name) != pin} == {}


@pytest.mark.parametrize("ranges, lock", [("requirements.in", RUNTIME), ("requirements-dev.in", DEV)],
                         ids=["requirements.in", "requirements-dev.in"])
def test_every_declared_range_admits_its_pin(ranges, lock):
    pins, _ = read_lock(lock.read_text())
    outside = {str(req): pins.get(canonicalize_name(req.name), ("missing",))[0] for req in declared(ROOT / ranges)
               if canonicalize_name(req.name) not in pins
               or not req.specifier.contains(pins[canonicalize_name(req.name)][0], prereleases=True)}
    assert outside == {}, f"{lock.name} is not what {ranges} declares; run scripts/lock"


def test_the_supabase_package_is_not_deployed():
    """The store speaks to PostgREST with its own small client (lib/stores/rest.py) and OpenAI over http.client:
    neither the `supabase` package, its clients (postgrest-py included), nor the OpenAI SDK ship."""
    pins, _ = read_lock(RUNTIME.read_text())
    assert "httpx" in pins
    assert not set(pins) & {"supabase", "supabase-auth", "storage3", "realtime", "supabase-functions", "postgrest",
                            "openai", "pydantic"}
