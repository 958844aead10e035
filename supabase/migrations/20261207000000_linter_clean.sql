-- Supabase's linter (splinter) clean: one SELECT policy per table for the browser, and no SECURITY DEFINER
-- function in the exposed public schema. Nothing anyone may read or write changes.

-- 1. The rooms migration added a second permissive SELECT policy for `authenticated` on conversations and
--    messages (lint multiple_permissive_policies: PostgreSQL evaluates every permissive policy for each row).
--    Permissive policies are ORed, so each pair becomes one policy: the owner, or a member of the room.
--    auth.uid() stays wrapped in a select, evaluated once per query (lint auth_rls_initplan).
drop policy "owners read their conversations" on public.conversations;
drop policy "members read their rooms" on public.conversations;
create policy "owners and members read conversations" on public.conversations
  for select to authenticated using (
    (select auth.uid()) = user_id
    or exists (
      select 1 from public.conversation_members m
      where m.conversation_id = conversations.id and m.user_id = (select auth.uid())));

drop policy "owners read their messages" on public.messages;
drop policy "members read their rooms' messages" on public.messages;
create policy "owners and members read messages" on public.messages
  for select to authenticated using (
    (select auth.uid()) = user_id
    or exists (
      select 1 from public.conversation_members m
      where m.conversation_id = messages.conversation_id and m.user_id = (select auth.uid())));

-- 2. The two trigger functions that must run as the project owner (GoTrue's role deletes users, and its
--    cascade deletes conversations, without any grant on our tables) move out of public, which PostgREST
--    exposes, into a schema the API roles cannot use. A function keeps its body, owner, settings, grants and
--    triggers when it changes schema: conversations_tombstone and on_auth_user_deleted_forget_memberships fire
--    the moved functions.
create schema if not exists private;
revoke all on schema private from public, anon, authenticated, service_role;

alter function public.remember_deleted_conversation() set schema private;
alter function public.forget_deleted_user() set schema private;
revoke execute on function private.remember_deleted_conversation() from public, anon, authenticated, service_role;
revoke execute on function private.forget_deleted_user() from public, anon, authenticated, service_role;
