"""Events for live updates (``models.events``): the append-only ``event`` table, its seq given
in commit order with a notification on commit, and a notification when a session ends.

``event_assign``: every event-writing transaction takes the advisory lock ``EVENT_LOCK`` at
its first event and keeps it to its end, so seq order is commit order (a reader that saw
``seq = n`` will never see a smaller one appear); ``pg_notify`` is delivered on commit only.
``session_ended``: logout, a password change and a disabled account delete sessions; the
workers close the sockets those sessions hold.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-10
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

#: The advisory lock of event-writing transactions (any fixed key; ``hashtext('xwpx_events')``).
EVENT_LOCK = "hashtext('xwpx_events')"


def upgrade() -> None:
    op.execute("CREATE SEQUENCE event_seq")
    op.create_table(
        'event',
        sa.Column('seq', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
        sa.Column('type', sa.Enum('COMPLAINT_RECEIVED', 'URGING_NOTICE_RECEIVED', 'APPLICATION_SUBMITTED', 'APPLICATION_DECIDED', 'CLAIM_DECIDED', 'RECTIFICATION_OVERDUE', name='eventtype', native_enum=False, length=24), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('record_id', sa.Uuid(), nullable=False),
        sa.Column('region_code', sa.String(length=6), nullable=False),
        sa.Column('institution_id', sa.Uuid(), nullable=True),
        sa.Column('account_id', sa.Uuid(), nullable=True),
        sa.Column('once', sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint('seq'),
    )
    op.create_index('ux_event_once', 'event', ['once'], unique=True, postgresql_where=sa.text('once IS NOT NULL'))
    op.create_index('ix_event_occurred', 'event', ['occurred_at'])
    op.execute(f"""
        CREATE FUNCTION event_assign() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock({EVENT_LOCK});
            NEW.seq := nextval('event_seq');
            PERFORM pg_notify('xwpx_events', NEW.seq::text);
            RETURN NEW;
        END $$
    """)
    op.execute("CREATE TRIGGER event_assign BEFORE INSERT ON event FOR EACH ROW EXECUTE FUNCTION event_assign()")
    # Append-only: the retention purge deletes; nothing updates an event.
    op.execute("""
        CREATE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'events are append-only';
        END $$
    """)
    op.execute("CREATE TRIGGER event_append_only BEFORE UPDATE ON event FOR EACH ROW EXECUTE FUNCTION event_append_only()")
    op.execute("""
        CREATE FUNCTION session_ended() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('xwpx_sessions', OLD.id::text);
            RETURN OLD;
        END $$
    """)
    op.execute("CREATE TRIGGER session_ended AFTER DELETE ON auth_session FOR EACH ROW EXECUTE FUNCTION session_ended()")


def downgrade() -> None:
    op.execute("DROP TRIGGER session_ended ON auth_session")
    op.execute("DROP FUNCTION session_ended()")
    op.drop_table('event')
    op.execute("DROP FUNCTION event_append_only()")
    op.execute("DROP FUNCTION event_assign()")
    op.execute("DROP SEQUENCE event_seq")
