"""7. `chatter migrate` on a fresh data dir."""

import re
import subprocess

from conftest import chatter_bin, chatter_env


def run_migrate(data_dir):
    return subprocess.run([str(chatter_bin()), "migrate", "--data-dir", str(data_dir)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env=chatter_env(data_dir), timeout=30)


def test_migrate_creates_the_database_and_is_idempotent(tmp_path):
    data_dir = tmp_path / "fresh"

    first = run_migrate(data_dir)
    assert first.returncode == 0, f"stdout={first.stdout!r}\nstderr={first.stderr!r}"
    db = data_dir / "chatter.sqlite"
    assert db.is_file() and db.stat().st_size > 0, sorted(p.name for p in tmp_path.rglob("*"))
    m = re.search(r"version (\d+)", first.stdout)
    assert m, f"no schema version in stdout: {first.stdout!r}"
    version = int(m.group(1))
    assert version >= 1

    second = run_migrate(data_dir)
    assert second.returncode == 0, f"stdout={second.stdout!r}\nstderr={second.stderr!r}"
    m2 = re.search(r"version (\d+)", second.stdout)
    assert m2 and int(m2.group(1)) == version, second.stdout
    assert db.is_file()


def test_server_starts_on_a_migrated_dir(tmp_path, launch):
    data_dir = tmp_path / "premigrated"
    assert run_migrate(data_dir).returncode == 0
    server = launch(data_dir)
    user = server.register()
    r = server.get("/v1/users/me", token=user["access_token"])
    assert r.status_code == 200, r.text
