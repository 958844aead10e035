-- What a Supabase database has before any project migration, written from Supabase's documented setup
-- (supabase/postgres init scripts, GoTrue's auth functions). Run by the cluster's superuser, supabase_admin.

-- The API roles; PostgREST logs in as authenticator and switches to the role a request's JWT names.
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role service_role nologin noinherit bypassrls;
create role authenticator login noinherit;
grant anon, authenticated, service_role to authenticator;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';

-- The project owner that `supabase db push` applies migrations as: not a superuser.
create role postgres login createrole createdb replication bypassrls;
grant anon, authenticated, service_role to postgres;
grant all on database postgres to postgres;
grant create, usage on schema public to postgres;

-- Supabase's default privileges: whatever the owner creates in public is granted to every API role.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on sequences to anon, authenticated, service_role;

-- Extensions live in their own schema, as Supabase installs them, out of the API's public schema.
create schema if not exists extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
create extension if not exists pgcrypto with schema extensions;

-- GoTrue's schema: its users, and the functions policies call to read the request's JWT.
create role supabase_auth_admin login noinherit createrole;
create schema auth authorization supabase_auth_admin;
create table auth.users (
  instance_id uuid,
  id uuid primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255) unique,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_anonymous boolean not null default false,
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);
alter table auth.users owner to supabase_auth_admin;

create function auth.uid() returns uuid language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
create function auth.role() returns text language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
create function auth.jwt() returns jsonb language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;
alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;

grant usage on schema auth to anon, authenticated, service_role, postgres;
grant execute on function auth.uid(), auth.role(), auth.jwt() to anon, authenticated, service_role, postgres;
-- the owner has every privilege on GoTrue's tables, as supabase/postgres grants it (update-auth-permissions):
-- foreign keys to auth.users (history rows go with their user), triggers on it (a deleted user leaves no rows)
grant all on auth.users to postgres;
