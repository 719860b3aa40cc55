"""``genlab serve``: a local web page to explore trained runs and the notes' claims.

The page lists the finished runs under a folder; a run's page shows its samples, curves and
evaluation, and a sampling panel whose controls are the model's own sampling settings, with
latent walks, style mixing, translation of an uploaded or drawn picture, and prediction where
the model declares them; two claims of ``genlab explain`` come with a slider. It needs the
``web`` extra (Starlette and uvicorn): ``pip install 'genlab[web]'``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from ..errors import ConfigError

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_server(runs_dir: str | Path = "runs", host: str = "127.0.0.1", port: int = 8000,
               device: str | None = None, say=print) -> None:
    """Check the extra and the address, then serve until interrupted."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ConfigError("genlab serve needs the web extra: pip install 'genlab[web]'") from None
    if not 0 < port < 65536:
        raise ConfigError(f"--port must lie in 1..65535, got {port}")
    if not is_loopback(host):
        say(f"genlab serve: warning: listening on {host}, not on this machine only: anyone who can reach it "
            f"can use its models (the default, 127.0.0.1, keeps it local)")
    from .app import serve

    serve(runs_dir, host, port, device, say)
