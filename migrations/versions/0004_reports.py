"""reports: report tickets, their images' hashes and wrapped keys, upload links, seen-before links

Revision ID: 0004_reports
Revises: 0001
Create Date: 2026-11-25 01:57:55.241141
"""
from alembic import op
import sqlalchemy as sa
import bot.models.base


revision = '0004_reports'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('age_band', sa.String(length=16), nullable=True),
    sa.Column('under_18', sa.String(length=8), nullable=False),
    sa.Column('verification_method', sa.String(length=32), nullable=True),
    sa.Column('bytes_received', sa.Integer(), nullable=False),
    sa.Column('created_at', bot.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', bot.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', bot.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'cancelled', 'submitted', 'in_review', 'needs_info', 'actioned', 'not_actioned', 'hashes_published', 'withdrawn', 'closed')", name=op.f('ck_reports_status')),
    sa.CheckConstraint("under_18 IN ('yes', 'no', 'unknown')", name=op.f('ck_reports_under_18')),
    sa.ForeignKeyConstraint(['child_id'], ['users.id'], name=op.f('fk_reports_child_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_reports_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('reference', name=op.f('uq_reports_reference'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_child_id'), ['child_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_status'), ['status'], unique=False)

    op.create_table('report_images',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('vault_id', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('sha1', sa.String(length=40), nullable=False),
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.Column('pdq', sa.String(length=64), nullable=False),
    sa.Column('pdq_quality', sa.Integer(), nullable=False),
    sa.Column('pdq_unrotated', sa.String(length=64), nullable=True),
    sa.Column('phash', sa.String(length=16), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('frames', sa.Integer(), nullable=False),
    sa.Column('byte_size', sa.Integer(), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', bot.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('purged_at', bot.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('received', 'quarantined', 'assessed', 'purged')", name=op.f('ck_report_images_status')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_images_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_images')),
    sa.UniqueConstraint('report_id', 'sha256', name='uq_report_images_report_sha256'),
    sa.UniqueConstraint('vault_id', name=op.f('uq_report_images_vault_id'))
    )
    with op.batch_alter_table('report_images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_images_report_id'), ['report_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_images_sha256'), ['sha256'], unique=False)

    op.create_table('upload_links',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('created_at', bot.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', bot.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', bot.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', bot.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['child_id'], ['users.id'], name=op.f('fk_upload_links_child_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_upload_links_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_upload_links_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_upload_links'))
    )
    with op.batch_alter_table('upload_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_links_report_id'), ['report_id'], unique=False)

    op.create_table('image_matches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('matched_image_id', sa.Integer(), nullable=True),
    sa.Column('matched_ref', sa.String(length=64), nullable=True),
    sa.Column('distance', sa.Integer(), nullable=False),
    sa.Column('created_at', bot.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('report', 'hash_list')", name=op.f('ck_image_matches_source')),
    sa.ForeignKeyConstraint(['image_id'], ['report_images.id'], name=op.f('fk_image_matches_image_id_report_images'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['matched_image_id'], ['report_images.id'], name=op.f('fk_image_matches_matched_image_id_report_images'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_image_matches'))
    )
    with op.batch_alter_table('image_matches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_matches_image_id'), ['image_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_matches_matched_image_id'), ['matched_image_id'], unique=False)


def downgrade() -> None:
    op.drop_table('image_matches')
    op.drop_table('upload_links')
    op.drop_table('report_images')
    op.drop_table('reports')
