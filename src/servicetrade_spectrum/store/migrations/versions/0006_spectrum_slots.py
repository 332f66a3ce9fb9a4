"""spectrum slots: calls in flight per Spectrum server, across processes

Revision ID: 0006_spectrum_slots
Revises: 0005_web_users
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_spectrum_slots'
down_revision = '0005_web_users'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('spectrum_slots',
    sa.Column('server', sa.String(length=300), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=100), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('server', 'slot')
    )


def downgrade() -> None:
    op.drop_table('spectrum_slots')
