"""The project's shape, checked on every `make test`: which way imports may point.

The contracts live in pyproject.toml ([tool.importlinter]); `make lint` and CI run them
too (`lint-imports`). These tests fail as soon as an import crosses one, with the linter's
report of the offending chain.
"""

from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("reachkit", "campaigns", "leads", "inboxes", "blocklist", "unibox")


def test_every_import_contract_is_kept(monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    exit_code = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True)
    report = capsys.readouterr().out
    assert exit_code == 0, report
    assert "0 broken" in report


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
