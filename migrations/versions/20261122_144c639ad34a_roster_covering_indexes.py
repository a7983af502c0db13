"""training: covering indexes for roster attendance and progress counts

Revision ID: 144c639ad34a
Revises: 5433429d06bb
Create Date: 2026-11-22 09:53:49.144189

"""
from alembic import op
import sqlalchemy as sa

import liaison.db_types  # noqa: F401 - custom column types used by autogenerate


# revision identifiers, used by Alembic.
revision = '144c639ad34a'
down_revision = '5433429d06bb'
branch_labels = None
depends_on = None


def upgrade():
    # Index-only counts: attendance per person and per session, passed attempts per person.
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_user_present'))
        batch_op.create_index('ix_attendance_session_present', ['session_id', 'present'], unique=False)
        batch_op.create_index('ix_attendance_user_present_session', ['user_id', 'present', 'session_id'], unique=False)

    with op.batch_alter_table('quiz_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quiz_attempt_user_quiz'))
        batch_op.create_index('ix_quiz_attempt_user_quiz_passed', ['user_id', 'quiz_id', 'passed'], unique=False)


def downgrade():
    with op.batch_alter_table('quiz_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_attempt_user_quiz_passed')
        batch_op.create_index(batch_op.f('ix_quiz_attempt_user_quiz'), ['user_id', 'quiz_id'], unique=False)

    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_index('ix_attendance_user_present_session')
        batch_op.drop_index('ix_attendance_session_present')
        batch_op.create_index(batch_op.f('ix_attendance_user_present'), ['user_id', 'present'], unique=False)
