"""The package's face: `import jaxrl` is light, the version is the distribution's, and each
learner exports a small API."""

import importlib.metadata
import subprocess
import sys

import pytest

import jaxrl
from jaxrl import compilation
from jaxrl.agents import ppo, tabular


def test_import_jaxrl_imports_no_jax():
    code = "import sys, jaxrl; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_jit_and_compile_options_are_the_compilation_modules():
    assert jaxrl.jit is compilation.jit and jaxrl.CompileOptions is compilation.CompileOptions


def test_the_version_is_the_installed_distributions():
    assert jaxrl.__version__ == importlib.metadata.version("jaxrl")


def test_each_learner_exports_a_small_api_of_names_it_defines():
    for learner in (ppo, tabular):
        assert len(learner.__all__) <= 12, learner.__all__
        assert all(hasattr(learner, name) for name in learner.__all__)
        for shared in ("make_train", "make_evaluate", "default_config", "hyperparams_grid"):
            assert shared in learner.__all__, (learner.__name__, shared)


def test_every_package_folder_is_in_the_distribution():
    """A folder missing from pyproject's package list imports in an editable install but is
    left out of the wheel that `pip install .` builds."""
    import pathlib

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    root = pathlib.Path(__file__).resolve().parents[1]
    setuptools = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {name: root / path for name, path in setuptools["package-dir"].items()}
    found = set()
    for name, folder in folders.items():
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder).parts
            found.add(".".join((name, *relative)))
    assert found <= set(setuptools["packages"]), sorted(found - set(setuptools["packages"]))
