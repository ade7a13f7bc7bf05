"""Part 4's class times and fee terms as data (上课时间: weekday, start, end; 收费周期: months
and class hours), so that the rules read them (docs/DOMAIN.md §G4); the free text becomes a
note (``class_times_note``). Every text written before is read by ``resolvers.class_times.parse``:
what it reads wholly fills the structured columns, what it cannot read stays only as the note,
and the rules then warn that the part needs review (SUBJECT_TRAINING_REVIEW). The findings
also name the other records they concern (``related_ids``: the classes of a crowded site).

The findings are checked in Python: run ``python server.py tallies --rebuild`` after this
migration so the kept findings follow the structured data.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from resolvers.class_times import parse

revision: str = '0019'
down_revision: Union[str, Sequence[str], None] = '0018'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.alter_column('institution', 'class_times', new_column_name='class_times_note')
    op.add_column('institution', sa.Column('class_sessions', JSONB(), server_default='[]', nullable=False))
    op.add_column('institution', sa.Column('fee_months', sa.Integer(), nullable=True))
    op.add_column('institution', sa.Column('fee_class_hours', sa.Integer(), nullable=True))
    op.add_column('institution_finding', sa.Column('related_ids', ARRAY(sa.Uuid()), server_default='{}', nullable=False))
    bind = op.get_bind()
    texts = bind.execute(sa.text('SELECT DISTINCT class_times_note FROM institution WHERE class_times_note IS NOT NULL')).scalars().all()
    update = sa.text(
        'UPDATE institution SET class_sessions = :sessions, fee_months = :months, fee_class_hours = :hours WHERE class_times_note = :text'
    ).bindparams(sa.bindparam('sessions', type_=JSONB()))
    for text in texts:
        parsed = parse(text)
        if parsed is not None:
            bind.execute(update, {'sessions': parsed.sessions, 'months': parsed.fee_months, 'hours': parsed.fee_class_hours, 'text': text})


def downgrade() -> None:
    op.drop_column('institution_finding', 'related_ids')
    for column in ('fee_class_hours', 'fee_months', 'class_sessions'):
        op.drop_column('institution', column)
    op.alter_column('institution', 'class_times_note', new_column_name='class_times')
