"""bulk runs: what a bulk-send chose, so an interrupted one resumes

Revision ID: 0004_bulk_runs
Revises: 0003_automation
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_bulk_runs'
down_revision = '0003_automation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bulk_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('selection_key', sa.String(length=64), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('selection', sa.JSON(), nullable=False),
    sa.Column('job_ids', sa.JSON(), nullable=False),
    sa.Column('not_found', sa.JSON(), nullable=False),
    sa.Column('triggered_by', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('bulk_runs', schema=None) as batch_op:
        batch_op.create_index('ix_bulk_runs_selection', ['connection_id', 'selection_key', 'id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bulk_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_bulk_runs_selection')

    op.drop_table('bulk_runs')
