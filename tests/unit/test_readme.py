"""The README stays true about settings."""

from pathlib import Path

from services.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [f"LINEAGE_{name.upper()}" for name in Settings.model_fields if f"`LINEAGE_{name.upper()}`" not in text]
    assert missing == []


def test_readme_documents_only_real_settings() -> None:
    import re

    documented = set(re.findall(r"`LINEAGE_([A-Z0-9_]+)`", README.read_text(encoding="utf-8")))
    assert documented == {name.upper() for name in Settings.model_fields}
