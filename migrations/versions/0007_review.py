"""review: image assessments and report decisions

Revision ID: 0007_review
Revises: 0004_reports
Create Date: 2026-11-25 03:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import bot.models.base


revision = '0007_review'
# Not 0001 like the other areas: the new tables point at reports and report_images, so this must run
# after the reports branch (Alembic refuses `upgrade heads` with a cross-branch depends_on).
down_revision = '0004_reports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('image_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('analyst_id', sa.Integer(), nullable=True),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('created_at', bot.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("verdict IN ('category_a', 'category_b', 'category_c', 'not_indecent', 'not_a_child', 'cannot_tell')", name=op.f('ck_image_assessments_verdict')),
    sa.ForeignKeyConstraint(['analyst_id'], ['users.id'], name=op.f('fk_image_assessments_analyst_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['image_id'], ['report_images.id'], name=op.f('fk_image_assessments_image_id_report_images'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_image_assessments'))
    )
    with op.batch_alter_table('image_assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_assessments_image_id'), ['image_id'], unique=False)

    op.create_table('report_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', bot.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', bot.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("outcome IN ('actioned', 'not_actioned', 'needs_info')", name=op.f('ck_report_decisions_outcome')),
    sa.CheckConstraint("reason IN ('not_indecent', 'not_a_child', 'cannot_tell', 'other')", name=op.f('ck_report_decisions_reason')),
    sa.CheckConstraint("status IN ('pending', 'confirmed', 'rejected')", name=op.f('ck_report_decisions_status')),
    sa.ForeignKeyConstraint(['confirmed_by'], ['users.id'], name=op.f('fk_report_decisions_confirmed_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_report_decisions_decided_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_decisions_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_decisions'))
    )
    with op.batch_alter_table('report_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_decisions_report_id'), ['report_id'], unique=False)


def downgrade() -> None:
    op.drop_table('report_decisions')
    op.drop_table('image_assessments')
