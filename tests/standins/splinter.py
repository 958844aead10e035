"""Supabase's database linter, splinter, run over the throwaway cluster as `postgres-language-server dblint` runs it.

splinter (supabase/splinter) is the set of SQL queries behind the Supabase dashboard's Security and Performance
Advisors: each finding has a level, ERROR, WARN or INFO. The Postgres Language Server
(supabase-community/postgres-language-server, MIT or Apache-2.0) embeds those queries and runs them against a live
database; its static Linux build is npm's @postgres-language-server/cli-x86_64-linux-gnu, fetched once with
`npm pack`, checked against a pinned sha256 and cached as PostgREST is. Version 0.25.5 carries splinter's lints
0001 to 0024 (splinter commit b9de3a3): the newer 0025 to 0029 (storage buckets, pg_graphql, SECURITY DEFINER
functions callable by anon or authenticated) are not in it; tests/test_schema_lint.py checks the last two's ground
itself.

The lints that look at the API see the schemas named by `pgrst.db_schemas`, which Supabase sets from the project's
exposed schemas: here, those the stand-in's PostgREST exposes.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from urllib.parse import quote

from tests.standins.postgrest import EXPOSED_SCHEMAS
from tests.standins.processes import npm_binary

PACKAGE = "@postgres-language-server/cli-x86_64-linux-gnu@0.25.5"
TARBALL_SHA256 = "237a84fff93768a6468a3f8787f328b8bb983204b66a0325d08055b3e925015a"
LEVELS = {"error": "ERROR", "warning": "WARN", "information": "INFO", "info": "INFO"}


@dataclass(frozen=True)
class Lint:
    level: str   # ERROR, WARN or INFO, splinter's grading
    name: str    # the rule, as the language server names it: security/rlsDisabledInPublic
    detail: str  # splinter's sentence naming the object

    def __str__(self) -> str:
        return f"{self.level} {self.name}: {self.detail}"


def lint(postgres, exposed_schemas: str = EXPOSED_SCHEMAS) -> list[Lint]:
    """Every finding of splinter's lints on the cluster's database, as the project owner sees it."""
    binary = npm_binary(PACKAGE, TARBALL_SHA256, "package/postgres-language-server")
    schemas = ",".join(schema.strip() for schema in exposed_schemas.split(","))
    dsn = f"{postgres.dsn}?options={quote(f'-c pgrst.db_schemas={schemas}', safe='')}"
    with tempfile.TemporaryDirectory() as nowhere:  # no postgres-language-server.jsonc is found: the defaults
        answer = subprocess.run([str(binary), "dblint", "--connection-string", dsn, "--reporter", "json",
                                 "--max-diagnostics", "none", "--diagnostic-level", "info", "--log-level", "none",
                                 "--colors", "off"], cwd=nowhere, capture_output=True, text=True, timeout=300)
    try:
        report = json.loads(answer.stdout)
    except ValueError:
        raise RuntimeError(f"dblint exited with {answer.returncode}: {answer.stdout}{answer.stderr}") from None
    lints = []
    for diagnostic in report["diagnostics"]:
        category = diagnostic.get("category", "")
        if not category.startswith("splinter/"):  # e.g. database/connection: nothing was linted
            raise RuntimeError(f"dblint did not lint the database: {diagnostic}")
        lints.append(Lint(LEVELS[diagnostic["severity"]], category.removeprefix("splinter/"),
                          diagnostic["message"].replace("\\`", "`")))
    return lints
