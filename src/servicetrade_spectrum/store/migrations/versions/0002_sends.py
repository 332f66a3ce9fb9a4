"""accounts, connections, sync attempts, send locks

Revision ID: 0002_sends
Revises: 0001_baseline
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_sends'
down_revision = '0001_baseline'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('servicetrade_url', sa.String(length=500), nullable=False),
    sa.Column('auth_kind', sa.String(length=10), nullable=False),
    sa.Column('username', sa.String(length=200), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('secret_encrypted', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('connections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('ws_url', sa.String(length=500), nullable=False),
    sa.Column('company_code', sa.String(length=3), nullable=False),
    sa.Column('authorization_id_encrypted', sa.Text(), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('client_secret_encrypted', sa.Text(), nullable=False),
    sa.Column('client_secret_expires_on', sa.String(length=40), nullable=False),
    sa.Column('system', sa.String(length=50), nullable=False),
    sa.Column('prefix', sa.String(length=1), nullable=False),
    sa.Column('work_order_type', sa.String(length=5), nullable=False),
    sa.Column('lead_source', sa.String(length=15), nullable=False),
    sa.Column('preserve_edits', sa.Boolean(), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('pause_reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('send_locks',
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.BigInteger(), nullable=False),
    sa.Column('holder', sa.String(length=100), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('connection_id', 'job_id')
    )
    op.create_table('sync_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.BigInteger(), nullable=False),
    sa.Column('job_number', sa.String(length=40), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('triggered_by', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('work_order_number', sa.String(length=10), nullable=False),
    sa.Column('failure_kind', sa.String(length=40), nullable=False),
    sa.Column('failure_message', sa.Text(), nullable=False),
    sa.Column('failure_fix', sa.Text(), nullable=False),
    sa.Column('spectrum_message', sa.Text(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('source_fields', sa.JSON(), nullable=False),
    sa.Column('warnings', sa.JSON(), nullable=False),
    sa.Column('spectrum_rows', sa.JSON(), nullable=False),
    sa.Column('request_body', sa.Text(), nullable=False),
    sa.Column('response_body', sa.Text(), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('external_id_written', sa.Boolean(), nullable=False),
    sa.Column('comment_posted', sa.Boolean(), nullable=False),
    sa.Column('comment_text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sync_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_sync_attempts_job_connection',
                              ['job_id', 'connection_id', 'id'], unique=False)
        batch_op.create_index('ix_sync_attempts_started', ['started_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sync_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_attempts_started')
        batch_op.drop_index('ix_sync_attempts_job_connection')

    op.drop_table('sync_attempts')
    op.drop_table('send_locks')
    op.drop_table('connections')
    op.drop_table('accounts')
