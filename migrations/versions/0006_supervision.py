"""Supervision: children who left the counsellor queue before being served.

Revision ID: 0006_supervision
Revises: 0001
Create Date: 2026-11-25 12:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import bot.models.base


revision = '0006_supervision'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('queue_exits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('waiting_since', bot.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('left_at', bot.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_queue_exits_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_exits'))
    )
    with op.batch_alter_table('queue_exits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_queue_exits_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_queue_exits_left_at'), ['left_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('queue_exits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_queue_exits_left_at'))
        batch_op.drop_index(batch_op.f('ix_queue_exits_conversation_id'))
    op.drop_table('queue_exits')
