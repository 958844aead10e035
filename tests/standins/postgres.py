"""A throwaway PostgreSQL cluster set up as a Supabase project is, with the project's migrations applied in order.

The cluster's superuser is supabase_admin; `postgres` is the project owner, not a superuser, and applies each
migration in its own transaction as `supabase db push` does. Supabase's roles, default privileges and GoTrue's
`auth` schema come from supabase_roles.sql.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.standins.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "supabase" / "migrations"
ROLES = Path(__file__).with_name("supabase_roles.sql")


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl live (Debian keeps them out of PATH)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def all_migrations() -> list[Path]:
    """supabase/migrations/*.sql in the order `supabase db push` applies them."""
    return sorted(MIGRATIONS.glob("*.sql"))


class Postgres:
    """initdb, start on a free loopback port, apply the migrations; stop and forget on close."""

    def __init__(self):
        # not under pytest's tmp dir: the postgres user must be able to reach it
        self.directory = Path(tempfile.mkdtemp(prefix="finance-dashboard-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.bindir = postgres_bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found (scripts/test installs them)")

    @property
    def dsn(self) -> str:
        """The project owner's connection (what the Supabase dashboard's SQL editor runs as)."""
        return self.dsn_as("postgres")

    def dsn_as(self, role: str) -> str:
        return f"postgresql://{role}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str):
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self, migrations: list[Path] | None = None) -> "Postgres":
        """A running cluster with the given migrations applied (all of them by default)."""
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.directory, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "supabase_admin", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off " \
                  "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w", "start")
        self.execute(ROLES.read_text(), role="supabase_admin")
        for migration in all_migrations() if migrations is None else migrations:
            self.apply(migration.read_text())
        return self

    def execute(self, sql: str, role: str = "postgres"):
        import psycopg

        with psycopg.connect(self.dsn_as(role), autocommit=True) as connection:
            connection.execute(sql)

    def apply(self, migration: str):
        """One migration, all or nothing, as the project owner."""
        import psycopg

        with psycopg.connect(self.dsn) as connection:
            connection.execute(migration)

    def add_user(self, user_id: str, is_anonymous: bool = False):
        """A user in auth.users, as GoTrue signs one up."""
        import psycopg

        with psycopg.connect(self.dsn_as("supabase_auth_admin"), autocommit=True) as connection:
            connection.execute("insert into auth.users (id, aud, role, is_anonymous) values "
                               "(%s, 'authenticated', 'authenticated', %s) on conflict (id) do nothing",
                               (user_id, is_anonymous))

    def delete_user(self, user_id: str):
        """Delete a user as GoTrue (or the dashboard) does."""
        import psycopg

        with psycopg.connect(self.dsn_as("supabase_auth_admin"), autocommit=True) as connection:
            connection.execute("delete from auth.users where id = %s", (user_id,))

    def stop(self):
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.directory, ignore_errors=True)
