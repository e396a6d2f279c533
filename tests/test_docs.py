"""docs/protocol.md keeps the shared contract verbatim; README starts with the two commands."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT

SHARED = ROOT.parent / "shared" / "PROTOCOL.md"


def contract_in_docs() -> str:
    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    return text.split("<!-- BEGIN CONTRACT -->\n", 1)[1].split("\n<!-- END CONTRACT -->", 1)[0]


@pytest.mark.skipif(not SHARED.exists(), reason="shared/PROTOCOL.md is not beside this checkout")
def test_docs_protocol_carries_the_shared_contract_verbatim() -> None:
    assert contract_in_docs().strip() == SHARED.read_text(encoding="utf-8").strip()


def test_readme_opens_with_run_and_test_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    commands = [l.strip() for l in lines[:30] if l.strip().startswith("make ")]
    assert commands[:2] == ["make run", "make test"]
