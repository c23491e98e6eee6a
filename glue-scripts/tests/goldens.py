"""Where the tests find the Glue scripts and the shared fixtures (test/fixtures/ at the repo root).

Importing this module puts glue-scripts/ on sys.path, as --extra-py-files does on Glue.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

GLUE_SCRIPTS = Path(__file__).resolve().parents[1]
FIXTURES = GLUE_SCRIPTS.parent / "test" / "fixtures"

if str(GLUE_SCRIPTS) not in sys.path:
    sys.path.insert(0, str(GLUE_SCRIPTS))


def load_fixture(relative: str) -> Any:
    with (FIXTURES / relative).open(encoding="utf-8") as file:
        return json.load(file)


def load_golden(job: str) -> tuple[Any, Any]:
    """The golden input and expected output of one job (test/fixtures/etl/<job>/)."""
    return load_fixture(f"etl/{job}/input.json"), load_fixture(f"etl/{job}/expected.json")
