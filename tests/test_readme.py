"""The README opens with the two commands a new user runs; CI runs the second one."""

import re
import shlex

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
