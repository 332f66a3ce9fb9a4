"""automation and durable sends: rules, webhook messages, sweep watermark, executors,
attempt run IDs and stages

Revision ID: 0003_automation
Revises: 0002_sends
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_automation'
down_revision = '0002_sends'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'message_id')
    )
    with op.batch_alter_table('webhook_messages', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_messages_unprocessed', ['processed_at', 'id'],
                              unique=False)

    op.create_table('rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('value', sa.String(length=100), nullable=False),
    sa.Column('job_type', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('executors',
    sa.Column('executor_id', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('host', sa.String(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('heartbeat_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('executor_id')
    )
    with op.batch_alter_table('sync_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('stage', sa.String(length=20), nullable=False,
                                      server_default=''))
        batch_op.create_unique_constraint('uq_sync_attempts_run_id', ['run_id'])
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_secret_digest', sa.String(length=64),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('webhook_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('swept_until', sa.BigInteger(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('swept_until')
        batch_op.drop_column('webhook_id')
        batch_op.drop_column('webhook_secret_digest')

    with op.batch_alter_table('sync_attempts', schema=None) as batch_op:
        batch_op.drop_constraint('uq_sync_attempts_run_id', type_='unique')
        batch_op.drop_column('stage')
        batch_op.drop_column('run_id')
    op.drop_table('executors')
    op.drop_table('rules')
    with op.batch_alter_table('webhook_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_messages_unprocessed')

    op.drop_table('webhook_messages')
