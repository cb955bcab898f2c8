"""The README's promises: its first lines are the two commands, and its
ledgerlib example really runs."""
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_first_lines_are_the_setup_and_test_commands():
    lines = README.splitlines()
    assert lines[0] == "```sh"
    assert lines[1] == "python3 -m pip install -e . && wallet-dev development.ini"
    assert lines[2] == "bin/test.sh"
    assert "bin/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_ledgerlib_example_runs(tmp_path):
    section = README.split("## ledgerlib", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    script = tmp_path / "example.py"
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_quickstart_example_runs():
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "ledger_quickstart.py")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "ledger OK" in result.stdout
