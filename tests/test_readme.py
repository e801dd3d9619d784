"""The README opens with the two commands a new user runs; CI runs the second one."""

import re
import shlex

import pytest
from conftest import ROOT


def first_block() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_two_commands_and_ci_runs_the_test_one():
    install_and_run, install_and_test = first_block()
    assert install_and_run.startswith("pip install -e . && recognize transcribe ")
    assert (ROOT / shlex.split(install_and_run)[-1]).exists()  # the sample ships in the repo
    assert install_and_test in (ROOT / ".ci" / "run").read_text().splitlines()


def documented_commands() -> list[tuple[str, str]]:
    """(file, command) for each `recognize ...` (or `torchrun ... -m recognize ...`) line in
    a code block (fenced or indented) of the README, the docs, the recipe READMEs and the
    model cards; commands with shell variables left out."""
    docs = [ROOT / "README.md", *sorted(ROOT.glob("docs/*.md")), *sorted(ROOT.glob("recipes/*/README.md")),
            *sorted(ROOT.glob("recognize/models/*/*.md"))]
    found = []
    for doc in docs:
        in_fence = False
        for line in doc.read_text().replace("\\\n", " ").splitlines():
            if line.startswith("```"):
                in_fence = not in_fence
                continue
            command = line.strip().split(" # ")[0].strip()
            if " -m recognize " in command:  # torchrun ... -m recognize train ...
                command = "recognize " + command.split(" -m recognize ", 1)[1]
            if (in_fence or line.startswith("    ")) and command.startswith("recognize ") and "$" not in command:
                found.append((doc.relative_to(ROOT).as_posix(), command))
    return found


def test_every_documented_command_is_one_the_cli_accepts():
    from recognize.cli import build_parser

    parser, commands = build_parser(), documented_commands()
    assert len(commands) > 25  # the README alone has more; fewer means the search broke
    for doc, command in commands:
        try:
            parser.parse_args(shlex.split(command)[1:])
        except SystemExit:
            pytest.fail(f"{doc}: `{command}` is not a command the CLI accepts")
