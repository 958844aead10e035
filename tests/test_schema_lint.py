"""Supabase's linter (splinter, the dashboard's Security and Performance Advisors) over the migrated database: no
ERROR and no WARN, so no later migration brings one back. tests/standins/splinter.py says how it runs."""

import psycopg
import pytest

from tests.standins.postgrest import EXPOSED_SCHEMAS
from tests.standins.splinter import lint

PROBE = "lint_probe"


def serious(lints) -> list[str]:
    return [str(found) for found in lints if found.level in ("ERROR", "WARN")]


def security_definer_functions(db, schemas: list[str]) -> list[str]:
    return [row[0] for row in db.execute(
        "select format('%%s.%%s(%%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) "
        "from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
        "where p.prosecdef and n.nspname = any(%s) order by 1", (schemas,))]


def test_supabase_linter_finds_no_error_and_no_warning(postgres):
    found = serious(lint(postgres))
    assert not found, "Supabase's linter:\n" + "\n".join(found)


def test_no_security_definer_function_in_a_schema_the_api_exposes(postgres):
    # Supabase's advice, and splinter's lints 0028/0029 (newer than the packaged linter) made stricter: a function
    # that runs as its owner stays out of the API's schemas, whoever may execute it.
    with psycopg.connect(postgres.dsn) as db:
        assert security_definer_functions(db, EXPOSED_SCHEMAS.split(",")) == []


@pytest.mark.parametrize("role", ["anon", "authenticated", "service_role"])
def test_the_api_roles_cannot_use_the_private_schema(postgres, role):
    with psycopg.connect(postgres.dsn) as db:
        assert db.execute("select has_schema_privilege(%s, 'private', 'USAGE')", (role,)).fetchone() == (False,)


@pytest.fixture
def probe(postgres):
    """A schema the API is said to expose, for objects the linter must flag; committed (the linter reads through its
    own connection), dropped after the test. PostgREST does not expose it, and nothing else looks there."""
    with psycopg.connect(postgres.dsn, autocommit=True) as db:
        db.execute(f"create schema {PROBE}")
        try:
            yield db
        finally:
            db.execute(f"drop schema {PROBE} cascade")


def test_the_linter_fails_on_what_it_is_there_to_catch(postgres, probe):
    probe.execute(f"""
        create table {PROBE}.no_rls (id int primary key);
        grant select on {PROBE}.no_rls to anon, authenticated;  -- as Supabase's default privileges do in public
        create table {PROBE}.two_policies (id int primary key, user_id uuid not null);
        alter table {PROBE}.two_policies enable row level security;
        create policy "owners read" on {PROBE}.two_policies for select to authenticated
          using ((select auth.uid()) = user_id);
        create policy "everyone reads" on {PROBE}.two_policies for select to authenticated using (true);
        create function {PROBE}.no_search_path() returns int language sql as 'select 1';
        create function {PROBE}.as_owner() returns int language sql security definer set search_path = ''
          as 'select 1';
    """)
    found = lint(postgres, exposed_schemas=f"{EXPOSED_SCHEMAS},{PROBE}")
    flagged = {(item.level, item.name) for item in found if f"{PROBE}." in item.detail}
    assert flagged >= {("ERROR", "security/rlsDisabledInPublic"),
                       ("WARN", "performance/multiplePermissivePolicies"),
                       ("WARN", "security/functionSearchPathMutable")}
    assert all(f"{PROBE}." in problem for problem in serious(found))  # the migrations' schema is still clean
    assert security_definer_functions(probe, [PROBE]) == [f"{PROBE}.as_owner()"]
