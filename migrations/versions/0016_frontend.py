"""needs-info thread: the child's answers to an analyst's question, kept with the report

Revision ID: 0016_frontend
Revises: 0007_review
Create Date: 2026-12-01 21:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import bot.models.base


revision = '0016_frontend'
# After the review branch, not 0001: the new table points at reports (see 0007_review for why not depends_on).
down_revision = '0007_review'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', bot.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seen_at', bot.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('seen_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['child_id'], ['users.id'], name=op.f('fk_report_replies_child_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_replies_report_id_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['seen_by'], ['users.id'], name=op.f('fk_report_replies_seen_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_replies'))
    )
    with op.batch_alter_table('report_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_replies_report_id'), ['report_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('report_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_replies_report_id'))
    op.drop_table('report_replies')
