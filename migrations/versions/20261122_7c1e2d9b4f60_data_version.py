"""data version: the token page_cache keys rendered parts by

Revision ID: 7c1e2d9b4f60
Revises: 144c639ad34a
Create Date: 2026-11-22 15:00:00.000000

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1e2d9b4f60'
down_revision = '144c639ad34a'
branch_labels = None
depends_on = None


def upgrade():
    data_version = op.create_table(
        'data_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_version')),
    )
    op.bulk_insert(data_version, [{'id': 1, 'token': secrets.token_hex(8)}])


def downgrade():
    op.drop_table('data_version')
