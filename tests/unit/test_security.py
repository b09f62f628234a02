"""Security: no shell strings, paths from profiles that cannot escape, trust_remote_code, local endpoints, no secrets in logs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from engine.foundry.deploy import DeployError, plan_deploy
from engine.foundry.runtime import FoundryRuntimeError, Remove, run_calls
from engine.process.events import Log
from engine.process.jobs import Job, without_secrets
from engine.profiles.profile import Profile, load_profile

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for folder in ("engine", "tui") for p in (ROOT / folder).rglob("*.py"))
# module.function that start a process from an argument list, and those that always go through a shell
SUBPROCESS_CALLS = {("subprocess", name) for name in ("run", "Popen", "call", "check_call", "check_output")} | {
    ("asyncio", "create_subprocess_exec")
}
SHELL_CALLS = {
    ("os", "system"),
    ("os", "popen"),
    ("subprocess", "getoutput"),
    ("subprocess", "getstatusoutput"),
    ("asyncio", "create_subprocess_shell"),
    ("", "subprocess_shell"),
}


def _is_string(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    return isinstance(node, ast.BinOp) and (_is_string(node.left) or _is_string(node.right))


def shell_uses(source: str, filename: str = "<source>") -> list[str]:
    """Calls that hand a command line to a shell: shell=True, os.system and kin, a string as the command."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        module = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        # a bare name is a from-import (from subprocess import Popen): judge it by its name alone
        called = {(module, name), ("", name)} if module else {(m, name) for m in ("subprocess", "asyncio", "os", "")}
        where = f"{filename}:{node.lineno}"
        if any(k.arg == "shell" and not (isinstance(k.value, ast.Constant) and k.value.value is False) for k in node.keywords):
            found.append(f"{where} shell=")
        if called & SHELL_CALLS:
            found.append(f"{where} {name}()")
        if called & SUBPROCESS_CALLS and node.args and _is_string(node.args[0]):
            found.append(f"{where} {name}() with a string command")
    return found


def test_the_checker_finds_shell_strings():
    bad = 'import os, subprocess\nos.system("ls")\nsubprocess.run("ls -l", shell=True)\nsubprocess.Popen(f"olive {x}")\nos.popen("x")\n'
    assert len(shell_uses(bad)) == 5
    assert shell_uses('subprocess.run(["ls", "-l"], check=True)\nsubprocess.run(argv, shell=False)\nself.call("count")\n') == []


def test_no_shell_strings_anywhere():
    found = [hit for path in SOURCES for hit in shell_uses(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert found == []


# paths from profiles ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["..", "../escape", "a/b", "/etc/x", "..\\x", ".hidden"])
def test_a_deploy_name_cannot_leave_the_cache(name, tmp_path):
    source = tmp_path / "m"
    source.mkdir()
    (source / "genai_config.json").write_text("{}")
    profile = Profile(name="p")
    profile.deploy.name = name
    with pytest.raises(DeployError):
        plan_deploy(profile, source, tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*"))


def test_profile_paths_are_resolved_against_the_profile(tmp_path):
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "p.toml").write_text('name = "p"\n[model]\npath = "../models/../models/m"\n[convert]\noutput = "~/out/../onnx"\n')
    profile = load_profile(folder / "p.toml")
    assert profile.model_path() == tmp_path / "models" / "m"
    assert ".." not in profile.output_path().parts and profile.output_path().is_absolute()


async def test_cache_removal_refuses_anything_outside_the_cache(tmp_path):
    cache, outside = tmp_path / "cache", tmp_path / "precious"
    outside.mkdir()
    (outside / "genai_config.json").write_text("{}")
    with pytest.raises(FoundryRuntimeError, match="outside the cache"):
        await run_calls(cache, [Remove(path=outside)])
    assert (outside / "genai_config.json").is_file()


# trust_remote_code ---------------------------------------------------------------------


# Foundry Local endpoints ------------------------------------------------------------------


def test_no_foundry_web_service_listens_beyond_this_machine():
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            # Foundry Local's web service starts in one place, the serve worker (its loopback binding is tested in test_serve)
            if name == "start_web_service":
                assert path.relative_to(ROOT).as_posix() == "engine/workers/serve.py", (
                    f"{path}:{node.lineno} starts a web service"
                )
            if name in ("Configuration", "WebService"):
                for keyword in node.keywords:
                    if keyword.arg in ("web", "urls"):
                        text = ast.unparse(keyword.value)
                        assert "127.0.0.1" in text and "0.0.0.0" not in text, f"{path}:{node.lineno} {text}"


# secrets -----------------------------------------------------------------------------------


SECRETS = {
    "HF_TOKEN": "hf_s3cr3t-token-value",
    "OPENAI_API_KEY": "sk-s3cr3t-api-key",
    "DB_PASSWORD": "s3cr3t-pass",
    "AZURE_CLIENT_SECRET": "s3cr3t-azure",
    "GITHUB_TOKEN": "ghp_s3cr3t",
}


async def test_workers_never_see_secrets_from_the_environment(monkeypatch, home):
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    job = Job("tests.data.faults.print_env", {})
    events = await job.run()
    assert job.finished.ok, job.error
    logged = "\n".join(e.line for e in events if isinstance(e, Log))
    assert "HF_HUB_OFFLINE=1" in logged and "PATH=" in logged  # the worker did print its environment
    for value in SECRETS.values():
        assert value not in logged
    assert not set(SECRETS) & set(job.result["names"])


def test_only_credential_names_are_held_back():
    env = {
        "HOME": "/root",
        "PATH": "/bin",
        "SSH_AUTH_SOCK": "/tmp/agent",
        "TERM": "xterm",
        "OMP_NUM_THREADS": "2",
        "SLMOPS_HOME": "/x",
        "HF_HUB_OFFLINE": "1",
        "MY_KEY": "k",
        "AWS_SECRET_ACCESS_KEY": "k",
        "HUGGING_FACE_HUB_TOKEN": "t",
    }
    assert sorted(without_secrets(env)) == [
        "HF_HUB_OFFLINE",
        "HOME",
        "OMP_NUM_THREADS",
        "PATH",
        "SLMOPS_HOME",
        "SSH_AUTH_SOCK",
        "TERM",
    ]
