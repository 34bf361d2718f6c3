"""What the command line says: one line per error, escaped, without a terminal too."""

import subprocess
import sys

import pytest

from support.cli import cli


@pytest.mark.parametrize("args,words", [
    (["train", "dcgan", "--precision", "fp8"], "'fp8' is not one of"),
    (["sample"], "Missing argument 'CHECKPOINT'"),
    (["train"], "Missing argument 'NAME' (a recipe: ganforge list gans; or --resume RUN_DIR)"),
    (["no-such-command"], "No such command 'no-such-command'"),
])
def test_usage_errors_are_one_line_with_the_help_hint(args, words):
    result = cli(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert words in result.stderr and "--help)" in result.stderr


def test_bare_ganforge_shows_the_overview():
    result = cli()
    assert result.returncode == 0 and "ganforge train dcgan" in result.stdout + result.stderr


def test_brackets_in_messages_are_kept():
    result = cli("sample", "/nonexistent/[x].ckpt")
    assert result.returncode == 1 and "/nonexistent/[x].ckpt" in result.stderr


def test_uninstall_without_a_terminal_asks_for_yes():
    result = cli("uninstall", "ganforge-something")  # click's runner gives no terminal
    assert result.returncode == 1 and "pass -y" in result.stderr and len(result.stderr.splitlines()) == 1


def test_plugins_without_third_party_ones_counts_the_builtins():
    from ganforge.hooks.manager import builtin_plugins

    result = cli("plugins", env={"GANFORGE_LOAD_PLUGINS": ""})
    assert f"{len(builtin_plugins())} built-in plugins loaded" in result.stdout and "--all" in result.stdout


@pytest.mark.system
def test_public_submodules_work_after_import_ganforge_alone():
    code = "import ganforge, sys; assert 'ganforge.evaluation.digits' not in sys.modules; print(ganforge.evaluation.digits.__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ganforge.evaluation.digits", done.stderr


@pytest.mark.system
def test_torch_cuda_home_notice_is_silenced_once_ganforge_is_imported():
    def stderr_of(code):
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stderr

    if "No CUDA runtime is found" not in stderr_of("import torch.utils.cpp_extension"):
        pytest.skip("torch prints no CUDA_HOME notice on this machine (CUDA present, or no CUDA_HOME)")
    assert "No CUDA runtime is found" not in stderr_of("import ganforge, torch.utils.cpp_extension")
    shown = stderr_of("import ganforge, logging; logging.getLogger('torch.utils.cpp_extension').warning('kept')")
    assert "kept" in shown, "only torch's CUDA_HOME notice is dropped, not the logger's other warnings"
