"""The project's shape, checked on every `make test`: which way imports may point.

The contracts live in pyproject.toml ([tool.importlinter]); `make lint` and CI run them
too (`lint-imports`). These tests fail as soon as an import crosses one, with the linter's
report of the offending chain.
"""

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("reachkit", "campaigns", "leads", "inboxes", "blocklist", "unibox")


def test_every_import_contract_is_kept():
    # In a process of its own: the linter's command configures logging anew, which disables
    # every logger the test process has (and with them later tests' log assertions).
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(linter), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_no_module_of_campaigns_is_part_of_an_import_cycle(graph):
    cycles = [
        graph.find_shortest_chain(importer=imported, imported=module)
        for module in sorted(graph.modules)
        if module.split(".")[0] == "campaigns"
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    ]
    assert cycles == []
