"""risk: the conversation's triage state (category strengths and evidence spans, never message text)

Revision ID: 0010_risk
Revises: 0001
Create Date: 2026-12-01 21:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_risk'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('risk_state', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('risk_state')
