"""Generated documentation pages are current and complete."""

from __future__ import annotations

import json
import re
from pathlib import Path

import attrs

from medfusion_core import builtin, config, kinds
from medfusion_core.catalogue import CatalogueEntry, load_catalogue, render_catalogue
from medfusion_core.docsgen import (
    MARKER,
    cli_page,
    config_page,
    generate_docs,
    hooks_page,
    plugin_page,
    rst_to_markdown,
    stale_pages,
    write_docs,
)

ROOT = Path(__file__).resolve().parent.parent


def test_generated_pages_are_current():
    stale = stale_pages(ROOT)
    assert not stale, f"docs out of date: {', '.join(stale)}; run `.venv/bin/python scripts/gen_docs.py`"


def test_hand_written_guides_exist_and_link_the_references():
    index = (ROOT / "docs" / "index.md").read_text()
    for page in [
        "user-guide.md",
        "plugin-author-guide.md",
        "reference/config.md",
        "reference/cli.md",
        "reference/hooks.md",
        "plugins/index.md",
    ]:
        assert f"({page})" in index, f"docs/index.md does not link {page}"
        assert (ROOT / "docs" / page).is_file()


def test_config_page_documents_every_field_of_every_section():
    import typing

    page = config_page()
    classes: dict[str, type] = {}
    todo = [config.ExperimentConfig]
    while todo:
        cls = todo.pop()
        classes[cls.__name__] = cls
        for annotation in typing.get_type_hints(cls).values():
            for candidate in (annotation, *typing.get_args(annotation)):
                if isinstance(candidate, type) and attrs.has(candidate) and candidate.__name__ not in classes:
                    todo.append(candidate)
    assert len(classes) >= 10
    for name, cls in classes.items():
        assert f"({name})" in page, f"section for {name} missing"
        for field in attrs.fields(cls):
            assert f"| `{field.name}` |" in page, f"{name}.{field.name} missing"
    assert "| `bootstrap` | `int` | `2000` |" in page
    assert "| `modalities` | `Literal['fused', 'image', 'clinical']` | `\"fused\"` |" in page


def test_cli_page_shows_every_core_command_help():
    page = cli_page()
    for spec in builtin.medfusion_register_commands():
        assert f"## `medfusion {spec.name}`" in page
        assert f"Usage: medfusion {spec.name} [OPTIONS]" in page


def test_plugin_page_shows_the_help_of_the_plugins_commands():
    [entry] = [
        entry for entry in load_catalogue(ROOT / "registry.json") if entry.name == "medfusion-plugin-scaffold"
    ]
    page = plugin_page(entry, None)
    assert "## `medfusion new-plugin`" in page and "Usage: medfusion new-plugin [OPTIONS] NAME" in page
    assert "--kind [backbone|fusion|aggregator|attention|trainer|exporter]" in page


def test_hooks_page_documents_every_hook_from_its_docstring():
    page = hooks_page()
    for kind in kinds.KINDS:
        assert f"## `{kind.hook}`\n\nComponent kind: `{kind.name}`" in page
        first_line = kind.spec.__doc__.strip().splitlines()[0]
        assert rst_to_markdown(first_line) in page
    assert not re.search(r"(?<!`)``(?!`)", page) and ":class:" not in page


def test_rst_to_markdown():
    text = (
        "Use :class:`~pkg.mod.Thing` and ``x``::\n\n    code()\n\n"
        "Args:\n    a: first\n        more.\n    b: second"
    )
    assert rst_to_markdown(text) == (
        "Use `Thing` and `x`:\n\n```python\ncode()\n```\n\n**Args**\n\n- a: first more.\n- b: second"
    )


def test_write_docs_adds_plugin_pages_and_removes_obsolete_generated_pages(tmp_path):
    entry = CatalogueEntry(
        name="medfusion-plugin-probe",
        version="0.3.0",
        summary="A probe.",
        homepage="https://example.org/x/tree/main/plugins/medfusion-plugin-probe",
        core=">=0.1,<0.2",
        entry_point="medfusion_plugin_probe.hooks",
        components={"fusion": ["probe_sum"]},
    )
    (tmp_path / "registry.json").write_text(render_catalogue([entry]))
    readme = tmp_path / "plugins" / "medfusion-plugin-probe" / "README.md"
    readme.parent.mkdir(parents=True)
    readme.write_text("# medfusion-plugin-probe\n\nSums things.\n\n## Config\n\n`probe_sum`\n")
    (tmp_path / "docs" / "plugins").mkdir(parents=True)
    (tmp_path / "docs" / "plugins" / "medfusion-plugin-gone.md").write_text(f"{MARKER}\n\n# gone\n")
    (tmp_path / "docs" / "guide.md").write_text("# written by hand\n")
    changed = write_docs(tmp_path)
    assert "docs/plugins/medfusion-plugin-gone.md" in changed
    assert not (tmp_path / "docs" / "plugins" / "medfusion-plugin-gone.md").exists()
    assert (tmp_path / "docs" / "guide.md").read_text() == "# written by hand\n"
    page = (tmp_path / "docs" / "plugins" / "medfusion-plugin-probe.md").read_text()
    assert page.startswith(MARKER)
    assert "| fusion | `probe_sum` |" in page and "Sums things." in page and "### Config" in page
    assert (
        "[medfusion-plugin-probe](medfusion-plugin-probe.md)"
        in (tmp_path / "docs/plugins/index.md").read_text()
    )
    assert stale_pages(tmp_path) == [] and write_docs(tmp_path) == []
    assert set(generate_docs(tmp_path)) == {
        "docs/reference/config.md",
        "docs/reference/cli.md",
        "docs/reference/hooks.md",
        "docs/plugins/index.md",
        "docs/plugins/medfusion-plugin-probe.md",
    }
    assert json.loads((tmp_path / "registry.json").read_text())["plugins"][0]["name"] == entry.name
