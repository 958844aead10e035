-- A deleted Supabase user leaves no memberships or call records behind. Their own conversations already go with
-- them (conversations.user_id cascades from auth.users); this removes their rows in other people's rooms and
-- their realtime calls. conversation_members.user_id cannot be a foreign key: dashboard-token holders
-- (DASHBOARD_TOKEN(S)) join rooms under ids that are not in auth.users. What a deleted member wrote in someone
-- else's room stays: it is the room's history, under its owner, with the author's name as it was written.

-- security definer: GoTrue deletes users as its own role, which has no grant on these tables; owned by the
-- project owner, as every migration's objects are, so it runs as the owner of the tables it deletes from.
create or replace function public.forget_deleted_user() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from public.conversation_members where user_id = old.id;
  delete from public.realtime_calls where user_id = old.id;
  return null;
end;
$$;
alter function public.forget_deleted_user() owner to postgres;
revoke execute on function public.forget_deleted_user() from public, anon, authenticated, service_role;

create or replace trigger on_auth_user_deleted_forget_memberships after delete on auth.users
  for each row execute function public.forget_deleted_user();

-- Rows left by users deleted before this migration. Calls are recorded for Supabase users only, so a call of
-- an id not in auth.users is an orphan. A membership of such an id may be a dashboard-token holder's: their ids
-- are name-based UUIDs (version 5, lib/access.py) where GoTrue's are random (version 4), and those stay.
delete from public.realtime_calls c where not exists (select 1 from auth.users u where u.id = c.user_id);
delete from public.conversation_members m
where not exists (select 1 from auth.users u where u.id = m.user_id)
  and substr(m.user_id::text, 15, 1) <> '5';
