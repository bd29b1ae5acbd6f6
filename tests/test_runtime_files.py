"""Two instances on one machine share no runtime file (serving/gunicorn_conf.py): each has its own
gunicorn control socket, and stopping one leaves the other's in place."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from servers import start_instance, wait_until_serving


def _control_sockets(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*.ctl") if path.is_socket())


@pytest.mark.slow
def test_two_instances_have_their_own_control_sockets_and_stopping_one_keeps_the_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both under one user with one XDG_RUNTIME_DIR and HOME: two sockets; after the first stops, the
    second's still accepts connections (gunicorn's default put both at one gunicorn.ctl)."""
    runtime, home = tmp_path / "run", tmp_path / "home"
    runtime.mkdir()
    home.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    servers = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            port, server = start_instance(f"sqlite:///{tmp_path / name / 'log.db'}", tmp_path / name, workers=1)
            wait_until_serving(port, server)
            servers.append(server)
        sockets = _control_sockets(tmp_path)
        assert len(sockets) == 2 and sockets[0].parent != sockets[1].parent
        servers[0].terminate()
        servers[0].wait(timeout=30)
        left = _control_sockets(tmp_path)
        assert len(left) == 1 and left[0] in sockets
        with socket.socket(socket.AF_UNIX) as probe:
            probe.connect(str(left[0]))  # the second instance still answers on its own socket
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    assert _control_sockets(tmp_path) == [] and list(runtime.iterdir()) == []  # each removed its own files
