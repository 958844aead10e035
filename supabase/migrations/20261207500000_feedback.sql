-- Feedback on the assistant's answers (issue 27): a person's thumbs up or down on one reply, with an optional
-- comment, kept for the firm (admins read it through the server) and never sent to OpenAI. The server alone
-- writes (service role, through set_message_feedback); the browser may read its own rows, nothing else.

create table if not exists public.message_feedback (
  message_id bigint not null references public.messages (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  name text not null default '' check (char_length(name) <= 100),
  rating text not null check (rating in ('up', 'down')),
  comment text not null default '' check (char_length(comment) <= 2000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (message_id, user_id)
);
create index if not exists message_feedback_user_id_idx on public.message_feedback (user_id);
create index if not exists message_feedback_conversation_id_idx on public.message_feedback (conversation_id);
create index if not exists message_feedback_updated_at_idx on public.message_feedback (updated_at);

alter table public.message_feedback enable row level security;
revoke all on table public.message_feedback from public, anon, authenticated, service_role;
grant select on table public.message_feedback to authenticated;
grant select, insert, update, delete on table public.message_feedback to service_role;
create policy "people read their own feedback" on public.message_feedback
  for select to authenticated using ((select auth.uid()) = user_id);

-- Rate (or, with a null rating, un-rate) an assistant reply of a conversation the person owns or is a member of;
-- false when there is no such reply for them (another's conversation, a question, a reply still being written).
create or replace function public.set_message_feedback(
  p_user_id uuid, p_name text, p_conversation_id uuid, p_message_id bigint, p_rating text, p_comment text
) returns boolean
language plpgsql
security invoker
set search_path = ''
as $$
begin
  perform 1 from public.messages m join public.conversations c on c.id = m.conversation_id
  where m.id = p_message_id and m.conversation_id = p_conversation_id and m.role = 'assistant'
    and m.status <> 'writing'
    and (c.user_id = p_user_id or exists (select 1 from public.conversation_members cm
                                          where cm.conversation_id = c.id and cm.user_id = p_user_id))
  for key share of m;
  if not found then
    return false;
  end if;
  if p_rating is null then
    delete from public.message_feedback where message_id = p_message_id and user_id = p_user_id;
  else
    insert into public.message_feedback as f (message_id, user_id, conversation_id, name, rating, comment)
    values (p_message_id, p_user_id, p_conversation_id, left(coalesce(p_name, ''), 100), p_rating,
            coalesce(p_comment, ''))
    on conflict (message_id, user_id) do update set
      name = excluded.name, rating = excluded.rating, comment = excluded.comment, updated_at = now();
  end if;
  return true;
end;
$$;
revoke execute on function public.set_message_feedback(uuid, text, uuid, bigint, text, text)
  from public, anon, authenticated;
grant execute on function public.set_message_feedback(uuid, text, uuid, bigint, text, text) to service_role;

-- A reply whose text is rewritten in place is a new answer, even in the same words: the ratings of the old one go
-- (a regenerated reply is a new row since answer versions, and keeps none). A room's reply still being written has none yet.
create or replace function private.forget_feedback_on_new_text() returns trigger
language plpgsql
security invoker
set search_path = ''
as $$
begin
  delete from public.message_feedback where message_id = new.id;
  return new;
end;
$$;
revoke execute on function private.forget_feedback_on_new_text() from public, anon, authenticated, service_role;
drop trigger if exists messages_forget_feedback on public.messages;
create trigger messages_forget_feedback after update of content on public.messages
  for each row when (old.status <> 'writing')
  execute function private.forget_feedback_on_new_text();
