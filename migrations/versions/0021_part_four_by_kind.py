"""Part 4 (中小学学科类培训情况) as the institution's kind makes it
(``resolvers.institutions.registration.part_four_of_kind``): a non-subject institution that
never filled it in has it saved as 无中小学学科类培训, so it is no longer incomplete for a part
it may skip; a saved part 4 that the kind does not fit (a subject institution declaring no
subject training, a non-subject one declaring some) is reopened, to be saved again. The
triggers keep the tallies of registration progress as the rows change.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0021'
down_revision: Union[str, Sequence[str], None] = '0020'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.execute("""UPDATE institution SET no_subject_training = true, subject_training_saved = true, version = version + 1
        WHERE kind = 'NON_SUBJECT' AND NOT subject_training_saved AND no_subject_training IS NULL""")
    op.execute("""UPDATE institution SET subject_training_saved = false, version = version + 1
        WHERE subject_training_saved AND ((kind = 'SUBJECT' AND no_subject_training) OR (kind = 'NON_SUBJECT' AND NOT no_subject_training))""")


def downgrade() -> None:
    # The parts saved here stay saved: nothing tells them from parts saved by hand.
    pass
