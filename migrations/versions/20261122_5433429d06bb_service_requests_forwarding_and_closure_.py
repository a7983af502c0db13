"""service requests: forwarding and closure follow-up

Revision ID: 5433429d06bb
Revises: 1f29751c3899
Create Date: 2026-11-22 06:54:40.840510

"""
from alembic import op
import sqlalchemy as sa

import liaison.db_types  # noqa: F401 - custom column types used by autogenerate


# revision identifiers, used by Alembic.
revision = '5433429d06bb'
down_revision = '1f29751c3899'
branch_labels = None
depends_on = None


def upgrade():
    # Requests filed before this revision get 0 attempts and no error (server defaults).
    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('forward_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('forward_next_at', liaison.db_types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('forward_claimed_at', liaison.db_types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('forward_error', sa.String(length=255), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('forwarded_at', liaison.db_types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('follow_up', sa.Enum('confirmed', 'disputed', name='follow_up', native_enum=False, create_constraint=True, length=24), nullable=True))
        batch_op.add_column(sa.Column('follow_up_at', liaison.db_types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('refiled_from_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_service_request_forward_queue', ['state', 'forward_next_at'], unique=False)
        batch_op.create_index('ix_service_request_refiled_from', ['refiled_from_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_service_request_refiled_from_id_service_request'), 'service_request', ['refiled_from_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_service_request_refiled_from_id_service_request'), type_='foreignkey')
        batch_op.drop_index('ix_service_request_refiled_from')
        batch_op.drop_index('ix_service_request_forward_queue')
        batch_op.drop_column('refiled_from_id')
        batch_op.drop_column('follow_up_at')
        # SQLite's batch copy would keep the enum's CHECK on a column that is gone.
        batch_op.drop_constraint(batch_op.f('ck_service_request_follow_up'), type_='check')
        batch_op.drop_column('follow_up')
        batch_op.drop_column('forwarded_at')
        batch_op.drop_column('forward_error')
        batch_op.drop_column('forward_claimed_at')
        batch_op.drop_column('forward_next_at')
        batch_op.drop_column('forward_attempts')
